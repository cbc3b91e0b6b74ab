"""The serving log's writer: a failed write keeps its rows and is retried; a committed but
unsynced batch is never written twice; past the buffer the oldest rows are dropped, counted."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from driftpilot.log.writer import CommitNotConfirmed
from driftpilot.serve.recorder import Recorder


class FlakyLog:
    """Fails the first ``failures`` appends, then raises CommitNotConfirmed ``unsynced`` times
    (the batch is in the table), then works."""

    def __init__(self, failures: int = 0, unsynced: int = 0) -> None:
        root = Path("/nowhere")
        self.workspace = SimpleNamespace(
            predictions_path=root / "p", shadow_path=root / "s", errors_path=root / "e"
        )
        self.prediction_schema = None
        self.failures, self.unsynced = failures, unsynced
        self.tables: dict[Path, list[dict[str, Any]]] = {}

    @staticmethod
    def rows_to_table(rows: list[dict[str, Any]], schema: Any, now: Any) -> list[dict[str, Any]]:
        return list(rows)

    def append(self, path: Path, rows: list[dict[str, Any]]) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.tables.setdefault(path, []).extend(rows)
        if self.unsynced:
            self.unsynced -= 1
            raise CommitNotConfirmed("not synced")
        return len(rows)


def run(log: FlakyLog, batches: list[list[dict[str, Any]]], *, max_rows: int = 1000) -> Recorder:
    recorder = Recorder(log, flush_rows=10_000, flush_ms=5, max_rows=max_rows)  # type: ignore[arg-type]

    async def main() -> None:
        await recorder.start()
        for rows in batches:
            recorder.add("predictions", rows)
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.5)  # long enough for a retry after the first backoff (0.5 s)
        await recorder.stop()

    asyncio.run(main())
    return recorder


def test_a_failed_write_is_retried_in_order() -> None:
    log = FlakyLog(failures=2)
    recorder = run(log, [[{"i": i}] for i in range(5)])
    assert [r["i"] for r in log.tables[Path("/nowhere/p")]] == [0, 1, 2, 3, 4]
    assert recorder.failures == 2
    assert recorder.pending == 0
    assert recorder.written["predictions"] == 5


def test_a_committed_batch_is_not_written_twice() -> None:
    log = FlakyLog(unsynced=1)
    recorder = run(log, [[{"i": 0}, {"i": 1}]])
    assert [r["i"] for r in log.tables[Path("/nowhere/p")]] == [0, 1]
    assert recorder.written["predictions"] == 2


def test_past_the_buffer_the_oldest_rows_are_dropped_and_counted() -> None:
    log = FlakyLog(failures=1000)  # the log stays down
    recorder = run(log, [[{"i": i} for i in range(600)], [{"i": i} for i in range(600, 1200)]])
    assert recorder.dropped == 200
    assert recorder.pending == 1000
