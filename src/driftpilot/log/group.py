"""Group commit: many small writes share one Delta commit, each acknowledged once committed.

Callers ``await submit(rows)``; rows wait until ``max_rows`` are pending or the oldest has
waited ``max_ms``, then one commit writes them all (in a worker thread) and every caller of
that group returns, or every one gets the commit's error. Nothing is acknowledged before it is
committed, so a crash loses only requests that were never answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

__all__ = ["GroupCommitter"]


class GroupCommitter:
    def __init__(
        self, commit: Callable[[list[dict[str, Any]]], None], *, max_rows: int, max_ms: int
    ) -> None:
        self._commit = commit
        self._max_rows = max_rows
        self._max_wait = max_ms / 1000
        self._rows: list[dict[str, Any]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._oldest = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.commits = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="driftpilot-group-commit")

    async def stop(self) -> None:
        """Commit what is pending, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def submit(self, rows: list[dict[str, Any]]) -> None:
        if self._task is None or self._closing:
            raise RuntimeError("the log writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self._rows:
            self._oldest = time.monotonic()
        self._rows.extend(rows)
        self._waiters.append(future)
        if len(self._rows) >= self._max_rows or len(self._waiters) == 1:
            self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._rows and not self._closing and len(self._rows) < self._max_rows:
                remaining = self._max_wait - (time.monotonic() - self._oldest)
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                    self._wake.clear()
                except TimeoutError:
                    break
            if self._rows:
                rows, waiters = self._rows, self._waiters
                self._rows, self._waiters = [], []
                try:
                    await asyncio.to_thread(self._commit, rows)
                except Exception as exc:  # every caller of this group learns of the failure
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                else:
                    self.commits += 1
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(None)
            if self._closing and not self._rows:
                return
