"""Online features by entity id, with a freshness status per value (``GET /features`` and
``POST /v1/predict`` with ids only).

The views' definitions (features, versions, TTLs, last materialization) are cached until the
workspace's stamp changes, and at most ``REFRESH_SECONDS``: every apply and materialization by
driftpilot (``driftpilot run``, the CLI, another process) rewrites the stamp, and the next
lookup reads the registry again; the time bound covers ``feast apply`` or ``feast
materialize`` run by hand. Values are always read from the online store.

For scoring, a value past its view's TTL is given to the model as missing: the offline join a
model was trained on returns nothing past the TTL, so serving it online would score with
values training never saw (Feast itself returns such values online).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from driftpilot.errors import DataError
from driftpilot.features.freshness import value_status

if TYPE_CHECKING:
    from driftpilot.features.store import FeatureRepo, ViewInfo
    from driftpilot.workspace import Workspace

__all__ = ["REFRESH_SECONDS", "Lookup"]

REFRESH_SECONDS = 60.0  # as Feast's own feature server reads its registry


class Lookup:
    def __init__(self, workspace: Workspace, repo: FeatureRepo | None = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from driftpilot.features.store import FeatureRepo

        self.repo = repo or FeatureRepo(workspace)
        # a server reads through one thread of its own: a slow online store (a network
        # store, a registry read after a materialization) never holds up the event loop
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="driftpilot-features")
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests inject one
        self._stamp: float | None = -1.0
        self._read_at = 0.0
        self._served: dict[str, ViewInfo] = {}

    def served(self) -> dict[str, ViewInfo]:
        """Feature → view, read again after each materialization."""
        stamp = self.repo.stamp()
        moment = time.monotonic()
        if stamp != self._stamp or moment - self._read_at > REFRESH_SECONDS:
            self.repo.refresh()
            self._served = self.repo.feature_views()
            self._stamp, self._read_at = stamp, moment
        return self._served

    def _pick(self, features: Sequence[str] | None) -> dict[str, ViewInfo]:
        served = self.served()
        if not features:
            return served
        unknown = [f for f in features if f not in served]
        if unknown:
            raise DataError(
                f"unknown features {unknown}; the feature views serve {sorted(served)}",
                field="features",
                hint="ask for features of the views in features.views",
            )
        return {f: served[f] for f in features}

    def get(
        self,
        ids: Sequence[str],
        features: Sequence[str] | None = None,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Each entity's values with their event time, view, version and status."""
        now = now or self.clock()
        picked = self._pick(features)
        values, stamps = self.repo.online(list(ids), picked)
        moment = now.timestamp()
        entities = []
        for i, entity in enumerate(ids):
            out = {}
            for name, view in picked.items():
                stamp = stamps[name][i]
                out[name] = {
                    "value": values[name][i],
                    "event_timestamp": (
                        datetime.fromtimestamp(stamp, UTC).isoformat() if stamp else None
                    ),
                    "age_seconds": moment - stamp if stamp else None,
                    "view": view.name,
                    "version": view.version,
                    "status": value_status(stamp, view.ttl, now),
                }
            entities.append({"entity_id": str(entity), "features": out})
        views = {v.name: v.to_dict() for v in picked.values()}
        return {"checked_at": now.isoformat(), "entities": entities, "views": views}

    def for_scoring(
        self,
        ids: Sequence[str],
        features: Sequence[str],
        *,
        at: Sequence[datetime | None] | None = None,
    ) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
        """The model's feature values per entity, and ``(position, problem)`` for entities the
        online store holds nothing for. A value past its TTL at the instance's time (``at``,
        default now) is given as missing."""
        now = self.clock()
        picked = self._pick(features)
        values, stamps = self.repo.online(list(ids), picked)
        rows, problems = [], []
        for i, entity in enumerate(ids):
            moment = (at[i] if at is not None else None) or now
            row = {}
            for name, view in picked.items():
                fresh = value_status(stamps[name][i], view.ttl, moment) == "fresh"
                row[name] = values[name][i] if fresh else None
            if all(not stamps[name][i] for name in picked):
                views = sorted({v.name for v in picked.values()})
                problems.append(
                    (
                        i,
                        f"entity {entity!r} has no online values in {views}: an unknown entity, "
                        "or the views were not materialized; send its features instead",
                    )
                )
            rows.append(row)
        return rows, problems
