"""The models a server answers with, kept in step with the registry.

A :class:`Served` snapshot holds the champion, the challenger (when a canary routes to it)
and the canary's state. :meth:`ModelSet.refresh` reads aliases and the canary tag in one
registry call; a version not loaded yet is loaded (and typed for the fast path) before the
snapshot changes, and the new snapshot replaces the old one in a single assignment, so a
request in flight finishes with the models it started with and none is dropped when an alias
moves. A challenger that fails to load is left out (the champion answers its share); a
champion that fails to load keeps the one already serving; a server that never loaded one is
not ready (``/readyz`` answers 503 and says why).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from driftpilot.canary.state import CanaryState
from driftpilot.serve.scoring import Scorer

if TYPE_CHECKING:
    from driftpilot.registry.client import LoadedModel
    from driftpilot.workspace import Workspace

__all__ = ["ModelSet", "Served"]

log = logging.getLogger("driftpilot.serve")
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Served:
    champion: Scorer | None = None
    challenger: Scorer | None = None
    canary: CanaryState | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        return self.champion is not None


class ModelSet:
    """Loads and swaps the served versions. ``read_state`` gives (aliases, tags) of the
    registered model and ``load`` a version; both default to the workspace's registry."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        read_state: Callable[[], tuple[dict[str, str], dict[str, str]]] | None = None,
        load: Callable[[str], LoadedModel] | None = None,
    ) -> None:
        self._stamp: Callable[[], object] | None = None
        if read_state is None or load is None:
            from driftpilot.registry.client import Registry

            if workspace is None:
                raise ValueError("give a workspace, or both read_state and load")
            registry = Registry(workspace)
            read_state = read_state or registry.model_state
            load = load or registry.load
            self._stamp = _sqlite_stamp(registry.uri)
        self._read_state, self._load = read_state, load
        self._seen: object = None
        self._cache: dict[str, Scorer] = {}
        self._failed: dict[str, tuple[float, str]] = {}  # version: (when, why)
        self._lock = threading.Lock()  # one refresh at a time
        self.current = Served(problems=("no model loaded yet",))
        self.swaps = 0

    def _scorer(self, version: str) -> Scorer:
        """The version's scorer; a version that failed to load is tried again after
        ``RETRY_SECONDS`` (loading is slow, and the refresh runs every few seconds)."""
        found = self._cache.get(version)
        if found is not None:
            return found
        failed = self._failed.get(version)
        if failed is not None and time.monotonic() - failed[0] < RETRY_SECONDS:
            raise RuntimeError(failed[1])
        try:
            found = self._cache[version] = Scorer(self._load(version))
        except Exception as exc:
            self._failed[version] = (time.monotonic(), str(exc))
            raise
        self._failed.pop(version, None)
        return found

    def refresh(self) -> Served:
        """Read the registry and swap in what it says now (never raises)."""
        with self._lock:
            stamp = self._stamp() if self._stamp is not None else None
            if stamp is not None and stamp == self._seen and self.current.ready:
                return self.current  # the registry's database has not changed since
            try:
                aliases, tags = self._read_state()
            except Exception as exc:  # the registry is down: keep serving what is loaded
                return self._keep(f"the registry could not be read: {exc}")
            problems: list[str] = []
            champion = self.current.champion
            wanted = aliases.get("champion")
            if wanted is None:
                problems.append("the registered model has no 'champion' alias")
            elif champion is None or champion.version != wanted:
                try:
                    champion = self._scorer(wanted)
                except Exception as exc:  # keep the champion already serving
                    problems.append(f"champion version {wanted} did not load: {exc}")
            canary = CanaryState.from_tags(tags)
            challenger = None
            version = aliases.get("challenger")
            if canary is not None and (version is None or canary.version != version):
                canary = None  # a state left over from another challenger routes nothing
            if canary is not None and canary.live and version is not None:
                try:
                    challenger = self._scorer(version)
                except Exception as exc:  # the champion answers the challenger's share
                    problems.append(f"challenger version {version} did not load: {exc}")
                    canary = None
            if champion is not None and canary is not None and canary.champion != champion.version:
                canary = None  # the canary was against another champion
            served = Served(champion, challenger, canary, tuple(problems))
            keep = {s.version for s in (champion, challenger) if s is not None}
            self._cache = {v: s for v, s in self._cache.items() if v in keep}
            if _versions(served) != _versions(self.current) or served.canary != self.current.canary:
                self.swaps += 1
                log.info(
                    "serving champion %s, challenger %s (canary %s)",
                    champion.version if champion else None,
                    challenger.version if challenger else None,
                    canary.stage_name if canary else "none",
                )
            for problem in problems:
                if problem not in self.current.problems:
                    log.warning("%s", problem)
            self.current = served
            self._seen = stamp if not problems else None
            return served

    def _keep(self, problem: str) -> Served:
        if problem not in self.current.problems:
            log.warning("%s", problem)
        current = self.current
        self.current = Served(current.champion, current.challenger, current.canary, (problem,))
        return self.current


def _sqlite_stamp(uri: str) -> Callable[[], object] | None:
    """For a local SQLite registry, a cheap stamp of its files (size and modification time,
    and a 30-second tick): unchanged files need no query. Reading aliases costs ~9 ms of
    Python here, which every few seconds is enough to show in a server's p99. None for other
    stores (always queried)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    files = [path, path.with_name(path.name + "-wal")]
    started = time.monotonic()

    def stamp() -> object:
        # a new stamp every 30 s whatever the files say: two writes within one tick of the
        # clock that leave the size alone are not missed for longer than that
        out: list[object] = [int((time.monotonic() - started) // 30)]
        for file in files:
            try:
                found = file.stat()
            except OSError:
                out.append(None)
            else:
                out.append((found.st_size, found.st_mtime_ns))
        return tuple(out) if any(out[1:]) else None  # no file to watch: always read

    return stamp


def _versions(served: Served) -> tuple[str | None, str | None]:
    return (
        served.champion.version if served.champion else None,
        served.challenger.version if served.challenger else None,
    )
