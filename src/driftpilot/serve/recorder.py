"""Asynchronous, batched logging of what the server answered.

A prediction is answered first and logged after: rows wait in memory and one worker thread
appends them to the event log every ``serve.log_flush_ms`` (1 s; or once ``log.flush_rows``
wait), one Delta commit per table per flush. A commit costs 13–55 ms here (more as the table's
version grows) and part of it holds the interpreter lock: committing every 50 ms, as
acknowledged ingestion does, gave a p99 of 39.7 ms for single-row predictions at 300
requests/s in benchmarks/serve, once a second 7.1 ms.
Answers are not acknowledged writes: a crash loses at most the last interval's rows.

Three tables: ``predictions`` (what a caller was answered, the monitor's input), ``shadow``
(a challenger's shadow scores, kept apart so they are never monitored as served predictions)
and ``errors`` (failed or timed-out model calls, for the canary's error rates). A failed
write keeps its rows and is retried with backoff; past ``serve.log_buffer_rows`` waiting rows
the oldest are dropped and counted (a log outage must not take the server's memory).
Stopping the server writes everything still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from driftpilot.log.writer import EventLog

__all__ = ["TABLES", "Recorder", "errors_schema"]

log = logging.getLogger("driftpilot.serve")
TABLES = ("predictions", "shadow", "errors")


def errors_schema() -> pa.Schema:
    import pyarrow as pa

    time_type = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("timestamp", time_type),
            ("prediction_id", pa.string()),
            ("entity_id", pa.string()),
            ("model_version", pa.string()),
            ("route", pa.string()),
            ("kind", pa.string()),  # error | timeout
            ("message", pa.string()),
            ("latency_ms", pa.float64()),
            ("ingested_at", time_type),
        ]
    )


class Recorder:
    """Buffers rows per table and writes them from a worker thread."""

    def __init__(
        self,
        event_log: EventLog,
        *,
        flush_rows: int,
        flush_ms: int,
        max_rows: int,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        from driftpilot.log.writer import ingestion_time

        workspace = event_log.workspace
        self._log = event_log
        self._paths = {
            "predictions": workspace.predictions_path,
            "shadow": workspace.shadow_path,
            "errors": workspace.errors_path,
        }
        self._schemas = {
            "predictions": event_log.prediction_schema,
            "shadow": event_log.prediction_schema,
            "errors": errors_schema(),
        }
        self._rows: dict[str, deque[dict[str, Any]]] = {t: deque() for t in TABLES}
        self._flush_rows, self._flush_s, self._max_rows = flush_rows, flush_ms / 1000, max_rows
        self._clock = clock or ingestion_time
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._backing_off = False
        self.written = dict.fromkeys(TABLES, 0)
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def add(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Queue rows for ``table`` (never blocks; called on the event loop only)."""
        queue = self._rows[table]
        queue.extend(rows)
        over = self.pending - self._max_rows
        while over > 0 and queue:
            queue.popleft()
            self.dropped += 1
            over -= 1
        if len(queue) >= self._flush_rows and not self._backing_off:
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="driftpilot-recorder")

    async def stop(self) -> None:
        """Write what waits (trying a few times), then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_s + backoff)
            self._wake.clear()
            ok = await self.flush()
            backoff = 0.0 if ok else min(max(backoff * 2, 0.5), 30.0)
            self._backing_off = backoff > 0
            if self._closing:
                for _ in range(3):
                    if not self.pending or await self.flush():
                        break
                    await asyncio.sleep(0.2)
                if self.pending:
                    log.error(
                        "stopping with %d rows not written: %s", self.pending, self.last_error
                    )
                return

    async def flush(self) -> bool:
        """Write every waiting row (one commit per table, in a worker thread); False when a
        write failed (its rows wait for the next try, oldest first). The queues are only
        touched here, on the event loop, never from the worker."""
        batches = {t: list(q) for t, q in self._rows.items() if q}
        for table in batches:
            self._rows[table].clear()
        failed = await asyncio.to_thread(self._write, batches)
        for table, rows in failed.items():
            self._rows[table].extendleft(reversed(rows))
        return not failed

    def _write(self, batches: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        from driftpilot.log.writer import CommitNotConfirmed

        failed: dict[str, list[dict[str, Any]]] = {}
        for table, rows in batches.items():
            try:
                arrow = self._log.rows_to_table(rows, self._schemas[table], self._clock())
                self._log.append(self._paths[table], arrow)
            except CommitNotConfirmed as exc:  # committed, not synced: never write it twice
                self.written[table] += len(rows)
                log.warning("serving log: %d %s rows not synced to disk: %s", len(rows), table, exc)
            except Exception as exc:  # nothing written: keep the rows for the next try
                failed[table] = rows
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("serving log: %d %s rows not written yet: %s", len(rows), table, exc)
            else:
                self.written[table] += len(rows)
        return failed
