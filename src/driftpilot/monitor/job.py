"""``driftpilot monitor``: a report for every window with new predictions, labels or detections.

Each window's fingerprint (see :mod:`driftpilot.monitor.plan`) is compared with its stored
report's; only windows whose fingerprint changed are computed again, so re-running is
idempotent and labels that arrive days later recompute exactly the windows they belong to
(and those whose detector findings they change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftpilot.engine.backend import Engine
from driftpilot.log.read import labeled_predictions, unmatched_labels
from driftpilot.monitor.compute import ReportBuilder
from driftpilot.monitor.detectors import replay
from driftpilot.monitor.plan import DETECTIONS, settings_hash, summarize, window_column
from driftpilot.monitor.report import WindowReport, stored_detectors, stored_fingerprints, upsert
from driftpilot.workspace import Workspace

__all__ = ["MonitorResult", "run_monitor"]


@dataclass
class MonitorResult:
    computed: list[WindowReport] = field(default_factory=list)
    unchanged: int = 0
    unmatched_labels: int = 0


def run_monitor(
    workspace: Workspace | str,
    *,
    engine: Engine | None = None,
    everything: bool = False,
    now: datetime | None = None,
) -> MonitorResult:
    """Compute and store the reports of every window that changed since the last run
    (of every window with ``everything``)."""
    if not isinstance(workspace, Workspace):
        workspace = Workspace.open(workspace)
    config = workspace.config
    engine = engine or Engine.create(config.engine)
    profile = workspace.reference()
    table = labeled_predictions(engine, workspace)
    table = table.mutate(
        window=window_column(table, config.monitor.window, config.monitor.window_rows)
    )
    # one pass deduplicates and joins the log; every query below reads its result
    table = engine.materialize(table)
    windows = summarize(engine, table, config.monitor.window, settings_hash(workspace, profile))
    by_value = {w.value: w for w in windows}
    binary = config.model.task == "binary"
    reference = profile.performance
    large = reference.large_error if reference is not None else None
    replayed = replay(
        engine, table, by_value, config.monitor.detectors, binary=binary, large_error=large
    )
    stored = {} if everything else stored_fingerprints(workspace)
    detections: dict[Any, dict[str, Any]] = {}
    todo, older = [], []
    for window in windows:
        if replayed.covers(window.last):
            detections[window.value] = replayed.of(window.value)
            if stored.get(window.key) != window.fingerprint(detections[window.value]):
                todo.append(window)
        elif stored.get(window.key, "").partition(DETECTIONS)[0] != window.data:
            todo.append(window)  # beyond the replay: keeps the detections it was reported with
            older.append(window)
    kept = stored_detectors(workspace, [w.key for w in older])
    for window in older:
        detections[window.value] = kept.get(window.key) or replayed.of(window.value)
    result = MonitorResult(
        unchanged=len(windows) - len(todo),
        unmatched_labels=unmatched_labels(engine, workspace, table),
    )
    if not todo:
        return result
    part = table.filter(table.window.isin([w.value for w in todo]))
    builder = ReportBuilder(engine, workspace, profile, part, todo, now or datetime.now(UTC))
    reports = builder.build(detections)
    upsert(workspace, reports)
    result.computed = reports
    return result
