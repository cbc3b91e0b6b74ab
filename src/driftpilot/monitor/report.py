"""The window report and the workspace's table of them.

A :class:`WindowReport` extends the ``driftpilot drift`` report (``dataset``, ``features``,
``window``) with the model's side of the window: rows and label coverage, prediction and label
drift, realized performance (overall, per model version, per segment), the label-free
estimate, business KPIs, streaming-detector detections, serving latency, and the reference it
was judged against (:func:`reference_record`). Reports live in a
Delta table keyed by window, upserted, so re-running the monitor replaces a window's report
instead of adding a second one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from driftpilot.drift.report import DriftReport, FeatureDrift
from driftpilot.tables import upsert_rows
from driftpilot.workspace import Workspace

if TYPE_CHECKING:
    from driftpilot.profile.model import Profile

__all__ = [
    "WindowReport",
    "history",
    "reference_record",
    "stored_detectors",
    "stored_fingerprints",
    "upsert",
]


class WindowReport(DriftReport):
    window_key: str
    window_end: datetime | None = None
    rows: int
    model: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] = Field(default_factory=dict)
    prediction_drift: FeatureDrift | None = None
    label_drift: FeatureDrift | None = None
    performance: dict[str, Any] | None = None
    estimate: dict[str, Any] | None = None
    kpis: dict[str, float | None] = Field(default_factory=dict)
    estimated_kpis: dict[str, float | None] = Field(default_factory=dict)
    detectors: dict[str, Any] = Field(default_factory=dict)
    latency: dict[str, float | None] = Field(default_factory=dict)
    feature_store: dict[str, Any] | None = None  # a feature-store check (window features@…)
    # the reference the window was judged against: its profile's creation time and source,
    # the model's performance on it and that performance's spread over chunks
    reference: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str
    computed_at: datetime


def reference_record(profile: Profile) -> dict[str, Any]:
    """What a window report records of the reference it was judged against."""
    found: dict[str, Any] = {"created_at": profile.created_at.isoformat(), "source": profile.source}
    performance = profile.performance
    if performance is not None:
        found["metrics"] = dict(performance.metrics)
        found["chunks"] = {m: c.model_dump() for m, c in performance.chunks.items()}
        found["chunk_rows"] = performance.chunk_rows
    return found


def _schema() -> Any:
    import pyarrow as pa

    time = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("window_key", pa.string()),
            ("window_start", time),
            ("window_end", time),
            ("fingerprint", pa.string()),
            ("computed_at", time),
            ("rows", pa.int64()),
            ("labeled", pa.int64()),
            ("report", pa.string()),
        ]
    )


def upsert(workspace: Workspace, reports: list[WindowReport]) -> None:
    """Write reports, replacing any earlier report of the same window."""
    rows = [
        {
            "window_key": r.window_key,
            "window_start": r.window,
            "window_end": r.window_end,
            "fingerprint": r.fingerprint,
            "computed_at": r.computed_at,
            "rows": r.rows,
            "labeled": int(r.labels.get("labeled", 0)),
            "report": r.model_dump_json(),
        }
        for r in reports
    ]
    upsert_rows(
        str(workspace.reports_path),
        rows,
        _schema(),
        "window_key",
        what="window reports",
        hint="re-run the monitor: it recomputes what was not stored",
    )


def _read(
    workspace: Workspace, columns: list[str], keys: list[str] | None = None
) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    path = str(workspace.reports_path)
    if not DeltaTable.is_deltatable(path):
        return []
    table = DeltaTable(path).to_pyarrow_table(columns=columns)
    if keys is not None:  # (filtering in the scan trips over string views)
        table = table.filter(pc.is_in(table.column("window_key"), pa.array(keys, pa.string())))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def stored_detectors(workspace: Workspace, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The detector fields of the stored reports of windows ``keys``."""
    if not keys:
        return {}
    return {
        row["window_key"]: json.loads(row["report"]).get("detectors", {})
        for row in _read(workspace, ["window_key", "report"], keys)
    }


def stored_fingerprints(workspace: Workspace) -> dict[str, str]:
    return {
        row["window_key"]: row["fingerprint"]
        for row in _read(workspace, ["window_key", "fingerprint"])
    }


def history(workspace: Workspace) -> list[WindowReport]:
    """Every stored window report, oldest window first."""
    rows = _read(workspace, ["window_start", "report"])
    rows.sort(key=lambda r: (r["window_start"] is None, r["window_start"]))
    return [WindowReport.model_validate(json.loads(row["report"])) for row in rows]
