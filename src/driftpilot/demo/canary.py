"""The demo's canary act: live traffic through ``driftpilot serve`` to a promotion, then a
candidate trained on corrupted labels rolled back on its own.

The server runs for real (``driftpilot serve`` in a process of its own, on a free port of
127.0.0.1) and follows the registry; the simulated traffic is single-row ``POST /v1/predict``
requests of the churn story's week 12 (the south's churn behaviour still changed),
timestamped an hour per stage, and each stage's labels arrive before the controller analyses
it (as ``driftpilot run`` would, every ``canary.interval``). A request sends only the
customer's id: the server reads its features from the feature store's online store.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from driftpilot.canary import controller
from driftpilot.demo.churn import ChurnScenario, story
from driftpilot.demo.server import live_server, stop_server
from driftpilot.log.writer import log_labels, log_predictions

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from driftpilot.canary.controller import Step
    from driftpilot.workspace import Workspace

__all__ = ["CANARY_CONFIG", "canary_config", "run_canary_act"]

# per stage: minimum challenger calls, and requests sent (enough for them at its weight)
_STAGES = {"shadow": (0.0, 300, 400), "10%": (0.1, 120, 1500), "25%": (0.25, 150, 700),
           "50%": (0.5, 150, 400), "100%": (1.0, 150, 250)}  # fmt: skip


_CLIENTS = 4  # concurrent callers of the demo's traffic


def canary_config(scale: float = 1.0) -> str:
    """The demo's ``serve`` and ``canary`` settings; ``scale`` shrinks every stage's minimum
    requests and the labels the metric check needs (the test suite's shorter story)."""
    stages = "\n".join(
        f"    - {{name: {name}, weight: {weight}, "
        + ("shadow: 1.0, " if name == "shadow" else "")
        + f"min_requests: {round(least * scale)}, min_duration: 1h}}"
        for name, (weight, least, _) in _STAGES.items()
    )
    return (
        "serve: {refresh: 0.5s, log_flush_ms: 200}\ncanary:\n  stages:\n"
        f"{stages}\n  min_labels: {round(150 * scale)}\n"
    )


CANARY_CONFIG = canary_config()


def _await_stage(client: httpx.Client, stage: str | None) -> None:
    """Wait until the server routes by ``stage`` (it reads the registry every 0.5 s)."""
    deadline = time.monotonic() + 30
    while client.get("/readyz").json().get("canary") != stage:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not pick up canary stage {stage}")
        time.sleep(0.1)


def _requests_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("     [cyan]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )


def _traffic(
    client: httpx.Client,
    frame: pd.DataFrame,
    start: datetime,
    workspace: Workspace,
    console: Console,
) -> list[dict[str, Any]]:
    """One request per row, timestamped across the hour from ``start``; then the labels.

    The rows' features are published to the feature store at their request times and
    materialized first: a request sends only the customer id, the server reads the rest."""
    from driftpilot.demo.features import publish
    from driftpilot.features.store import FeatureRepo

    spacing = 3600 / max(len(frame), 1)
    moments = [start + timedelta(seconds=i * spacing) for i in range(len(frame))]
    publish(workspace, frame.assign(timestamp=moments), f"traffic-{start:%Y%m%dT%H%M}")
    FeatureRepo(workspace).materialize(moments[-1] + timedelta(seconds=1))

    def ask(customer: Any, moment: datetime) -> dict[str, Any]:
        instance = {"entity_id": str(customer), "timestamp": moment.isoformat()}
        response = client.post("/v1/predict", json=instance)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()["predictions"][0]
        return answer

    # a few clients at once, as live traffic comes (the answers keep the rows' order)
    with ThreadPoolExecutor(_CLIENTS) as pool, _requests_bar(console) as bar:
        task = bar.add_task(f"{len(frame):,} requests", total=len(frame))

        def asked(customer: Any, moment: datetime) -> dict[str, Any]:
            answer = ask(customer, moment)
            bar.advance(task)
            return answer

        answers = list(pool.map(asked, frame["customer_id"], moments))
    labels = pd.DataFrame(
        {"prediction_id": [a["prediction_id"] for a in answers], "label": frame["churn"].to_numpy()}
    )
    _flushed(client)
    log_labels(labels, workspace=workspace)
    return answers


def _flushed(client: httpx.Client) -> None:
    """Wait until the server has written what it answered (it logs asynchronously)."""
    deadline = time.monotonic() + 30
    while "driftpilot_serve_log_pending_rows 0.0" not in client.get("/metrics").text:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not write its log within 30 s")
        time.sleep(0.05)


def _canary(
    client: httpx.Client,
    workspace: Workspace,
    frames: Iterator[pd.DataFrame],
    start: datetime,
    console: Console,
    scale: float,
) -> tuple[list[Step], datetime]:
    """Traffic and a controller step per stage, until promotion or rollback."""
    steps: list[Step] = []
    now = start
    while True:
        done = controller.step(workspace, now=now)
        if done is not None:
            steps.append(done)
            _print_step(console, done)
            if done.action in ("promote", "rollback"):
                _await_stage(client, None)
                return steps, now
            if done.action == "start":  # analysed at once: it holds for want of traffic
                continue
        current = _live_stage(workspace)
        if current is None:
            return steps, now
        _await_stage(client, current)
        frame = next(frames).head(round(_STAGES[current][2] * scale))
        answers = _traffic(client, frame, now, workspace, console)
        routes = pd.Series([a["route"] for a in answers]).value_counts().to_dict()
        console.print(f"     {len(answers):,} requests at stage {current}: {routes}")
        now += timedelta(hours=1)


def _live_stage(workspace: Workspace) -> str | None:
    from driftpilot.canary.state import CanaryState
    from driftpilot.registry.client import Registry

    tags = Registry(workspace).model_state()[1]
    state = CanaryState.from_tags(tags)
    return state.stage_name if state is not None and state.live else None


def _print_step(console: Console, done: Step) -> None:
    colour = {"rollback": "red", "promote": "green"}.get(done.action, "cyan")
    console.print(f"   [{colour}]{escape(done.summary())}[/]")


def _weeks(scenario: ChurnScenario, first: int) -> Iterator[pd.DataFrame]:
    south = story()[9]
    index = first
    while True:
        yield scenario.week(index, south)
        index += 1


def steps_table(steps: list[Step]) -> Table:
    table = Table(
        title="canary analyses (challenger vs champion, same traffic)", header_style="bold"
    )
    for column in ("version", "stage", "calls", "errors", "p99 ms", "JS dist", "ROC AUC", "step"):
        table.add_column(column, justify="right" if column not in ("stage", "step") else "left")
    for done in steps:
        if done.analysis is None or done.analysis.challenger_calls == 0:
            continue
        checks = {c.name: c for c in done.analysis.checks}

        def show(name: str, value: Any, fmt: str) -> str:
            return "—" if value is None else format(value, fmt)

        auc = checks.get("roc_auc")
        table.add_row(
            done.state.version,
            done.state.stage_name,
            f"{done.analysis.challenger_calls:,}",
            show("errors", checks["errors"].challenger, ".1%"),
            f"{show('', checks['latency'].challenger, '.1f')} / "
            f"{show('', checks['latency'].champion, '.1f')}",
            show("divergence", checks["divergence"].challenger, ".3f"),
            "—" if auc is None or auc.challenger is None
            else f"{auc.challenger:.3f} / {auc.champion:.3f}",
            done.action,
        )  # fmt: skip
    return table


def run_canary_act(
    workspace: Workspace,
    scenario: ChurnScenario,
    after: datetime,
    console: Console,
    *,
    scale: float = 1.0,
    server: tuple[subprocess.Popen[bytes], int] | None = None,
) -> list[Step]:
    """The canary of the current challenger to promotion, then a corrupted candidate's
    (``scale``: the share of each stage's requests, as in :func:`canary_config`; ``server``:
    one :func:`start_server` started earlier, else a new one)."""
    from driftpilot.demo.features import publish
    from driftpilot.registry.client import Registry
    from driftpilot.retrain.pipeline import retrain

    registry = Registry(workspace)
    steps: list[Step] = []
    if registry.alias("challenger") is None:
        if server is not None:
            stop_server(server[0])
        console.print("no challenger to roll out")
        return steps
    console.print(
        f"\n[bold]canary[/]: version {registry.alias('challenger')} against champion "
        f"{registry.alias('champion')} on live traffic (week 12, south still changed); "
        "single-row requests to POST /v1/predict with only the customer id (features from "
        "the online store), labels after each stage"
    )
    frames = _weeks(scenario, 12)
    with live_server(workspace, server) as client:
        done, now = _canary(client, workspace, frames, after, console, scale)
        steps += done
        champion = registry.alias("champion") or ""
        # the label pipeline breaks: week 16's autopay customers get inverted churn flags
        week = scenario.week(16, story()[9])
        scored = registry.load(champion)
        week["score"] = scored.score(week)
        week["model_version"] = champion
        week["prediction_id"] = [f"w16-{i:06d}" for i in range(len(week))]
        week["timestamp"] = [now + timedelta(minutes=i * 30 / len(week)) for i in range(len(week))]
        publish(workspace, week, "week-16")  # the features as they were, for the retrain
        log_predictions(
            week.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"}),
            workspace=workspace,
        )
        corrupted = np.where(week["autopay"].to_numpy(dtype=bool), 1 - week["churn"], week["churn"])
        log_labels(
            pd.DataFrame({"prediction_id": week["prediction_id"], "label": corrupted}),
            workspace=workspace,
        )
        now += timedelta(hours=1)
        console.print(
            "\n[bold]a broken label feed[/]: autopay customers' churn flags arrive inverted; "
            "a retrain on these labels:"
        )
        candidate = retrain(workspace, now=now, reason="labels of the broken feed")
        console.print(f"   {escape(candidate.summary())}")
        if candidate.alias == "challenger":
            done, now = _canary(client, workspace, frames, now, console, scale)
            steps += done
    console.print(steps_table(steps))
    return steps
