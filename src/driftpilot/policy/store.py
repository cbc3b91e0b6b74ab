"""The workspace's decisions table and the ledger of sent incident messages (Delta tables).

``decisions/`` holds one row per (rule, window), upserted by decision id, so re-running the
policy after late labels replaces a window's decision instead of adding a second one. ``alerts/``
records each incident message (opened, resolved) once it reached a sink, so an incident is
announced once and its resolution once, however often ``check`` runs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from driftpilot.errors import ConfigError
from driftpilot.tables import read_rows, upsert_rows

if TYPE_CHECKING:
    from driftpilot.policy.decide import Decision
    from driftpilot.workspace import Workspace

__all__ = ["decision_rows", "find_decision", "record_sent", "sent_rows", "store_decisions"]


def _time() -> Any:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC")


def store_decisions(workspace: Workspace, decisions: list[Decision], decided_at: datetime) -> None:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("decision_id", pa.string()),
            ("rule", pa.string()),
            ("window_key", pa.string()),
            ("window_start", _time()),
            ("status", pa.string()),
            ("severity", pa.string()),
            ("action", pa.string()),
            ("acted", pa.bool_()),
            ("incident", pa.string()),
            ("decided_at", _time()),
            ("decision", pa.string()),
        ]
    )
    rows = [
        {
            "decision_id": d.id,
            "rule": d.rule,
            "window_key": d.window_key,
            "window_start": d.window_start,
            "status": d.status,
            "severity": d.severity,
            "action": d.action,
            "acted": d.acted,
            "incident": d.incident,
            "decided_at": decided_at,
            "decision": json.dumps({**d.to_dict(), "decided_at": decided_at.isoformat()}),
        }
        for d in decisions
    ]
    upsert_rows(
        str(workspace.decisions_path),
        rows,
        schema,
        "decision_id",
        what="decisions",
        hint="re-run: decisions are recomputed",
    )


def find_decision(workspace: Workspace, decision_id: str) -> dict[str, Any]:
    """A stored decision by id (or by a unique prefix of at least 4 characters)."""
    wanted = decision_id.strip().lower()
    rows = read_rows(str(workspace.decisions_path), ["decision_id", "decision"])
    found = [r for r in rows if r["decision_id"] == wanted] or (
        [r for r in rows if r["decision_id"].startswith(wanted)] if len(wanted) >= 4 else []
    )
    if len(found) != 1:
        what = "matches several decisions" if found else "is not a stored decision"
        raise ConfigError(
            f"decision id {decision_id!r} {what}",
            hint="`driftpilot check` prints the ids; give the whole 12-character id",
        )
    decision: dict[str, Any] = json.loads(found[0]["decision"])
    return decision


def sent_rows(workspace: Workspace) -> list[dict[str, Any]]:
    """Every incident message sent: event, incident, status, rule, window_key, sent_at."""
    columns = ["event", "incident", "status", "rule", "window_key", "sent_at"]
    return read_rows(str(workspace.alerts_path), columns)


def decision_rows(workspace: Workspace, columns: list[str]) -> list[dict[str, Any]]:
    """Stored decisions (the given columns of the decisions table)."""
    return read_rows(str(workspace.decisions_path), columns)


def record_sent(workspace: Workspace, events: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("event", pa.string()),
            ("incident", pa.string()),
            ("status", pa.string()),
            ("rule", pa.string()),
            ("window_key", pa.string()),
            ("sent_at", _time()),
            ("deliveries", pa.string()),
        ]
    )
    upsert_rows(
        str(workspace.alerts_path),
        events,
        schema,
        "event",
        what="the alert ledger",
        hint="the messages were sent; the next cycle may send them again",
    )
