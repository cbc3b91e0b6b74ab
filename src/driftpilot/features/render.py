"""The feature views' health as a table (``driftpilot features status``, the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftpilot.features.freshness import age_text

if TYPE_CHECKING:
    from rich.table import Table

    from driftpilot.features.check import FeatureCheck

__all__ = ["views_table"]

_COLOURS = {"fresh": "green", "stale": "red", "missing": "red"}


def views_table(check: FeatureCheck) -> Table:
    """One row per view: version, status, the newest online value's age, the last
    materialization's age, and the allowance both are judged against."""
    from rich.table import Table

    table = Table(
        title=f"feature views at {check.checked_at:%Y-%m-%d %H:%M} UTC", header_style="bold"
    )
    for column in ("view", "version", "status", "newest online value", "materialized", "allowed"):
        table.add_column(column)
    for name, health in check.views.items():
        value, done = health.value_age_seconds, health.materialization_age_seconds
        table.add_row(
            name,
            health.version,
            f"[{_COLOURS[health.status]}]{health.status}[/]",
            "—" if value is None else f"{age_text(value)} old",
            "—" if done is None else f"{age_text(done)} ago",
            age_text(health.allowed_seconds),
        )
    return table
