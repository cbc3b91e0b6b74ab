"""Appending to the event log: one Delta commit per call, durable when the call returns.

Delta Lake commits are atomic: a writer killed mid-write leaves files no commit refers to
(vacuum removes them) and never a half-visible batch. After each commit the new data files and
the commit file are fsynced, so an acknowledged write survives a crash of the machine too.
Several processes may append to the same tables at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from driftpilot.errors import EngineError
from driftpilot.log.frames import label_frame, prediction_frame
from driftpilot.log.records import label_records, prediction_records
from driftpilot.log.schema import label_schema, model_features, prediction_schema
from driftpilot.schema import FeatureType
from driftpilot.workspace import Workspace

__all__ = ["EventLog", "log_labels", "log_predictions"]


class EventLog:
    """The prediction and label tables of one workspace."""

    def __init__(
        self, workspace: Workspace, features: Mapping[str, FeatureType] | None = None
    ) -> None:
        self.workspace = workspace
        self.model = workspace.config.model
        self.features = dict(features) if features is not None else model_features(workspace)
        self.prediction_schema = prediction_schema(self.features)
        self.label_schema = label_schema()
        self._tables: dict[Path, Any] = {}

    # validation -----------------------------------------------------------------------------
    def prediction_table(self, data: Any, *, now: datetime | None = None) -> pa.Table:
        """Validate predictions (records or a frame) into an Arrow table ready to append."""
        now = now or datetime.now(UTC)
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            rows = prediction_records(data, self.features, self.model, now=now)
            return self.rows_to_table(rows, self.prediction_schema, now)
        frame = prediction_frame(data, self.features, self.model, now=now)
        return _with_ingested(frame, self.prediction_schema, now)

    def label_table(self, data: Any, *, now: datetime | None = None) -> pa.Table:
        now = now or datetime.now(UTC)
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            rows = label_records(data, self.model, now=now)
            return self.rows_to_table(rows, self.label_schema, now)
        return _with_ingested(label_frame(data, self.model, now=now), self.label_schema, now)

    @staticmethod
    def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema, now: datetime) -> pa.Table:
        for row in rows:
            row["ingested_at"] = now
        return pa.Table.from_pylist(rows, schema=schema)

    # appending ------------------------------------------------------------------------------
    def append_predictions(self, table: pa.Table) -> int:
        return self._append(self.workspace.predictions_path, table)

    def append_labels(self, table: pa.Table) -> int:
        return self._append(self.workspace.labels_path, table)

    def _append(self, path: Path, table: pa.Table) -> int:
        """One commit. The table stays open between commits (reloading its state each time
        would cost more than the commit), so one EventLog must not be used from two threads."""
        from deltalake import DeltaTable

        handle = self._tables.get(path)
        rows = _append(path, table, handle)
        if handle is None and DeltaTable.is_deltatable(str(path)):
            self._tables[path] = DeltaTable(str(path))
        return rows


def _with_ingested(table: pa.Table, schema: pa.Schema, now: datetime) -> pa.Table:
    stamp = pa.array([now] * table.num_rows, pa.timestamp("us", tz="UTC"))
    return table.append_column("ingested_at", stamp).select(schema.names).cast(schema)


def _append(path: Path, table: pa.Table, handle: Any = None) -> int:
    """Append ``table`` in one commit (to ``handle``, an open DeltaTable, when given)."""
    from deltalake import DeltaTable, write_deltalake

    path.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            target = handle if handle is not None else str(path)
            write_deltalake(target, table, mode="append", schema_mode="merge")
            break
        except Exception as exc:  # a concurrent first commit, or a real failure
            if attempt == 2 or not DeltaTable.is_deltatable(str(path)):
                raise EngineError(f"could not append to the log at {str(path)!r}: {exc}") from exc
            if handle is not None:
                handle.update_incremental()
    version = handle.version() if handle is not None else DeltaTable(str(path)).version()
    _sync(path, version)
    return int(table.num_rows)


def _sync(path: Path, version: int) -> None:
    """fsync the commit file, the data files it adds, and their folders."""
    commit = path / "_delta_log" / f"{version:020d}.json"
    targets = {commit, commit.parent, path}
    for line in commit.read_text(encoding="utf-8").splitlines():
        action = json.loads(line)
        if "add" in action:
            data = path / action["add"]["path"]
            targets.update({data, data.parent})
    for target in targets:
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _open(workspace: Workspace | str | Path | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)


def log_predictions(data: Any, *, workspace: Workspace | str | Path | None = None) -> int:
    """Validate and append predictions; returns the rows written (durably) once committed.

    ``data`` is a pandas DataFrame or Arrow table with the features as columns, or a list of
    records (``{"prediction_id": …, "features": {…}, "score": …}``). A batch with any invalid
    row is refused whole with every problem listed (``ValidationFailed``).
    Re-sending a prediction id is harmless: reads keep its first version.
    """
    log = EventLog(_open(workspace))
    return log.append_predictions(log.prediction_table(data))


def log_labels(data: Any, *, workspace: Workspace | str | Path | None = None) -> int:
    """Validate and append labels (by prediction id, or entity id + prediction timestamp).

    Labels for predictions not yet logged are kept and join when the predictions arrive; a
    re-sent label replaces the earlier one for the same prediction.
    """
    log = EventLog(_open(workspace), features={})
    return log.append_labels(log.label_table(data))
