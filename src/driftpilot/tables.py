"""The workspace's small Delta tables (reports, decisions, alert ledger): upsert by key, read.

One writer does it for all of them: the first batch creates the table, later batches merge on
the key (a row with the same key replaces the stored one), so re-running a job replaces its
rows instead of adding a second copy.
"""

from __future__ import annotations

from typing import Any

from driftpilot.errors import EngineError

__all__ = ["read_rows", "upsert_rows"]


def upsert_rows(
    path: str, rows: list[dict[str, Any]], schema: Any, key: str, *, what: str, hint: str
) -> None:
    """Write ``rows`` (pyarrow ``schema``) to the Delta table at ``path``, replacing rows with
    the same ``key``; a failure is an :class:`EngineError` naming ``what`` was being stored."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    if not rows:
        return
    batch = pa.Table.from_pylist(rows, schema=schema)
    try:
        if not DeltaTable.is_deltatable(path):
            write_deltalake(path, batch, mode="append")
            return
        (
            DeltaTable(path)
            .merge(batch, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
    except Exception as exc:
        raise EngineError(f"could not store {what} at {path!r}: {exc}", hint=hint) from exc


def read_rows(path: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The table's rows as dicts (none when the table does not exist yet)."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(path):
        return []
    rows: list[dict[str, Any]] = DeltaTable(path).to_pyarrow_table(columns=columns).to_pylist()
    return rows
