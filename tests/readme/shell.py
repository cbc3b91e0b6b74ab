"""The README's shell examples as commands, and the two kinds it runs: ``driftpilot …``
through typer's CliRunner (in process: no interpreter start-up per command) and ``curl …``
against the app ``driftpilot serve -w ws`` serves, through Starlette's TestClient."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.readme.markdown import Block

__all__ = [
    "Command",
    "answer_shape",
    "commands",
    "curl",
    "driftpilot",
    "longest_prefix",
    "shown_answer",
]

Prefix = tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """One command of a block: its words, its text as written, its line in README.md, and
    the comment lines right below it (an answer shown as ``# {...}``)."""

    argv: tuple[str, ...]
    text: str
    line: int
    shown: str = ""

    def where(self) -> str:
        return f"README.md:{self.line}: `{' '.join(self.text.split())}`"


def commands(block: Block) -> list[Command]:
    """The commands of a shell block: comments dropped, a trailing backslash or an open
    quote continues a command on the next line; comment lines right below a command are
    kept as what it shows."""
    found: list[Command] = []
    pending, start, end = "", 0, -1  # end: the last line of the latest command (or its comment)
    for number, line in enumerate(block.text.splitlines(), block.line + 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            if stripped and found and number == end + 1:
                last = found[-1]
                shown = f"{last.shown}\n{stripped[1:]}" if last.shown else stripped[1:]
                found[-1], end = replace(last, shown=shown), number
            continue
        pending, start = (f"{pending}\n{line}", start) if pending else (line, number)
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        try:
            argv = shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        if argv:
            found.append(Command(tuple(argv), pending, start))
            end = number
        pending = ""
    if pending:
        raise AssertionError(f"README.md:{start}: unfinished command {pending!r}")
    return found


def longest_prefix(table: dict[Prefix, Any], argv: tuple[str, ...]) -> Prefix | None:
    """The longest key of ``table`` that ``argv`` starts with."""
    keys = [k for k in table if argv[: len(k)] == k]
    return max(keys, key=len) if keys else None


def driftpilot(argv: tuple[str, ...]) -> Any:
    from typer.testing import CliRunner

    from driftpilot.cli import app

    return CliRunner().invoke(app, list(argv[1:]))


def curl(command: Command, workspace: Path) -> tuple[int, Any]:
    """Send a ``curl`` example to the app serving ``workspace``; status and JSON answer."""
    from fastapi.testclient import TestClient

    from driftpilot.serve.app import create_app
    from driftpilot.workspace import Workspace

    words = list(command.argv[1:])
    method, url, headers, body = "GET", None, {}, None
    while words:
        word = words.pop(0)
        if word == "-s":
            continue
        if word in ("-H", "-d", "-X") and words:
            value = words.pop(0)
            if word == "-H":
                name, _, header = value.partition(":")
                headers[name.strip()] = header.strip()
            elif word == "-d":
                method, body = "POST", value
            else:
                method = value
        elif not word.startswith("-") and url is None:
            url = word
        else:
            raise AssertionError(f"{command.where()}: curl's {word!r} is not understood here")
    assert url is not None, f"{command.where()}: no URL"
    parts = urlsplit(url if "://" in url else f"http://{url}")
    assert (parts.hostname, parts.port) == ("localhost", 8000), f"{command.where()}: {url}"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with TestClient(create_app(Workspace.open(workspace))) as client:
        answer = client.request(method, target, headers=headers, content=body)
    return answer.status_code, answer.json()


def answer_shape(value: Any) -> Any:
    """The keys of a JSON answer, nested (a list by its first item): what the README shows
    of an answer, whatever the values."""
    if isinstance(value, dict):
        return {key: answer_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [answer_shape(value[0])] if value else []
    return None


def shown_answer(command: Command) -> Any:
    """The answer the README shows below a command (``# {...}``), or None."""
    text = command.shown.strip()
    if not text.startswith("{"):
        return None
    return json.loads(re.sub(r"\s+", " ", text))
