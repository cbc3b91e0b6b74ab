"""Window values as MLflow metrics, so ``mlflow ui`` charts a model's health over time.

Each model version gets one monitoring run (tags ``driftpilot.role=monitoring``,
``driftpilot.version=V``). A window's values are logged to the run of the version that served
most of its rows (the champion when the predictions name no version) with ``step`` = the
window's index in the history and ``timestamp`` = the window's end. A window computed again
(late labels) logs its new values at the same step, one millisecond later per revision (the
``revision`` metric counts them), so the latest value of a step is the one with the latest
timestamp, and charts over time stay on the windows' ends.

Metric names: ``rows``, ``label_coverage``, ``drift_share``, ``quality_issues``,
``drift.FEATURE.STATISTIC`` (also ``prediction`` and ``label``), ``drifted.FEATURE`` (0/1),
``performance.METRIC``, ``segment.COLUMN.VALUE.METRIC``, ``estimated.METRIC``, ``kpi.NAME``,
``estimated_kpi.NAME``, ``latency.p50`` / ``latency.p99``. Characters MLflow does not allow in
a name become ``_``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftpilot.policy.prometheus import PERFORMANCE
from driftpilot.registry.client import TAGS, Registry

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport

__all__ = [
    "MetricPoint",
    "log_windows",
    "monitoring_run",
    "monitoring_runs",
    "read_metrics",
    "window_values",
]

log = logging.getLogger("driftpilot.registry")
_UNSAFE = re.compile(r"[^\w\-. /]")


def _name(*parts: str) -> str:
    return ".".join(_UNSAFE.sub("_", p) for p in parts)


def _put(out: dict[str, float], key: str, value: Any) -> None:
    if isinstance(value, int | float) and value == value:  # bools are ints; NaN is skipped
        out[key] = float(value)


def window_values(report: WindowReport) -> dict[str, float]:
    """A window report's numbers, flat (see the module docstring for the names)."""
    out: dict[str, float] = {}
    _put(out, "rows", report.rows)
    _put(out, "label_coverage", report.labels.get("coverage"))
    _put(out, "drift_share", report.dataset.drift_share)
    _put(out, "quality_issues", len(report.dataset.quality_issues))
    outputs = {"prediction": report.prediction_drift, "label": report.label_drift}
    for feature, drift in [*report.features.items(), *outputs.items()]:
        if drift is None:
            continue
        _put(out, _name("drifted", feature), bool(drift.drift))
        for stat, value in drift.statistics.items():
            _put(out, _name("drift", feature, stat), value)
    performance = report.performance or {}
    for metric in PERFORMANCE:
        _put(out, _name("performance", metric), performance.get(metric))
        _put(out, _name("estimated", metric), (report.estimate or {}).get(metric))
    for column, values in (performance.get("by_segment") or {}).items():
        for segment, metrics in values.items():
            for metric in PERFORMANCE:
                _put(out, _name("segment", column, str(segment), metric), metrics.get(metric))
    for kind, values in (("kpi", report.kpis), ("estimated_kpi", report.estimated_kpis)):
        for key, number in values.items():
            _put(out, _name(kind, key), number)
    for key in ("p50", "p99"):
        _put(out, _name("latency", key), report.latency.get(key))
    return out


def monitoring_run(registry: Registry, version: str) -> str:
    """The monitoring run of ``version`` (created on first use)."""
    found = registry.call(
        "search monitoring runs",
        registry.client.search_runs,
        [registry.experiment_id()],
        f"tags.`{TAGS['role']}` = 'monitoring' and tags.`{TAGS['version']}` = '{version}'",
    )
    if found:
        return str(found[0].info.run_id)
    run = registry.call(
        "start the monitoring run",
        registry.client.create_run,
        registry.experiment_id(),
        tags={TAGS["role"]: "monitoring", TAGS["version"]: str(version)},
        run_name=f"monitoring v{version}",
    )
    registry.call(
        "tag the monitoring run",
        registry.client.set_tag,
        run.info.run_id,
        "mlflow.note.content",
        f"driftpilot window metrics of {registry.name} version {version}",
    )
    return str(run.info.run_id)


def log_windows(
    registry: Registry,
    history: Sequence[WindowReport],
    computed: Sequence[WindowReport],
    *,
    champion: str | None,
) -> dict[str, int]:
    """Log ``computed`` windows (a subset of ``history``); returns metrics logged per version."""
    from mlflow.entities import Metric

    from driftpilot.policy.context import serving_version

    known = {v.version for v in registry.versions()}
    index = {r.window_key: i for i, r in enumerate(history)}
    by_version: dict[str, list[WindowReport]] = {}
    unknown: set[str] = set()
    for report in computed:
        version = serving_version(report) or champion
        if version is not None and version not in known:
            unknown.add(version)
        elif version is not None and report.window_key in index:
            by_version.setdefault(version, []).append(report)
    logged: dict[str, int] = {}
    for version, reports in by_version.items():
        run_id = monitoring_run(registry, version)
        revisions: dict[int, int] = {}
        for point in registry.call(
            "read revisions", registry.client.get_metric_history, run_id, "revision"
        ):
            revisions[int(point.step)] = max(revisions.get(int(point.step), -1), int(point.value))
        metrics: list[Any] = []
        for report in reports:
            step = index[report.window_key]
            revision = revisions.get(step, -1) + 1
            end = report.window_end or report.computed_at
            stamp = int(end.timestamp() * 1000) + revision
            values = {**window_values(report), "revision": float(revision)}
            metrics.extend(Metric(k, v, stamp, step) for k, v in values.items())
        for start in range(0, len(metrics), 1000):  # MLflow takes 1,000 metrics per batch
            registry.call(
                "log window metrics",
                registry.client.log_batch,
                run_id,
                metrics=metrics[start : start + 1000],
            )
        # a monitoring run is ended after each batch (MLflow accepts later batches all the same),
        # so none stays RUNNING in the UI
        registry.call("end the monitoring run", registry.client.set_terminated, run_id, "FINISHED")
        logged[version] = len(metrics)
    if unknown:
        log.warning(
            "window metrics of versions %s not logged: not in the registry", sorted(unknown)
        )
    return logged


@dataclass(frozen=True)
class MetricPoint:
    step: int
    timestamp: int  # milliseconds
    value: float


def read_metrics(registry: Registry, version: str) -> dict[str, list[MetricPoint]]:
    """Every monitoring metric of ``version``: one point per step (its latest revision)."""
    found = registry.call(
        "search monitoring runs",
        registry.client.search_runs,
        [registry.experiment_id()],
        f"tags.`{TAGS['role']}` = 'monitoring' and tags.`{TAGS['version']}` = '{version}'",
    )
    if not found:
        return {}
    run = found[0]
    out: dict[str, list[MetricPoint]] = {}
    for key in sorted(run.data.metrics):
        history = registry.call(
            "read a metric's history", registry.client.get_metric_history, run.info.run_id, key
        )
        last: dict[int, MetricPoint] = {}
        for point in history:
            found = MetricPoint(int(point.step), int(point.timestamp), float(point.value))
            if found.step not in last or found.timestamp >= last[found.step].timestamp:
                last[found.step] = found
        out[key] = [last[step] for step in sorted(last)]
    return out


def monitoring_runs(registry: Registry) -> dict[str, str]:
    """The existing monitoring run of each version (version → run id); creates none."""
    found = registry.call(
        "search monitoring runs",
        registry.client.search_runs,
        [registry.experiment_id()],
        f"tags.`{TAGS['role']}` = 'monitoring'",
    )
    return {str(run.data.tags.get(TAGS["version"])): str(run.info.run_id) for run in found}
