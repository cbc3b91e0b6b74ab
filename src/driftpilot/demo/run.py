"""The end-to-end demo: a churn model watched week by week.

1. The churn story's 12 weeks are generated.
2. A workspace is created and the first model is registered (``driftpilot register``): an
   XGBoost classifier trained on the training month (weeks 0–3), its held-out last days
   profiled with its scores as the reference, logged to MLflow in the workspace, alias
   ``champion``.
3. Weeks 4–11 arrive one at a time: the champion scores them, predictions are logged as they
   are made, labels a week later (churn is only known after the fact), and a policy cycle
   (``driftpilot check``: monitor, decide, alert, retrain) runs when each week closes;
   incidents go to ``alerts.jsonl``, window values to the champion's monitoring run in MLflow.
   A ``retrain`` incident trains a candidate on the last 14 days of labeled rows and gates it
   against the champion on the most recent slice; the demo prints the comparison.
4. The feature store's act (paused materialization caught as stale features), then the
   canary's (a promotion on live traffic, a bad candidate rolled back).
5. A table per week shows drift, realized performance (once labels are in) and the
   label-free estimate; recall by region; the story in numbers (:mod:`driftpilot.demo.summary`,
   read back from the workspace); the HTML report is written beside the workspace, and the
   commands to look further (``driftpilot ui``, ``mlflow ui``) are printed.

Each step is a plain API call a user would make.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftpilot.demo.canary import canary_config, run_canary_act
from driftpilot.demo.churn import ChurnScenario, WeekSpec, story
from driftpilot.demo.features import FEATURES_CONFIG, publish, run_freshness_act
from driftpilot.demo.server import start_server, stop_server
from driftpilot.demo.summary import (
    StorySummary,
    print_next,
    south_table,
    summarize,
    summary_table,
)
from driftpilot.drift.render import make_console
from driftpilot.engine.backend import Engine
from driftpilot.features.store import FeatureRepo
from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.monitor.render import history_table
from driftpilot.monitor.report import WindowReport, history
from driftpilot.policy.act import Sent
from driftpilot.policy.cycle import CycleResult, next_close, run_cycle
from driftpilot.registry.client import LoadedModel, Registry
from driftpilot.retrain.pipeline import register
from driftpilot.workspace import Workspace, init_workspace

__all__ = ["CONFIG_TEXT", "STORY", "DemoResult", "run_demo"]

CONFIG_TEXT = """\
# driftpilot.yaml for the churn demo
columns:
  id: [customer_id]
  timestamp: timestamp
  target: churn
  prediction: score
model:
  name: churn
  task: binary
  threshold: 0.5
monitor:
  window: week
  segments: [region]
  kpis:
    churn_recall: {numerator: {count: true, over: [tp]}, denominator: {count: true, over: [tp, fn]}}
drift:
  default: {method: psi, threshold: 0.2}
policy:
  rules:
    performance_drop: "auc_drop > calibrated or accuracy_drop > calibrated -> retrain"
    segment_recall_drop:   # a region's ranking breaks, not only its threshold (covariate shift)
      when: recall_drop(region=*) > calibrated and auc_drop(region=*) > calibrated
      action: retrain
      min_labels: 200
    estimated_drop: {when: estimated_auc_drop > calibrated, severity: warn}
    data_drift: {when: drifted_features >= 1, severity: warn}
    data_quality: quality_issues >= 1
    stale_features: stale_feature_views >= 1
    feature_skew: {when: "feature_skew(*) > 0.01", severity: warn}
alerts:
  sinks:
    - {type: jsonl, path: alerts.jsonl}
retrain:
  days: 14            # labels arrive a week late: the last two weeks hold one labeled week
  gate: {margin: 0.005, segment_tolerance: 0.02}
