"""Which windows the monitor reports, and how it knows a window's report is out of date.

A window's fingerprint covers everything its report is computed from: its rows (count, first
and last prediction time and id, latest ingestion), its labels (count, latest ingestion), the
settings and reference in force, and the detections the streaming detectors place in it.
A stored report whose fingerprint differs is computed again; the others are left alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftpilot.engine.expressions import utc_time
from driftpilot.engine.windows import WINDOW_UNITS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine
    from driftpilot.profile.model import Profile
    from driftpilot.workspace import Workspace

__all__ = ["Window", "detections_digest", "key_of", "settings_hash", "summarize", "window_column"]

UNITS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
DETECTIONS = "|det:"  # separates a fingerprint's data part from its detections part


@dataclass(frozen=True)
class Window:
    value: Any  # the engine's window key (a truncated time, or a row-window index)
    key: str
    start: datetime | None
    end: datetime | None
    rows: int
    labeled: int
    last: datetime  # the latest prediction time in the window
    data: str  # the fingerprint's data part

    def fingerprint(self, detections: dict[str, Any]) -> str:
        return self.data + DETECTIONS + detections_digest(detections)


def window_column(table: ir.Table, unit: str, rows: int) -> Any:
    import ibis

    if unit == "rows":
        order = ibis.row_number().over(order_by=[table.timestamp, table.prediction_id])
        return (order / rows).floor().cast("int64")
    return utc_time(table.timestamp).truncate(WINDOW_UNITS[unit])


def settings_hash(workspace: Workspace, profile: Profile) -> str:
    """The settings a report depends on (not the server's or the log writer's)."""
    config = workspace.config
    parts = [
        getattr(config, section).model_dump_json()
        for section in ("columns", "model", "monitor", "drift", "quality", "profile")
    ]
    text = "\n".join([*parts, profile.created_at.isoformat()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def detections_digest(detections: dict[str, Any]) -> str:
    text = json.dumps(detections, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def summarize(engine: Engine, table: ir.Table, unit: str, version: str) -> list[Window]:
    """Every window in the log, oldest first."""
    summary = table.group_by("window").aggregate(
        rows=table.count(),
        first=table.timestamp.min(),
        last=table.timestamp.max(),
        first_id=table.prediction_id.min(),
        last_id=table.prediction_id.max(),
        seen=table.ingested_at.max(),
        labeled=table.label.count(),
        labels_seen=table.label_ingested_at.max(),
    )
    out = []
    for row in engine.execute(summary).to_pylist():
        value = row["window"]
        if unit == "rows":
            key, start, end = f"rows-{value:09d}", row["first"], row["last"]
        else:
            start = value.replace(tzinfo=UTC)
            key, end = start.strftime("%Y-%m-%dT%H:%M:%SZ"), _end(start, unit)
        data = "|".join(
            str(row[k]) for k in ("rows", "first", "last", "first_id", "last_id", "seen", "labeled")
        )
        data += f"|{row['labels_seen']}|{version}"
        last = row["last"].replace(tzinfo=UTC) if row["last"].tzinfo is None else row["last"]
        out.append(Window(value, key, start, end, row["rows"], row["labeled"], last, data))
    return sorted(out, key=lambda w: w.key)


def _end(start: datetime, unit: str) -> datetime:
    if unit == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start + UNITS[unit]


def _naive(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def key_of(value: Any, windows: dict[Any, Any]) -> Any:
    """The window a query row belongs to (engines return times with or without a zone)."""
    if value in windows:
        return value
    for candidate in windows:
        if _naive(candidate) == _naive(value):
            return candidate
    return value
