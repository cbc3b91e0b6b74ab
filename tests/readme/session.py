"""A reader following the README: every shell block's commands in README order, in one folder
holding the files they name, each command run or skipped for a stated reason.

Besides running a command, the walk may prepare what a command needs from outside driftpilot
(``BEFORE``), run a documented alternative somewhere else so that the lines after it still
find the state they expect (``ELSEWHERE``), accept the exit codes a command documents
(``EXIT_CODES``), and hold a command a known bug breaks to failing as recorded
(``KNOWN_BUGS``). A yaml block headed ``# ws/driftpilot.yaml`` is written there when the walk
reaches it. ``DECISION`` and ``RUN`` in a command are the README's placeholders: the id of a
decision ``driftpilot check --format json`` printed, and the run of an MLflow model.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.readme import files
from tests.readme.markdown import Block
from tests.readme.shell import (
    Command,
    Prefix,
    answer_shape,
    commands,
    curl,
    driftpilot,
    longest_prefix,
    shown_answer,
)

__all__ = ["BEFORE", "ELSEWHERE", "EXIT_CODES", "KNOWN_BUGS", "SKIPPED", "Session"]

SKIPPED: dict[Prefix, str] = {
    ("make", "demo"): "sets up the environment and runs the whole demo; tests/demo runs its story",
    ("make", "test"): "runs this test suite itself",
    ("driftpilot", "run"): "the scheduler runs until stopped; tests/policy runs it for N cycles",
    ("uv", "run", "mlflow", "ui"): "MLflow's web UI, a server that runs until stopped",
    ("driftpilot", "ui"): "the dashboard, a server that runs until stopped; "
    "tests/report/test_browser.py drives it in chromium",
}
# in process these would hang the test (servers run until stopped) or take minutes (the
# demo): a README command of these kinds must be in SKIPPED, with its reason
NOT_IN_PROCESS: set[Prefix] = {
    ("driftpilot", "serve"),
    ("driftpilot", "ui"),
    ("driftpilot", "run"),
    ("driftpilot", "demo"),
}
EXIT_CODES: dict[Prefix, set[int]] = {
    ("driftpilot", "check"): {0, 1, 2},  # ok, warn, alert
    ("driftpilot", "retrain"): {0, 1},  # the candidate passed the gate, or failed it
    ("driftpilot", "features", "status"): {0, 2},  # fresh, or a view is not
}

# commands the README documents that fail today because of a bug in driftpilot: each must fail
# as described (exit code, a line of its output) until the bug is fixed, then leave this table
KNOWN_BUGS: dict[Prefix, tuple[int, str, str]] = {}


def _feature_pipeline(session: Session) -> None:
    files.write_feature_rows(session.root, session.now)


BEFORE: dict[Prefix, tuple[Callable[[Session], None], str]] = {
    ("driftpilot", "features", "apply"): (
        _feature_pipeline,
        "the feature pipeline writes the views' rows into ws/features/data/VIEW/",
    ),
}


def _imported(session: Session) -> Path:
    folder = session.root.parent / "import"
    folder.mkdir()
    # a copy of the store register made: MLflow's first migration of a store takes seconds
    store = session.root / "ws" / "mlflow.db"
    session.placeholders["RUN"] = files.imported_model(folder, store, session.now)
    return folder


def _copy(session: Session) -> Path:
    session.copies += 1
    return Path(shutil.copytree(session.root, session.root.parent / f"copy-{session.copies}"))


ELSEWHERE: dict[Prefix, tuple[Callable[[Session], Path], str]] = {
    ("driftpilot", "register", "--model-uri"): (
        _imported,
        "the other way to a first model: an MLflow run's model, in a workspace of its own",
    ),
    ("driftpilot", "models", "promote"): (
        _copy,
        "promoting by hand instead of by canary: on a copy, so the canary still has its challenger",
    ),
    ("driftpilot", "canary", "promote"): (
        _copy,
        "promote and rollback each end the canary: promote runs on a copy",
    ),
}


@dataclass
class Session:
    root: Path
    now: datetime
    placeholders: dict[str, str] = field(default_factory=dict)
    used: set[Prefix] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    copies: int = 0

    def walk(self, blocks: Iterable[Block]) -> None:
        for block in blocks:
            if block.language == "sh":
                for command in commands(block):
                    self.run(command)
            elif block.language == "yaml" and (block.header or "").endswith("driftpilot.yaml"):
                (self.root / (block.header or "")).write_text(block.text, encoding="utf-8")

    def run(self, command: Command) -> None:
        skipped = longest_prefix(SKIPPED, command.argv)
        if skipped:
            self.used.add(skipped)
            return
        if command.argv[0] not in ("driftpilot", "curl") or longest_prefix(
            dict.fromkeys(NOT_IN_PROCESS), command.argv
        ):
            raise AssertionError(
                f"{command.where()} is neither run nor skipped: give tests/readme/session.py "
                "a way to run it, or add it to SKIPPED with the reason"
            )
        before = longest_prefix(BEFORE, command.argv)
        if before:
            self.used.add(before)
            BEFORE[before][0](self)
        elsewhere = longest_prefix(ELSEWHERE, command.argv)
        folder = self.root
        if elsewhere:
            self.used.add(elsewhere)
            folder = ELSEWHERE[elsewhere][0](self)
        argv = tuple(re.sub(r"\b(DECISION|RUN)\b", self._placeholder, a) for a in command.argv)
        with contextlib.chdir(folder):
            if argv[0] == "curl":
                self._curl(command)
            else:
                self._driftpilot(command, argv)
        self.ran.append(" ".join(argv))

    def _placeholder(self, found: re.Match[str]) -> str:
        name = found.group(1)
        assert name in self.placeholders, f"{name} is used before a command gave it"
        return self.placeholders[name]

    def _driftpilot(self, command: Command, argv: tuple[str, ...]) -> None:
        codes = longest_prefix(EXIT_CODES, argv)
        if codes:
            self.used.add(codes)
        expected = EXIT_CODES[codes] if codes else {0}
        result = driftpilot(argv)
        bug = longest_prefix(KNOWN_BUGS, argv)
        if bug:
            self.used.add(bug)
            code, symptom, cause = KNOWN_BUGS[bug]
            still = (result.exit_code, symptom in result.output) == (code, True)
            assert still, (
                f"{command.where()} no longer fails as KNOWN_BUGS says ({cause}): if it is "
                f"fixed, take it out of KNOWN_BUGS\n{result.output}"
            )
            return
        assert result.exit_code in expected, (
            f"{command.where()} exited {result.exit_code}, expected {sorted(expected)}:\n"
            f"{result.output}\n{result.exception!r}"
        )
        if argv[1] == "check" and "json" in argv:
            decisions = json.loads(result.stdout)["decisions"]
            assert decisions, f"{command.where()}: no decision on the latest window"
            self.placeholders["DECISION"] = decisions[0]["id"]

    def _curl(self, command: Command) -> None:
        status, answer = curl(command, Path("ws"))
        assert status == 200, f"{command.where()} answered {status}: {answer}"
        shown = shown_answer(command)
        if shown is not None:
            assert answer_shape(answer) == answer_shape(shown), (
                f"{command.where()}: the README shows {shown}, the server answers {answer}"
            )
