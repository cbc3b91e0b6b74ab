"""The feature-store check of a policy cycle: freshness and skew of every view, stored.

**Freshness**: the entities the view's offline source updated last within the staleness
allowance before the view's last materialization (later rows cannot be online yet) are read
online; the newest of their event times and the materialization's age judge the view
(:mod:`.freshness`).

**Skew**: the entities updated within the view's last materialized interval must be online
with exactly the offline store's point-in-time value at the interval's end (what the
materialization loaded, and what the definition says now: no created-timestamp filter). A
difference is a value the online store serves and the definition does not give: a backfill
after the materialization, a second writer, an older event written over a newer one, a value
missing online. Numbers match within ``features.skew_tolerance`` (relative); nulls match
nulls; an online value past its TTL counts as missing, as the offline join gives none.

Each check is stored in the workspace's ``feature-checks/`` table as a window report of its
own (window ``features@HOUR``: the latest check of an hour replaces the earlier ones), so the
policy judges rules on feature-store metrics with the same persistence, cooldowns and
incidents as window rules, over the last 30 days of checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from driftpilot.features.freshness import ViewHealth, value_status, view_health
from driftpilot.policy.decide import CHECK_PREFIX

if TYPE_CHECKING:
    from driftpilot.features.store import FeatureRepo, ViewInfo
    from driftpilot.monitor.report import WindowReport
    from driftpilot.workspace import Workspace

__all__ = ["FeatureCheck", "check_features", "recent_checks", "skew_rates", "store_check"]


@dataclass(frozen=True)
class FeatureCheck:
    checked_at: datetime
    views: dict[str, ViewHealth]
    skew: dict[str, dict[str, Any]]  # feature → rate, compared, mismatched, view, examples

    @property
    def stale(self) -> list[str]:
        return [name for name, h in self.views.items() if h.status != "fresh"]

    @classmethod
    def failed(cls, workspace: Workspace, now: datetime, reason: str) -> FeatureCheck:
        """The check when the feature store could not be read: every view ``missing`` with
        the reason, so a rule on stale views fires instead of judging an old check again."""
        allowed = workspace.config.features.allowed_staleness().total_seconds()
        names = workspace.config.features.views or ["feature store"]
        views = {
            name: ViewHealth(
                view=name,
                version="unknown",
                status="missing",
                allowed_seconds=allowed,
                value_age_seconds=None,
                materialization_age_seconds=None,
                newest_value=None,
                last_materialized=None,
                entities=0,
                online_values=0,
                reasons=[f"the feature store could not be checked: {reason}"[:500]],
            )
            for name in names
        }
        return cls(now, views, {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "views": {name: h.to_dict() for name, h in self.views.items()},
            "stale_views": self.stale,
            "skew": self.skew,
        }

    def as_report(self) -> WindowReport:
        """The check as a window report the policy can judge."""
        from driftpilot.drift.report import DatasetDrift
        from driftpilot.monitor.report import WindowReport

        entities = sum(h.entities for h in self.views.values())
        empty = DatasetDrift(
            drift=False,
            drift_share=0.0,
            drifted_features=[],
            rows_reference=0,
            rows_current=0,
            share_threshold=1.0,
            features_checked=0,
        )
        hour = self.checked_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return WindowReport(
            dataset=empty,
            features={},
            window=self.checked_at,
            window_key=CHECK_PREFIX + hour.isoformat(),
            window_end=self.checked_at,
            rows=entities,
            fingerprint="",
            computed_at=self.checked_at,
            feature_store=self.to_dict(),
        )


def _same(online: Any, offline: Any, tolerance: float) -> bool:
    if _missing(online) or _missing(offline):
        return _missing(online) and _missing(offline)
    if isinstance(online, bool) or isinstance(offline, bool):
        return bool(online) == bool(offline)
    if isinstance(online, (int, float)) and isinstance(offline, (int, float)):
        return math.isclose(float(online), float(offline), rel_tol=tolerance, abs_tol=tolerance)
    return str(online) == str(offline)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def skew_rates(
    repo: FeatureRepo, view: ViewInfo, ids: list[Any], at: datetime, tolerance: float
) -> dict[str, dict[str, Any]]:
    """Per feature of ``view``: the share of ``ids`` whose online value differs from the
    offline point-in-time value at ``at`` (entities with neither are not compared)."""
    if not ids:
        return {}
    features = {name: view for name in view.features}
    values, stamps = repo.online(ids, features)
    entities = pd.DataFrame({"entity_id": ids, "timestamp": [at] * len(ids)})
    offline = repo.historical(entities, features, known_at_event=False)
    out = {}
    for name in view.features:
        online = [
            values[name][i] if value_status(stamps[name][i], view.ttl, at) == "fresh" else None
            for i in range(len(ids))
        ]
        pairs = [
            (key, a, b)
            for key, a, b in zip(ids, online, offline[name].tolist(), strict=True)
            if not (_missing(a) and _missing(b))
        ]
        wrong = [(key, a, b) for key, a, b in pairs if not _same(a, b, tolerance)]
        out[name] = {
            "view": view.name,
            "rate": len(wrong) / len(pairs) if pairs else 0.0,
            "compared": len(pairs),
            "mismatched": len(wrong),
            "examples": [
                {"entity_id": str(key), "online": _plain(a), "offline": _plain(b)}
                for key, a, b in wrong[:3]
            ],
        }
    return out


def _plain(value: Any) -> Any:
    if _missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def check_features(
    workspace: Workspace, now: datetime, *, repo: FeatureRepo | None = None
) -> FeatureCheck:
    """Freshness and skew of every configured view at ``now``."""
    from driftpilot.features.store import FeatureRepo

    repo = repo or FeatureRepo(workspace)
    settings = workspace.config.features
    allowed = settings.allowed_staleness()
    health: dict[str, ViewHealth] = {}
    skew: dict[str, dict[str, Any]] = {}
    for name, view in repo.views().items():
        until = min(now, view.last_materialized) if view.last_materialized else now
        ids = repo.recent_entities(view, until - allowed, until, settings.check_entities)
        first = next(iter(view.features))
        _, stamps = repo.online(ids, {first: view})
        health[name] = view_health(
            name, view.version, stamps[first], view.last_materialized, now, allowed
        )
        if settings.skew_sample and view.last_interval is not None:
            start, end = view.last_interval
            sample = repo.recent_entities(view, start, end, settings.skew_sample)
            skew.update(skew_rates(repo, view, sample, end, settings.skew_tolerance))
    return FeatureCheck(now, health, skew)


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("window_key", pa.string()),
            ("checked_at", pa.timestamp("us", tz="UTC")),
            ("report", pa.string()),
        ]
    )


def store_check(workspace: Workspace, check: FeatureCheck) -> WindowReport:
    from driftpilot.tables import upsert_rows

    report = check.as_report()
    upsert_rows(
        str(workspace.feature_checks_path),
        [
            {
                "window_key": report.window_key,
                "checked_at": check.checked_at,
                "report": report.model_dump_json(),
            }
        ],
        _schema(),
        "window_key",
        what="feature checks",
        hint="re-run the check: it reads the feature store again",
    )
    return report


def recent_checks(
    workspace: Workspace, last: int | None = None, *, days: float = 30
) -> list[WindowReport]:
    """The stored checks of the last ``days`` before the newest, oldest first (or only the
    ``last`` ones). An incident open longer than that is announced again."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from driftpilot.monitor.report import WindowReport

    path = str(workspace.feature_checks_path)
    if not DeltaTable.is_deltatable(path):
        return []
    dataset = DeltaTable(path).to_pyarrow_dataset()
    times = dataset.to_table(columns=["checked_at"]).column("checked_at")
    if len(times) == 0:
        return []
    since = pc.max(times).as_py() - timedelta(days=days)
    if last is not None:  # the newest ``last`` checks only
        newest = sorted(times.to_pylist())[-last:]
        since = max(since, newest[0])
    # only the reports of the span are read (the table keeps every check)
    found = dataset.to_table(
        columns=["checked_at", "report"], filter=pc.field("checked_at") >= since
    ).to_pylist()
    rows = sorted(found, key=lambda r: r["checked_at"])
    if last is not None:
        rows = rows[-last:]
    return [WindowReport.model_validate_json(r["report"]) for r in rows]
