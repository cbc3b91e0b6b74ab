"""What the HTML report and the dashboard show, read from a workspace as plain JSON-ready data.

:func:`build_view` reads the stored window reports, the policy's decisions and incidents, the
canary's steps, the feature-store checks and the registry's versions, and returns one dict:

``meta`` (model, workspace, windows), ``summary`` (verdicts, open incidents, decisions),
``drift`` (per feature: the latest score, its threshold and its history), ``overlays``
(reference vs current counts of the drifted features), ``performance`` (realized and
estimated metrics per window, with the estimate's band), ``segments`` (the newest labeled
window's segments, worst first), ``models`` (versions and the timeline of retrains and canary
steps) and ``features`` (the newest freshness check).

Every part is computed on its own: a part whose source cannot be read carries an ``error``
and the rest of the view is still built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from driftpilot.errors import DriftpilotError
from driftpilot.monitor.report import WindowReport, history, reference_record
from driftpilot.report.models import model_part
from driftpilot.workspace import Workspace

__all__ = ["METRICS", "alert_floor", "build_view"]

METRICS = ("roc_auc", "recall", "accuracy", "precision", "f1")
MAX_OVERLAYS = 6


def build_view(
    workspace: Workspace, *, mlflow_url: str | None = None, last: int | None = None
) -> dict[str, Any]:
    """The report's data (see the module docstring) over every window, or the ``last`` ones;
    ``mlflow_url`` (an ``mlflow ui`` address) turns run ids into links."""
    problem: list[str] = []
    reports = _guard("window reports", lambda: history(workspace), [], problem)
    if last:
        reports = reports[-last:]
    parts: dict[str, Any] = {
        "meta": {**_meta(workspace, reports), "error": problem[0] if problem else None},
        "drift": _guard("drift", lambda: _drift(reports), _EMPTY_DRIFT),
        "overlays": _guard("overlays", lambda: _overlays(reports), []),
        "performance": _guard(
            "performance", lambda: _performance(workspace, reports), _EMPTY_PERFORMANCE
        ),
        "segments": _guard("segments", lambda: _segments(reports), _EMPTY_SEGMENTS),
        "models": _guard("models", lambda: model_part(workspace, mlflow_url), {}),
        "features": _guard("feature store", lambda: _features(workspace), {}),
    }
    parts["summary"] = _guard("summary", lambda: _summary(workspace, reports, parts), {})
    return parts


_EMPTY_DRIFT: dict[str, Any] = {"windows": [], "features": []}
_EMPTY_PERFORMANCE: dict[str, Any] = {"windows": [], "reference": {}}
_EMPTY_SEGMENTS: dict[str, Any] = {
    "window": None, "windows": [], "overall": {}, "overall_history": [], "rows": []
}  # fmt: skip


def _guard(
    what: str, build: Callable[[], Any], empty: Any, problems: list[str] | None = None
) -> Any:
    """A part that cannot be read or built becomes its error, not the whole report's: the
    report is where a user looks when something is broken, so it must still open."""
    try:
        return build()
    except Exception as exc:  # any failure of one part; the others are still shown
        message = (
            f"{what} could not be read: {type(exc).__name__}: {exc}"
            + ("" if isinstance(exc, DriftpilotError) else "; run `driftpilot check` to see "
               "whether the workspace itself is damaged")
        )  # fmt: skip
        if problems is not None:
            problems.append(message)
        if isinstance(empty, dict):
            return {**empty, "error": message}
        return list(empty)


def _key(report: WindowReport) -> str:
    return report.window_key[:16].replace("T00:00", "").rstrip("Z")


def _meta(workspace: Workspace, reports: list[WindowReport]) -> dict[str, Any]:
    return {
        "model": workspace.config.model.name,
        "workspace": str(workspace.root),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "windows": len(reports),
        "first_window": _key(reports[0]) if reports else None,
        "last_window": _key(reports[-1]) if reports else None,
        "window": workspace.config.monitor.window,
    }


def _drift(reports: list[WindowReport]) -> dict[str, Any]:
    if not reports:
        return dict(_EMPTY_DRIFT)
    latest = reports[-1]
    rows = []
    for name, feature in latest.features.items():
        scores = [(r.features[name].score if name in r.features else None) for r in reports]
        rows.append(
            {
                "name": name,
                "type": feature.type,
                "method": feature.method,
                "threshold": feature.threshold,
                "score": feature.score,
                "drift": feature.drift,
                "error": feature.error,
                "history": scores,
                "history_drift": [
                    bool(name in r.features and r.features[name].drift) for r in reports
                ],
                "drifted_windows": sum(
                    1 for r in reports if name in r.features and r.features[name].drift
                ),
                "issues": feature.quality.get("issues", []),
            }
        )
    rows.sort(key=lambda r: (not r["drift"], -_ratio(r), -r["drifted_windows"]))
    return {"windows": [_key(r) for r in reports], "window": _key(latest), "features": rows}


def _ratio(row: dict[str, Any]) -> float:
    score, threshold = row["score"], row["threshold"]
    if score is None or not threshold:
        return 0.0
    return float(score / threshold)


def _overlays(reports: list[WindowReport]) -> list[dict[str, Any]]:
    """Each drifted feature's newest drifted window, newest first (up to ``MAX_OVERLAYS``)."""
    seen: dict[str, dict[str, Any]] = {}
    for report in reversed(reports):
        for name, feature in report.features.items():
            if feature.drift and name not in seen and feature.histogram is not None:
                seen[name] = {
                    "feature": name,
                    "window": _key(report),
                    "method": feature.method,
                    "score": feature.score,
                    "threshold": feature.threshold,
                    "histogram": feature.histogram.model_dump(),
                }
    return list(seen.values())[:MAX_OVERLAYS]