"""

STORY = {
    4: "control week: nothing changed",
    5: "control week: nothing changed",
    6: "customers use more data (monthly_usage +1 std): features drift; AUC holds, recall dips",
    7: "customers use more data (monthly_usage +1 std): features drift; AUC holds, recall dips",
    8: "churn behaviour changes in the south: no feature moves; south's recall falls",
    9: "churn behaviour changes in the south: no feature moves; south's recall falls",
    10: "far more customers churn (label shift): the estimate cannot know, labels will",
    11: "payment_delay arrives broken (30% missing): a data-quality issue",
}


def _scored(
    scenario: ChurnScenario, index: int, spec: object, champion: LoadedModel
) -> pd.DataFrame:
    week = scenario.week(index, spec)  # type: ignore[arg-type]
    week["score"] = champion.score(week)
    week["model_version"] = champion.version
    week["prediction_id"] = [f"w{index:02d}-{i:06d}" for i in range(len(week))]
    return week


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    reports: list[WindowReport]  # the stored window reports, oldest first
    summary: StorySummary
    html: Path  # the HTML report


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def run_demo(
    directory: Path,
    *,
    rows_per_week: int = 10_000,
    seed: int = 7,
    console: Console | None = None,
    canary_scale: float = 1.0,
) -> DemoResult:
    """Run the story; ``canary_scale`` shrinks the canary's traffic and minimums (a shorter
    story for the tests)."""
    console = console or make_console()
    directory.mkdir(parents=True, exist_ok=True)
    root = directory / "workspace"
    init_workspace(root, features=True)
    (root / "driftpilot.yaml").write_text(
        CONFIG_TEXT + canary_config(canary_scale) + FEATURES_CONFIG, encoding="utf-8"
    )
    space = Workspace.open(root)
    scenario, specs = ChurnScenario(seed=seed, rows_per_week=rows_per_week), story()
    engine = Engine.create(space.config.engine)
    with console.status("training and registering the first model on weeks 0–3"):
        training = pd.concat([scenario.week(i, specs[i]) for i in range(4)], ignore_index=True)
        publish(space, training, "weeks-00-03")
        FeatureRepo(space).apply()
        data_path = directory / "training.parquet"
        training.to_parquet(data_path, index=False)
        first = register(space, training, data_path=str(data_path), engine=engine)
        registry = Registry(space)
        champion = registry.load(first.version.version)
    profile = space.reference()
    auc = first.gate.candidate.get("roc_auc") if first.gate else None
    console.print(
        f"registered {registry.name!r} version {first.version.version} (alias champion): "
        f"XGBoost on {first.training['train']:,} rows, holdout ROC AUC {auc:.3f}; reference: "
        f"its {profile.rows:,} held-out rows → {space.reference_path}\n"
    )
    waiting: pd.DataFrame | None = None
    now = _closes(training)
    with _progress(console) as progress:
        weeks = progress.add_task("weeks 4–11", total=8)
        for index in range(4, 12):
            progress.update(weeks, description=f"week {index}: scoring, logging, policy cycle")
            waiting = _week(space, scenario, specs, index, champion, engine, waiting, console)
            progress.advance(weeks)
    # the canary's server starts now: it loads while the last cycle and the freshness act run
    server = start_server(space)
    try:
        now = _last_week(space, scenario, specs, waiting, engine, console, now)
        known = str(waiting["customer_id"].iloc[-1]) if waiting is not None else "1"
        now = run_freshness_act(space, scenario, now, known, console)
        run_canary_act(space, scenario, now, console, scale=canary_scale, server=server)
    finally:
        if server[0].poll() is None:  # the canary act stops it; a failure on the way may not
            stop_server(server[0])
    reports = history(space)
    console.print()
    console.print(history_table(reports))
    console.print(south_table(reports))
    summary = summarize(space, reports, auc_reference=auc)
    console.print(summary_table(summary))
    with console.status("writing the HTML report"):
        html = _html_report(space, directory / "report.html")
    print_next(console, directory, root, html, registry.uri, space)
    return DemoResult(root, reports, summary, html)


def _last_week(
    space: Workspace,
    scenario: ChurnScenario,
    specs: list[WeekSpec],
    waiting: pd.DataFrame | None,
    engine: Engine,
    console: Console,
    now: datetime,
) -> datetime:
    """The last week's labels arrive a week after it; the cycle then; returns its time."""
    if waiting is not None:  # the labels of the last week arrive after it
        # the feature pipeline goes on: next week's customers (scored later, by the canary)
        publish(space, scenario.week(12, specs[9]), "week-12")
        log_labels(
            pd.DataFrame({"prediction_id": waiting["prediction_id"], "label": waiting["churn"]}),
            workspace=space,
        )
        now = _closes(waiting) + timedelta(weeks=1)
        last = run_cycle(space, engine=engine, now=now)
        console.print("[bold]a week later[/]: the last week's labels arrive")
        _print_sent(console, last.sent)
        _print_effects(console, last)
    return now


def _week(
    space: Workspace,
    scenario: ChurnScenario,
    specs: list[WeekSpec],
    index: int,
    champion: LoadedModel,
    engine: Engine,
    waiting: pd.DataFrame | None,
    console: Console,
) -> pd.DataFrame:
    """One week of the story: scored, logged, last week's labels, the policy cycle."""
    week = _scored(scenario, index, specs[index], champion)
    publish(space, week, f"week-{index:02d}")  # the feature pipeline
    predictions = week.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"})
    log_predictions(predictions, workspace=space)
    if waiting is not None:  # last week's churn is known now
        log_labels(
            pd.DataFrame({"prediction_id": waiting["prediction_id"], "label": waiting["churn"]}),
            workspace=space,
        )
    cycle = run_cycle(space, engine=engine, now=_closes(week))
    console.print(
        f"[bold]week {index}[/]: {STORY[index]} "
        f"({len(cycle.monitor.computed)} window reports computed)"
    )
    _print_sent(console, cycle.sent)
    _print_effects(console, cycle)
    return week


def _html_report(space: Workspace, path: Path) -> Path:
    from driftpilot.report.html import write_html
    from driftpilot.report.view import build_view

    return write_html(build_view(space, mlflow_url=space.config.report.mlflow_url), path)


def _closes(week: pd.DataFrame) -> datetime:
    """When the week's window closes (the demo decides then, as `driftpilot run` would)."""
    last: datetime = week["timestamp"].max().to_pydatetime()
    return next_close(last, "week") or last


def _print_sent(console: Console, sent: list[Sent]) -> None:
    for message in sent:
        colour = "green" if message.alert.status == "resolved" else "red"
        console.print(f"   [{colour}]{escape(message.alert.title())}[/]")


def _print_effects(console: Console, cycle: CycleResult) -> None:
    from driftpilot.retrain.render import comparison_table

    for done in cycle.retrains:
        console.print(f"   [bold]retrained[/] for: {escape(done.version.tag('reason') or '')}")
        console.print(f"   {escape(done.summary())}")
        console.print(comparison_table(done))
    if cycle.canary is not None and cycle.canary.action != "hold":
        console.print(f"   [cyan]{escape(cycle.canary.summary())}[/]")
    for error in cycle.errors:
        console.print(f"   [yellow]{escape(error)}[/]")
