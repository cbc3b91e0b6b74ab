"""Prometheus exposition of the latest window's values and the policy's rule states.

Served on the app's ``/metrics`` and written as a node_exporter textfile (``schedule.textfile``)
by ``driftpilot check`` and ``driftpilot run``. Values come from the stored latest report and
decisions, so scraping costs two small table reads and never recomputes anything.

==========================================  ====================================================
``driftpilot_window_rows``                  rows in the latest window
``driftpilot_window_end_timestamp_seconds`` its end
``driftpilot_label_coverage``               share of its rows with a label
``driftpilot_feature_drift{feature}``       1 when the feature's drift verdict is positive
``driftpilot_feature_statistic{feature,statistic}``  every drift statistic (also prediction, label)
``driftpilot_drift_share``                  share of features drifted
``driftpilot_quality_issues``               features with a data-quality issue
``driftpilot_performance{metric}``          realized performance (``segment`` label per segment)
``driftpilot_estimated_performance{metric}``  the label-free estimate
``driftpilot_kpi{kpi}`` ``driftpilot_estimated_kpi{kpi}``  business KPIs
``driftpilot_latency_ms{quantile}``         serving latency
``driftpilot_detector_fired{detector}``     streaming detectors
``driftpilot_feature_view_stale{view,version}``  1 when the latest feature check found the view
                                            not fresh
``driftpilot_feature_value_age_seconds{view}``  age of the newest online value
``driftpilot_feature_materialization_age_seconds{view}``  time since the last materialization
``driftpilot_feature_allowed_staleness_seconds{view}``  the allowance both are judged against
``driftpilot_feature_skew{feature,view}``   online/offline mismatch rate
``driftpilot_rule_active{rule,severity}``   1 while the rule's incident is open (or cooling down)
``driftpilot_rule_held{rule}``              1 when the rule's condition held on the window
``driftpilot_policy_level``                 0 ok, 1 warn, 2 alert
==========================================  ====================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport
    from driftpilot.workspace import Workspace

__all__ = ["CONTENT_TYPE", "exposition", "latest_state", "write_textfile"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

PERFORMANCE = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier",
               "mae", "rmse", "mape", "r2")  # fmt: skip
LEVELS = {"ok": 0, "warn": 1, "alert": 2}


def latest_state(
    workspace: Workspace,
) -> tuple[WindowReport | None, list[dict[str, Any]], WindowReport | None]:
    """The latest window's report, the stored decisions about it and about the latest
    feature-store check, and that check."""
    from driftpilot.features.check import recent_checks
    from driftpilot.monitor.report import history
    from driftpilot.policy.decide import effective_rules
    from driftpilot.policy.store import decision_rows

    reports = history(workspace)
    checks = recent_checks(workspace, 1) if workspace.config.features.enabled else []
    check = checks[-1] if checks else None
    rows = decision_rows(workspace, ["window_key", "decision"])
    if not rows:
        return (reports[-1] if reports else None), [], check
    decided = {r["window_key"] for r in rows}
    judged = [r for r in reports if r.window_key in decided]
    report = judged[-1] if judged else (reports[-1] if reports else None)
    keys = {r.window_key for r in (report, check) if r is not None}
    current = set(effective_rules(workspace.config))  # rules since removed are not exported
    decisions = [
        d
        for d in (json.loads(r["decision"]) for r in rows if r["window_key"] in keys)
        if d["rule"] in current
    ]
    return report, sorted(decisions, key=lambda d: d["rule"]), check


class _Collector:
    def __init__(
        self,
        report: WindowReport | None,
        decisions: list[dict[str, Any]],
        check: WindowReport | None = None,
    ) -> None:
        self.report, self.decisions, self.check = report, decisions, check

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily as Gauge

        report = self.report
        if report is not None:
            yield _gauge("window_rows", "Rows in the latest window", report.rows)
            if report.window_end is not None:
                yield _gauge(
                    "window_end_timestamp_seconds", "End of the latest window",
                    report.window_end.timestamp(),
                )  # fmt: skip
            yield _gauge("label_coverage", "Share of rows labeled", report.labels.get("coverage"))
            yield _gauge("drift_share", "Share of features drifted", report.dataset.drift_share)
            yield _gauge(
                "quality_issues", "Features with quality issues", len(report.dataset.quality_issues)
            )
            drifted = Gauge(
                "driftpilot_feature_drift", "Drift verdict per feature", labels=["feature"]
            )
            stats = Gauge(
                "driftpilot_feature_statistic", "Drift statistics", labels=["feature", "statistic"]
            )
            outputs = {"prediction": report.prediction_drift, "label": report.label_drift}
            for name, drift in [*sorted(report.features.items()), *outputs.items()]:
                if drift is None:
                    continue
                drifted.add_metric([name], 1.0 if drift.drift else 0.0)
                for stat, value in sorted(drift.statistics.items()):
                    stats.add_metric([name, stat], float(value))
            yield drifted
            yield stats
            yield _performance(report)
            estimated = Gauge(
                "driftpilot_estimated_performance",
                "Estimated performance (CBPE)",
                labels=["metric"],
            )
            for metric in PERFORMANCE:
                found = (report.estimate or {}).get(metric)
                if isinstance(found, (int, float)):
                    estimated.add_metric([metric], float(found))
            yield estimated
            for name, values in (("kpi", report.kpis), ("estimated_kpi", report.estimated_kpis)):
                kpi = Gauge(f"driftpilot_{name}", f"Business KPIs ({name})", labels=["kpi"])
                for key, number in sorted(values.items()):
                    if number is not None:
                        kpi.add_metric([key], float(number))
                yield kpi
            latency = Gauge("driftpilot_latency_ms", "Serving latency", labels=["quantile"])
            for key, quantile in (("p50", "0.5"), ("p99", "0.99")):
                measured = report.latency.get(key)
                if measured is not None:
                    latency.add_metric([quantile], float(measured))
            yield latency
            fired = Gauge("driftpilot_detector_fired", "Streaming detectors", labels=["detector"])
            for name, found in sorted(report.detectors.items()):
                fired.add_metric([name], 1.0 if found.get("fired") else 0.0)
            yield fired
        if self.check is not None and self.check.feature_store is not None:
            yield from _feature_store(self.check.feature_store)
        active = Gauge("driftpilot_rule_active", "Rule incident open", labels=["rule", "severity"])
        held = Gauge("driftpilot_rule_held", "Rule condition held", labels=["rule"])
        level = "ok"
        for decision in self.decisions:
            is_active = decision["status"] in ("firing", "cooldown")
            active.add_metric([decision["rule"], decision["severity"]], 1.0 if is_active else 0.0)
            held.add_metric([decision["rule"]], 1.0 if decision["held"] else 0.0)
            if is_active and LEVELS[decision["severity"]] > LEVELS[level]:
                level = decision["severity"]
        yield active
        yield held
        yield _gauge("policy_level", "0 ok, 1 warn, 2 alert", LEVELS[level])


def _feature_store(check: dict[str, Any]) -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily as Gauge

    views = check.get("views") or {}
    stale = Gauge(
        "driftpilot_feature_view_stale", "Feature view not fresh", labels=["view", "version"]
    )
    ages = {
        key: Gauge(f"driftpilot_feature_{key}_seconds", text, labels=["view"])
        for key, text in (
            ("value_age", "Age of the newest online value"),
            ("materialization_age", "Time since the last materialization"),
            ("allowed_staleness", "Allowed age of values and materializations"),
        )
    }
    for name, health in sorted(views.items()):
        stale.add_metric([name, health["version"]], 0.0 if health["status"] == "fresh" else 1.0)
        for key, gauge in ages.items():
            field = "allowed_seconds" if key == "allowed_staleness" else f"{key}_seconds"
            if health.get(field) is not None:
                gauge.add_metric([name], float(health[field]))
    yield stale
    yield from ages.values()
    skew = Gauge(
        "driftpilot_feature_skew", "Online/offline mismatch rate", labels=["feature", "view"]
    )
    for feature, found in sorted((check.get("skew") or {}).items()):
        skew.add_metric([feature, found["view"]], float(found["rate"]))
    yield skew


def _gauge(name: str, help_text: str, value: Any) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    gauge = GaugeMetricFamily(f"driftpilot_{name}", help_text)
    if isinstance(value, (int, float)):
        gauge.add_metric([], float(value))
    return gauge


def _performance(report: WindowReport) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    gauge = GaugeMetricFamily(
        "driftpilot_performance", "Realized performance", labels=["metric", "segment"]
    )
    performance = report.performance or {}
    for metric in PERFORMANCE:
        value = performance.get(metric)
        if isinstance(value, (int, float)):
            gauge.add_metric([metric, ""], float(value))
    for column, values in sorted((performance.get("by_segment") or {}).items()):
        for segment, metrics in sorted(values.items()):
            for metric in PERFORMANCE:
                value = metrics.get(metric)
                if isinstance(value, (int, float)):
                    gauge.add_metric([metric, f"{column}={segment}"], float(value))
    return gauge


def _registry(workspace: Workspace) -> Any:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(*latest_state(workspace)))
    return registry


def exposition(workspace: Workspace) -> bytes:
    """The text exposition format of the latest window and rule states."""
    from prometheus_client import generate_latest

    data: bytes = generate_latest(_registry(workspace))
    return data


def write_textfile(workspace: Workspace, path: str | Path) -> Path:
    """Write the exposition for node_exporter's textfile collector (atomically)."""
    from prometheus_client import write_to_textfile

    target = Path(path)
    if not target.is_absolute():
        target = workspace.root / target
    target.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(target), _registry(workspace))
    return target