def _performance(workspace: Workspace, reports: list[WindowReport]) -> dict[str, Any]:
    rows = []
    for report in reports:
        realized = report.performance or {}
        estimate = report.estimate or {}
        rows.append(
            {
                "window": _key(report),
                "rows": report.rows,
                "coverage": report.labels.get("coverage", 0),
                "labeled": realized.get("labeled"),
                "realized": {m: realized.get(m) for m in METRICS},
                "estimate": {m: estimate.get(m) for m in METRICS},
                "band": {m: (estimate.get("bands") or {}).get(m) for m in METRICS},
                "alerts": list(estimate.get("alerts", [])),
                "kpis": dict(report.kpis),
                "estimated_kpis": dict(report.estimated_kpis),
                "latency": {k: report.latency.get(k) for k in ("p50", "p99")},
                "prediction_drift": (
                    report.prediction_drift.score if report.prediction_drift else None
                ),
                "versions": sorted(str(v) for v in (report.model.get("versions") or {})),
                "detectors": sorted(n for n, d in report.detectors.items() if d.get("fired")),
            }
        )
    current = _current_reference(workspace)
    # every stored window was judged against one reference: a new one (a promotion)
    # recomputes them all at the next monitor run. Reports stored before windows recorded
    # their reference were judged against the workspace's.
    judged = (reports[-1].reference or current) if reports else current
    return {
        "windows": rows,
        "reference": _reference_metrics(judged),
        "spread": _reference_spread(judged),
        # the workspace's reference, when the stored windows were not judged against it yet
        "reference_pending": (
            _reference_metrics(current)
            if current and judged.get("created_at") != current.get("created_at")
            else None
        ),
    }


def _current_reference(workspace: Workspace) -> dict[str, Any]:
    """The workspace's reference in the form a window report records it."""
    if not workspace.reference_path.is_file():
        return {}
    return reference_record(workspace.reference())


def _reference_metrics(reference: dict[str, Any]) -> dict[str, Any]:
    """The model's performance on ``reference`` (a window report's ``reference``)."""
    return {m: (reference.get("metrics") or {}).get(m) for m in METRICS}


def _reference_spread(reference: dict[str, Any]) -> dict[str, Any]:
    """The spread over the reference's chunks: their size, and each metric's mean and std."""
    chunks = reference.get("chunks") or {}
    return {
        "chunk_rows": reference.get("chunk_rows"),
        **{m: chunks[m] for m in METRICS if m in chunks},
    }


def alert_floor(spread: dict[str, Any], metric: str, labeled: float | None) -> float | None:
    """Where a window of ``labeled`` rows is below its reference beyond sampling noise: the
    reference chunks' mean − 3σ, σ scaled from the chunks' size to the window's (None when
    the reference has no spread of ``metric`` or the window no labels)."""
    chunk, rows = spread.get(metric) or {}, spread.get("chunk_rows")
    if not chunk or not rows or not labeled:
        return None
    return float(chunk["mean"] - 3 * chunk["std"] * math.sqrt(rows / labeled))


def _segments(reports: list[WindowReport]) -> dict[str, Any]:
    """The newest window with labeled segments: each segment's metrics, lowest recall first,
    with its recall in every window (the heatmap and the sparklines)."""

    def by_segment(report: WindowReport) -> dict[str, Any]:
        return dict((report.performance or {}).get("by_segment") or {})

    for report in reversed(reports):
        if not by_segment(report):
            continue
        overall = report.performance or {}
        labeled = [r for r in reports if by_segment(r)]
        rows = [
            {
                "column": column,
                "segment": str(segment),
                "labeled": metrics.get("labeled"),
                **{m: metrics.get(m) for m in METRICS},
                "recall_gap": _gap(metrics.get("recall"), overall.get("recall")),
                "history": [
                    by_segment(r).get(column, {}).get(segment, {}).get("recall") for r in labeled
                ],
            }
            for column, values in by_segment(report).items()
            for segment, metrics in values.items()
        ]
        rows.sort(key=lambda r: (r["recall"] is None, r["recall"] or 0.0))
        return {
            "window": _key(report),
            "windows": [_key(r) for r in labeled],
            "overall": {m: overall.get(m) for m in METRICS},
            "overall_history": [(r.performance or {}).get("recall") for r in labeled],
            "rows": rows,
        }
    return dict(_EMPTY_SEGMENTS)


def _gap(value: float | None, overall: float | None) -> float | None:
    return None if value is None or overall is None else value - overall


def _features(workspace: Workspace) -> dict[str, Any]:
    if not workspace.config.features.enabled:
        return {"enabled": False, "checks": [], "latest": None}
    from driftpilot.features.check import recent_checks

    checks = [c.feature_store for c in recent_checks(workspace) if c.feature_store]
    return {
        "enabled": True,
        "checks": [
            {
                "checked_at": c["checked_at"][:16],
                "stale": len(c.get("stale_views", [])),
                "ages": {
                    name: _hours(v.get("value_age_seconds")) for name, v in c["views"].items()
                },
                "allowed_hours": max(
                    (_hours(v.get("allowed_seconds")) or 0.0 for v in c["views"].values()),
                    default=None,
                ),
            }
            for c in checks
        ],
        "latest": checks[-1] if checks else None,
    }


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _summary(
    workspace: Workspace, reports: list[WindowReport], parts: dict[str, Any]
) -> dict[str, Any]:
    from driftpilot.report.summary import decisions_part, incidents_part, policy_verdict, verdicts

    return {
        "verdicts": [policy_verdict(workspace), *verdicts(reports, parts)],
        "incidents": incidents_part(workspace),
        "decisions": decisions_part(workspace),
    }
