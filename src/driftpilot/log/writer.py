"""Appending to the event log: one Delta commit per call, durable when the call returns.

Delta Lake commits are atomic: a writer killed mid-write leaves files no commit refers to
(vacuum removes them) and never a half-visible batch. After each commit the new data files and
the commit file are fsynced, so an acknowledged write survives a crash of the machine too.
Several processes may append to the same tables at once.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from driftpilot.errors import EngineError, SchemaError
from driftpilot.log.frames import label_frame, prediction_frame
from driftpilot.log.records import label_records, prediction_records
from driftpilot.log.schema import label_schema, model_features, prediction_schema
from driftpilot.schema import FeatureType
from driftpilot.workspace import Workspace

__all__ = ["CommitNotConfirmed", "EventLog", "ingestion_time", "log_labels", "log_predictions"]


class CommitNotConfirmed(EngineError):
    """The rows were committed but could not be fsynced: they are in the log, but a crash of
    the machine (not of the process) before the disk caught up could still lose them."""


_clock_lock = threading.Lock()
_last_stamp = [datetime.min.replace(tzinfo=UTC)]


def ingestion_time() -> datetime:
    """Now, strictly after every earlier stamp of this process: the order of two requests
    (a label and its correction) is never a tie, even when one commit holds both."""
    with _clock_lock:
        now = datetime.now(UTC)
        if now <= _last_stamp[0]:
            now = _last_stamp[0] + timedelta(microseconds=1)
        _last_stamp[0] = now
        return now


class EventLog:
    """The prediction and label tables of one workspace.

    Tables stay open between commits (reloading a table's state each time would cost more
    than the commit), so one EventLog must not append from two threads at once; any number
    of EventLogs, in any number of processes, may append to the same tables.
    """

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
        now = now or ingestion_time()
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            rows = prediction_records(data, self.features, self.model, now=now)
            return self.rows_to_table(rows, self.prediction_schema, now)
        frame = prediction_frame(data, self.features, self.model, now=now)
        return _with_ingested(frame, self.prediction_schema, now)

    def label_table(self, data: Any, *, now: datetime | None = None) -> pa.Table:
        now = now or ingestion_time()
        if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            rows = label_records(data, self.model, now=now)
            return self.rows_to_table(rows, self.label_schema, now)
        return _with_ingested(label_frame(data, self.model, now=now), self.label_schema, now)

    @staticmethod
    def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema, now: datetime) -> pa.Table:
        """Rows as an Arrow table; a row keeps the ``ingested_at`` it was accepted at."""
        for row in rows:
            row.setdefault("ingested_at", now)
        return pa.Table.from_pylist(rows, schema=schema)

    # appending ------------------------------------------------------------------------------
    def append_predictions(self, table: pa.Table) -> int:
        return self.append(self.workspace.predictions_path, table)

    def append_labels(self, table: pa.Table) -> int:
        return self.append(self.workspace.labels_path, table)

    def append(self, path: Path, table: pa.Table) -> int:
        """Append ``table`` to the Delta table at ``path`` (created by the first append)."""
        from deltalake import DeltaTable

        handle = self._tables.get(path)
        if handle is None and DeltaTable.is_deltatable(str(path)):
            handle = self._tables[path] = DeltaTable(str(path))
            _check_schema(handle, table.schema, path)
        rows = _append(path, table, handle)
        if handle is None:
            self._tables[path] = DeltaTable(str(path))
        return rows


def _check_schema(handle: Any, schema: pa.Schema, path: Path) -> None:
    """Refuse rows whose columns changed type since the log was started."""
    import pyarrow as pa

    stored = pa.schema(handle.schema().to_arrow())
    for field in schema:
        if field.name in stored.names:
            old = stored.field(field.name).type
            if old != field.type and not (
                pa.types.is_string(old) and pa.types.is_string(field.type)
            ):
                raise SchemaError(
                    f"column {field.name!r} holds {old} in the log at {str(path)!r} but the "
                    f"model now gives it as {field.type}",
                    hint="keep the feature's type, give the changed feature a new name (e.g. "
                    f"{field.name}_v2), or start a new workspace for the new model",
                )


def _with_ingested(table: pa.Table, schema: pa.Schema, now: datetime) -> pa.Table:
    stamp = pa.array([now] * table.num_rows, pa.timestamp("us", tz="UTC"))
    return table.append_column("ingested_at", stamp).select(schema.names).cast(schema)


def _append(path: Path, table: pa.Table, handle: Any = None) -> int:
    """Append ``table`` in one commit (to ``handle``, an open DeltaTable, when given), then
    fsync every commit since the table version seen before writing (ours among them)."""
    from deltalake import DeltaTable, write_deltalake

    path.mkdir(parents=True, exist_ok=True)
    before = handle.version() if handle is not None else -1
    for attempt in range(3):
        try:
            write_deltalake(
                handle if handle is not None else str(path),
                table,
                mode="append",
                schema_mode="merge",
            )
            break
        except Exception as exc:  # a concurrent first commit, or a real failure
            if attempt == 2 or not DeltaTable.is_deltatable(str(path)):
                raise EngineError(
                    f"could not append to the log at {str(path)!r}: {exc}",
                    hint="nothing of this batch was written; retrying is safe",
                ) from exc
            if handle is not None:
                handle.update_incremental()
    try:
        after = handle.version() if handle is not None else DeltaTable(str(path)).version()
        for version in range(max(before, -1) + 1, after + 1):
            _sync(path, version)
    except OSError as exc:
        raise CommitNotConfirmed(
            f"the batch was committed to {str(path)!r} but could not be synced to disk: {exc}",
            hint="do not re-send it with new ids: it is in the log",
        ) from exc
    return int(table.num_rows)


def _sync(path: Path, version: int) -> None:
    """fsync a commit file, the data files it adds, and their folders.

    (The commit becomes visible before this runs: a process crash loses nothing acknowledged;
    a power cut in the milliseconds between commit and fsync could, as with any database that
    syncs after writing.)"""
    commit = path / "_delta_log" / f"{version:020d}.json"
    if not commit.exists():  # already folded into a checkpoint and cleaned up
        return
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
