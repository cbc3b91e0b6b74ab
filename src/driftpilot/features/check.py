"""The feature-store check of a policy cycle: freshness and skew of every view, stored.

For each view, entities with recent values in the offline source are sampled; their online
values and event times give the view's freshness (:mod:`.freshness`), and the same values are
compared with the offline store's point-in-time values at the online event time (the **skew
check**): a mismatch means the online store serves something the offline definition does not
say (a backfill after materialization, a second writer, an older event written over a newer
one). Numbers match within ``features.skew_tolerance`` (relative); nulls match nulls.

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

from driftpilot.features.freshness import ViewHealth, view_health

if TYPE_CHECKING:
    from driftpilot.features.store import FeatureRepo, ViewInfo
    from driftpilot.monitor.report import WindowReport
    from driftpilot.workspace import Workspace

__all__ = ["FeatureCheck", "check_features", "recent_checks", "skew_rates", "store_check"]

PREFIX = "features@"


@dataclass(frozen=True)
class FeatureCheck:
    checked_at: datetime
    views: dict[str, ViewHealth]
    skew: dict[str, dict[str, Any]]  # feature → rate, compared, mismatched, view, examples

    @property
    def stale(self) -> list[str]:
        return [name for name, h in self.views.items() if h.status != "fresh"]

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
        return WindowReport(
            dataset=empty,
            features={},
            window=self.checked_at,
            window_key=PREFIX
            + self.checked_at.replace(minute=0, second=0, microsecond=0)
            .astimezone(UTC)
            .isoformat(),
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
    repo: FeatureRepo,
    view: ViewInfo,
    ids: list[Any],
    values: dict[str, list[Any]],
    stamps: dict[str, list[int]],
    tolerance: float,
) -> dict[str, dict[str, Any]]:
    """Per feature of ``view``: the share of entities whose online value differs from the
    offline point-in-time value at the online value's event time."""
    first = next(iter(view.features))
    held = [i for i, stamp in enumerate(stamps[first]) if stamp]
    if not held:
        return {}
    # online event times are whole seconds: the offline value is the one at or before the
    # end of that second
    seconds = pd.to_datetime([stamps[first][i] for i in held], unit="s", utc=True)
    entities = pd.DataFrame(
        {
            "entity_id": [ids[i] for i in held],
            "timestamp": seconds + pd.Timedelta(seconds=1) - pd.Timedelta(microseconds=1),
        }
    )
    features = {name: view for name in view.features}
    offline = repo.historical(entities, features, known_at_event=False)
    out = {}
    for name in view.features:
        online = [values[name][i] for i in held]
        wrong = [
            (ids[i], a, b)
            for i, a, b in zip(held, online, offline[name].tolist(), strict=True)
            if not _same(a, b, tolerance)
        ]
        out[name] = {
            "view": view.name,
            "rate": len(wrong) / len(held),
            "compared": len(held),
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
    wanted = max(settings.check_entities, settings.skew_sample)
    health: dict[str, ViewHealth] = {}
    skew: dict[str, dict[str, Any]] = {}
    for name, view in repo.views().items():
        ids = repo.recent_entities(view, now, wanted)
        features = {f: view for f in view.features}
        values, stamps = repo.online(ids, features)
        first = next(iter(view.features))
        health[name] = view_health(
            name,
            view.version,
            stamps[first][: settings.check_entities],
            view.last_materialized,
            now,
            allowed,
        )
        if settings.skew_sample:
            n = settings.skew_sample
            skew.update(
                skew_rates(
                    repo,
                    view,
                    ids[:n],
                    {f: v[:n] for f, v in values.items()},
                    {f: s[:n] for f, s in stamps.items()},
                    settings.skew_tolerance,
                )
            )
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
    from driftpilot.monitor.report import WindowReport
    from driftpilot.tables import read_rows

    rows = read_rows(str(workspace.feature_checks_path), ["checked_at", "report"])
    rows.sort(key=lambda r: r["checked_at"])
    if rows:
        since = rows[-1]["checked_at"] - timedelta(days=days)
        rows = [r for r in rows if r["checked_at"] >= since]
    if last is not None:
        rows = rows[-last:]
    return [WindowReport.model_validate_json(r["report"]) for r in rows]
