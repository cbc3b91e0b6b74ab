"""The Feast adapter: the one module of driftpilot that imports feast.

A workspace's ``features.repo`` is an ordinary Feast repository (``feature_store.yaml`` and
Python definitions). driftpilot reads it through Feast only:

- ``apply`` runs Feast's own ``feast apply`` in the repository (the definitions are the user's
  code, imported by Feast as ``feast apply`` would);
- :meth:`FeatureRepo.views` reads the registry: each view's features, TTL, join key, version
  (its ``version`` tag, else the name's ``_vN`` suffix, else Feast's version number) and the
  end of its last materialized interval;
- :meth:`FeatureRepo.online` reads the online store (values and event timestamps);
- :meth:`FeatureRepo.historical` joins point in time with ``get_historical_features``,
  ``filter_by_created_timestamp`` on, so a value created after an event (a backfill) never
  reaches the row of that event;
- :meth:`FeatureRepo.materialize` loads each view's new interval into the online store and
  writes the workspace's materialization stamp, which tells servers to drop what they cached.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from driftpilot.errors import ConfigError, DataError
from driftpilot.policy.config import parse_duration

if TYPE_CHECKING:
    from driftpilot.workspace import Workspace

__all__ = ["FeatureRepo", "ViewInfo", "view_version"]

_INTEGER_TYPES = {"INT32", "INT64", "UNIX_TIMESTAMP"}


@dataclass(frozen=True)
class ViewInfo:
    name: str
    version: str
    features: dict[str, str]  # feature → Feast type
    ttl: timedelta | None  # None: values never expire
    join_key: str
    integer_key: bool
    last_materialized: datetime | None  # end of the latest materialized interval
    last_interval: tuple[datetime, datetime] | None = None  # the latest materialized interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "features": self.features,
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "join_key": self.join_key,
            "last_materialized": (
                None if self.last_materialized is None else self.last_materialized.isoformat()
            ),
        }


def view_version(name: str, tags: dict[str, str], number: int | None = None) -> str:
    """A view's version: its ``version`` tag, else the name's ``_vN`` suffix, else Feast's.

    >>> view_version("customer_usage_v2", {})
    'v2'
    >>> view_version("customer_usage", {"version": "2024-06"}), view_version("usage", {}, 3)
    ('2024-06', 'v3')
    >>> view_version("usage", {})
    'latest'
    """
    if tags.get("version"):
        return tags["version"]
    found = re.search(r"_v(\d+)$", name)
    if found:
        return f"v{found.group(1)}"
    return f"v{number}" if number is not None else "latest"


@contextlib.contextmanager
def _inside(path: Path) -> Iterator[io.StringIO]:
    """Feast imports a repository's files as modules named after their path from the current
    folder: run there, and forget those modules afterwards (another repository may reuse the
    names). Only the CLI and the demo apply, never a server, so changing folder is safe."""
    before, modules = Path.cwd(), set(sys.modules)
    printed = io.StringIO()
    os.chdir(path)
    sys.path.insert(0, str(path))
    try:
        with contextlib.redirect_stdout(printed):
            yield printed
    finally:
        os.chdir(before)
        sys.path.remove(str(path))
        for name in set(sys.modules) - modules:
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(path)):
                del sys.modules[name]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Feast prints progress to stdout, logs warnings and lets its libraries' deprecations
    through; driftpilot reports for itself."""
    logging.getLogger("feast").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FeatureRepo:
    """The workspace's Feast repository (``features.repo``)."""

    def __init__(self, workspace: Workspace) -> None:
        settings = workspace.config.features
        if settings.repo is None:
            raise ConfigError(
                "this workspace has no feature store: features.repo is not set",
                field="features.repo",
                hint="point features.repo in driftpilot.yaml at a Feast repository "
                "(`driftpilot init DIR --features` writes the demo's)",
            )
        self.workspace = workspace
        self.settings = settings
        self.path = (workspace.root / settings.repo).resolve()
        if not (self.path / "feature_store.yaml").is_file():
            raise ConfigError(
                f"features.repo {settings.repo!r} holds no feature_store.yaml ({self.path})",
                field="features.repo",
                hint="point features.repo at a Feast repository folder",
            )
        self._store: Any = None
        self._views: dict[str, ViewInfo] | None = None

    @property
    def stamp_path(self) -> Path:
        return self.workspace.root / "features.stamp"

    @property
    def store(self) -> Any:
        if self._store is None:
            logging.getLogger("feast").setLevel(logging.ERROR)
            with _quiet():
                from feast import FeatureStore

                self._store = FeatureStore(repo_path=str(self.path))
        return self._store

    # definitions -------------------------------------------------------------------------

    def apply(self) -> str:
        """Register the repository's definitions (what ``feast apply`` does); returns Feast's
        account of the changes. The definition files are imported, as ``feast apply`` would."""
        with _quiet(), _inside(self.path) as printed:
            from feast import Project
            from feast.repo_operations import apply_total_with_repo_instance, parse_repo

            store = self.store
            repo = parse_repo(self.path)
            project = store.config.project
            if not any(p.name == project for p in repo.projects):
                repo.projects.append(Project(name=project, description=""))
            try:
                apply_total_with_repo_instance(
                    store, project, store.registry, repo, skip_source_validation=False
                )
            except Exception as exc:  # Feast's errors name the object; say where it came from
                raise ConfigError(
                    f"feast apply failed in {self.path}: {type(exc).__name__}: {exc}",
                    field="features.repo",
                    hint="fix the repository's definitions (Feast's objects in its .py files)",
                ) from exc
        self.refresh()
        self._touch({"applied": True})
        return printed.getvalue()

    def refresh(self) -> None:
        """Read the registry afresh (after an apply or a materialization elsewhere)."""
        self._views = None
        if self._store is not None:
            with _quiet():
                self._store.refresh_registry()

    def views(self) -> dict[str, ViewInfo]:
        """The configured views (``features.views``; all when empty), by name."""
        if self._views is not None:
            return self._views
        with _quiet():
            found = {v.name: v for v in self.store.list_feature_views(allow_cache=False)}
        wanted = self.settings.views or sorted(found)
        missing = [name for name in wanted if name not in found]
        if missing or not wanted:
            raise ConfigError(
                f"features.views names {missing}, which the Feast registry does not hold; "
                f"it holds {sorted(found) or 'no views'}"
                if missing
                else f"the Feast registry of {self.path} holds no feature views",
                field="features.views",
                hint="run `driftpilot features apply` after changing the definitions",
            )
        self._views = {name: self._info(found[name]) for name in wanted}
        return self._views

    @staticmethod
    def _info(view: Any) -> ViewInfo:
        keys = view.entity_columns
        if len(keys) != 1:
            raise ConfigError(
                f"feature view {view.name!r} has join keys {[k.name for k in keys]}; driftpilot "
                "looks features up by one entity id",
                field="features.views",
                hint="serve views keyed by a single entity",
            )
        ttl = view.ttl if view.ttl and view.ttl.total_seconds() > 0 else None
        intervals = [(_aware(a), _aware(b)) for a, b in view.materialization_intervals]
        latest = max(intervals, key=lambda span: span[1], default=None)
        last = latest[1] if latest else None
        key_type = str(getattr(keys[0].dtype, "name", keys[0].dtype)).upper()
        return ViewInfo(
            name=view.name,
            version=view_version(view.name, dict(view.tags or {}), view.current_version_number),
            features={f.name: str(getattr(f.dtype, "name", f.dtype)) for f in view.features},
            ttl=ttl,
            join_key=keys[0].name,
            integer_key=key_type in _INTEGER_TYPES,
            last_materialized=last,
            last_interval=latest,
        )

    def feature_views(self, features: Iterable[str] | None = None) -> dict[str, ViewInfo]:
        """Feature → the view serving it, for ``features`` (default: every view's features)."""
        served: dict[str, ViewInfo] = {}
        for view in self.views().values():
            for name in view.features:
                if name in served:
                    raise ConfigError(
                        f"feature {name!r} is served by both {served[name].name!r} and "
                        f"{view.name!r}; driftpilot names features without their view",
                        field="features.views",
                        hint="list only one of the two views in features.views",
                    )
                served[name] = view
        keys = {(v.join_key, v.integer_key) for v in served.values()}
        if len(keys) > 1:
            raise ConfigError(
                f"the feature views are keyed by {sorted(keys)}; driftpilot looks features up "
                "by one entity id, so every view in features.views needs the same join key",
                field="features.views",
                hint="list the views of one entity in features.views",
            )
        if features is None:
            return served
        wanted = list(features)
        missing = [f for f in wanted if f not in served]
        if missing:
            raise ConfigError(
                f"the model's features {missing} are in none of the feature views "
                f"{list(self.views())}",
                field="features.views",
                hint="add the views that define them to features.views",
            )
        return {f: served[f] for f in wanted}

    def source(self, name: str) -> tuple[str, str]:
        """The view's offline source files (path or glob) and their event-time column."""
        with _quiet():
            source = self.store.get_feature_view(name).batch_source
        path = getattr(source, "path", None)
        if not path:
            raise ConfigError(
                f"feature view {name!r} reads {type(source).__name__}; driftpilot computes "
                "feature-view drift over file sources (Parquet or CSV)",
                field="features.views",
                hint="export the view's rows to files, or monitor them as predictions",
            )
        if not Path(path).is_absolute():
            path = str(self.path / path)
        return str(path), str(source.timestamp_field)

    def keys(self, ids: Sequence[Any], view: ViewInfo) -> list[Any]:
        """Entity ids as the join key's type (ids arrive as text)."""
        if not view.integer_key:
            return [str(i) for i in ids]
        out = []
        for i in ids:
            try:
                out.append(int(str(i)))
            except ValueError:
                raise DataError(
                    f"entity id {i!r} is not an integer, and the join key "
                    f"{view.join_key!r} of feature view {view.name!r} is",
                    field="entity_id",
                    hint="send the entity's integer id",
                ) from None
        return out

    # reads -------------------------------------------------------------------------------

    def online(
        self, ids: Sequence[Any], features: dict[str, ViewInfo]
    ) -> tuple[dict[str, list[Any]], dict[str, list[int]]]:
        """``(values, timestamps)`` per feature for ``ids``; a timestamp is epoch seconds,
        0 for a value the online store does not hold."""
        if not ids or not features:
            return {f: [] for f in features}, {f: [] for f in features}
        view = next(iter(features.values()))
        keys = self.keys(ids, view)
        refs = [f"{v.name}:{f}" for f, v in features.items()]
        # no _quiet() here: it swaps process-wide state, and a server reads on every request
        answer = self.store.get_online_features(
            features=refs, entity_rows={view.join_key: keys}
        ).to_dict(include_event_timestamps=True)
        values = {f: answer[f] for f in features}
        stamps = {f: [int(t or 0) for t in answer[f"{f}__ts"]] for f in features}
        return values, stamps

    def historical(
        self,
        entities: pd.DataFrame,
        features: dict[str, ViewInfo],
        *,
        known_at_event: bool = True,
    ) -> pd.DataFrame:
        """The point-in-time values of ``features`` for each row of ``entities`` (columns
        ``entity_id``, ``timestamp``), in the rows' order; a row without a value in its
        view's TTL gets nulls. With ``known_at_event`` (training sets), values created after
        the row's timestamp are left out, so a backfill cannot leak into the past."""
        out = pd.DataFrame(index=entities.index)
        if entities.empty or not features:
            for name in features:
                out[name] = pd.Series(dtype="object")
            return out
        view = next(iter(features.values()))
        # one unit on both sides of the match: offline stores answer in µs
        times = pd.to_datetime(entities["timestamp"], utc=True).astype("datetime64[us, UTC]")
        keys = self.keys(entities["entity_id"].tolist(), view)
        pairs = pd.DataFrame({view.join_key: keys, "_t": times.to_numpy()})
        # offline stores may answer one row per (key, timestamp), and Feast's file store drops
        # a row one of the views has no value for (losing the other views' values too): each
        # view is joined on its own, unique pairs go in, and every input row is matched back
        unique = pairs.drop_duplicates().rename(columns={"_t": "event_timestamp"})
        by_view: dict[str, list[str]] = {}
        for name, served in features.items():
            by_view.setdefault(served.name, []).append(name)
        for owner, names in by_view.items():
            with _quiet():
                joined = self.store.get_historical_features(
                    entity_df=unique.reset_index(drop=True),
                    features=[f"{owner}:{f}" for f in names],
                    filter_by_created_timestamp=known_at_event,
                ).to_df()
            joined["event_timestamp"] = pd.to_datetime(joined["event_timestamp"], utc=True).astype(
                "datetime64[us, UTC]"
            )
            joined = joined.drop_duplicates([view.join_key, "event_timestamp"])
            merged = pairs.merge(
                joined.rename(columns={"event_timestamp": "_t"}),
                on=[view.join_key, "_t"],
                how="left",
            )
            for name in names:
                out[name] = merged[name].to_numpy()
        return out[list(features)]

    def recent_entities(
        self, view: ViewInfo, start: datetime, end: datetime, limit: int
    ) -> list[Any]:
        """The ``limit`` entities updated last in the view's offline source between ``start``
        and ``end`` (newest first), read through the offline store's own latest-row query,
        the one materialization uses."""
        with _quiet():
            feast_view = self.store.get_feature_view(view.name)
            source = feast_view.batch_source
            rows = (
                self.store._get_provider()
                .offline_store.pull_latest_from_table_or_query(
                    config=self.store.config,
                    data_source=source,
                    join_key_columns=[view.join_key],
                    feature_name_columns=[],
                    timestamp_field=source.timestamp_field,
                    created_timestamp_column=source.created_timestamp_column or None,
                    start_date=_aware(start),
                    end_date=_aware(end),
                )
                .to_df()
            )
        if rows.empty:
            return []
        rows = rows.sort_values(source.timestamp_field, ascending=False, kind="stable")
        return list(rows[view.join_key].drop_duplicates().head(limit).tolist())

    # writes ------------------------------------------------------------------------------

    def materialize(
        self, end: datetime, views: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Load each view's interval since its last materialization up to ``end`` (at most
        ``features.lookback`` of it) into the online store; returns one entry per view."""
        end = _aware(end)
        unknown = sorted(set(views or []) - set(self.views()))
        if unknown:
            raise ConfigError(
                f"no feature views {unknown}; the workspace's views are {sorted(self.views())}",
                field="--view",
                hint="name views of features.views",
            )
        done = []
        for name, view in self.views().items():
            if views and name not in views:
                continue
            # never further back than the lookback: the newest values are what serving
            # needs, and a view resuming after a pause need not replay all of it
            start = end - parse_duration(self.settings.lookback)
            if view.last_materialized is not None:
                start = max(start, view.last_materialized)
            if start >= end:
                continue
            with _quiet():
                self.store.materialize(start, end, feature_views=[name])
            done.append({"view": name, "start": start.isoformat(), "end": end.isoformat()})
        self.refresh()
        if done:
            self._touch({"materialized": done})
        return done

    def _touch(self, what: dict[str, Any]) -> None:
        """Tell servers their cached definitions are out of date."""
        stamp = {**what, "at": datetime.now(UTC).isoformat()}
        self.stamp_path.write_text(json.dumps(stamp), encoding="utf-8")

    def stamp(self) -> float | None:
        """When the last materialization (by any process) finished, as a file time."""
        try:
            return self.stamp_path.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return None
