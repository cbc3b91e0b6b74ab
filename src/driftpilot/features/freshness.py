"""Freshness of online feature values, judged with an injected clock (no Feast here).

A **value** is ``missing`` when the online store holds none for the entity, ``stale`` when it
is older than its view's TTL (Feast returns such values as present: it does not apply TTL when
reading online), else ``fresh``.

A **view** is judged by two ages against the allowed staleness (``features.staleness``, by
default twice the materialization schedule): the age of the newest online value among
entities the offline source holds recent values for, and the time since the view's last
materialization. Either one past the allowance makes the view ``stale``; a view never
materialized, or whose recent entities have no online value at all, is ``missing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

__all__ = ["Status", "ViewHealth", "age_text", "value_status", "view_health"]

Status = Literal["fresh", "stale", "missing"]


def value_status(stamp: float, ttl: timedelta | None, now: datetime) -> Status:
    """A value's status from its event time (epoch seconds, 0 for none).

    >>> now = datetime(2026, 1, 10, tzinfo=UTC)
    >>> day = 86400
    >>> value_status(0, None, now)
    'missing'
    >>> stamp = now.timestamp() - 3 * day
    >>> value_status(stamp, timedelta(days=7), now), value_status(stamp, timedelta(days=2), now)
    ('fresh', 'stale')
    >>> value_status(stamp, None, now)  # no TTL: values never expire
    'fresh'
    """
    if not stamp:
        return "missing"
    if ttl is not None and now.timestamp() - stamp > ttl.total_seconds():
        return "stale"
    return "fresh"


def age_text(seconds: float) -> str:
    """An age as people read it: hours up to two days, days beyond.

    >>> age_text(5400), age_text(7 * 86400)
    ('1.5 h', '7.0 days')
    """
    return f"{seconds / 3600:.1f} h" if seconds < 2 * 86400 else f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class ViewHealth:
    view: str
    version: str
    status: Status
    allowed_seconds: float
    value_age_seconds: float | None  # the newest online value's age
    materialization_age_seconds: float | None
    newest_value: datetime | None
    last_materialized: datetime | None
    entities: int  # recent entities whose online values were read
    online_values: int  # of which the online store held a value
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("newest_value", "last_materialized"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["reasons"] = list(self.reasons)
        return out


def view_health(
    view: str,
    version: str,
    stamps: Sequence[float],
    last_materialized: datetime | None,
    now: datetime,
    allowed: timedelta,
) -> ViewHealth:
    """Judge one view from the online event times of recent entities (see the module).

    >>> now = datetime(2026, 1, 10, tzinfo=UTC)
    >>> week_ago = now - timedelta(days=7)
    >>> health = view_health("usage_v2", "v2", [week_ago.timestamp()], week_ago, now,
    ...                      timedelta(days=2))
    >>> health.status
    'stale'
    >>> for reason in health.reasons:
    ...     print(reason)
    last materialized 7.0 days ago (allowed 2.0 days): the schedule was missed
    the newest online value is 7.0 days old (allowed 2.0 days)
    """
    limit = allowed.total_seconds()
    present = [s for s in stamps if s]
    newest = datetime.fromtimestamp(max(present), UTC) if present else None
    value_age = (now - newest).total_seconds() if newest else None
    done_age = (now - last_materialized).total_seconds() if last_materialized else None
    reasons = []
    if last_materialized is None:
        reasons.append("never materialized: run `driftpilot features materialize`")
    elif done_age is not None and done_age > limit:
        reasons.append(
            f"last materialized {age_text(done_age)} ago (allowed {age_text(limit)}): "
            "the schedule was missed"
        )
    if not stamps:
        reasons.append("the offline source holds no recent entities to read online")
    elif newest is None:
        reasons.append(f"none of {len(stamps)} recent entities has an online value")
    elif value_age is not None and value_age > limit:
        reasons.append(
            f"the newest online value is {age_text(value_age)} old (allowed {age_text(limit)})"
        )
    if last_materialized is None or (stamps and newest is None):
        status: Status = "missing"
    else:
        status = "stale" if reasons else "fresh"
    return ViewHealth(
        view=view,
        version=version,
        status=status,
        allowed_seconds=limit,
        value_age_seconds=value_age,
        materialization_age_seconds=done_age,
        newest_value=newest,
        last_materialized=last_materialized,
        entities=len(stamps),
        online_values=len(present),
        reasons=reasons,
    )
