"""Drift of a feature view: the engine's window statistics over the view's offline source.

The view's rows (every value the feature pipeline wrote, by event time) are counted per window
against the workspace's reference profile, restricted to the view's features, with the same
statistics, thresholds and data-quality checks as the monitor's windows. It shows a feature
moving in the store itself, before (or without) any prediction being logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftpilot.errors import ConfigError

if TYPE_CHECKING:
    from driftpilot.drift.report import DriftReport
    from driftpilot.engine.backend import Engine
    from driftpilot.profile.model import Profile
    from driftpilot.workspace import Workspace

__all__ = ["view_drift"]


def view_drift(
    workspace: Workspace,
    view: str,
    *,
    window: str = "week",
    profile: Profile | None = None,
    engine: Engine | None = None,
) -> list[DriftReport]:
    """One drift report per ``window`` of the view's offline source (oldest first)."""
    from driftpilot.drift import window_reports
    from driftpilot.features.store import FeatureRepo

    repo = FeatureRepo(workspace)
    views = repo.views()
    if view not in views:
        raise ConfigError(
            f"no feature view {view!r}; the workspace's views are {sorted(views)}",
            field="view",
            hint="name one of features.views",
        )
    path, time_column = repo.source(view)
    reference = profile or workspace.reference()
    kept = {n: f for n, f in reference.features.items() if n in views[view].features}
    if not kept:
        raise ConfigError(
            f"the reference profile has none of {view!r}'s features "
            f"({', '.join(views[view].features)})",
            hint="profile data holding the view's features, and pass it as the reference",
        )
    reference = reference.model_copy(update={"features": kept, "outputs": {}})
    columns = workspace.config.columns.model_copy(update={"timestamp": time_column})
    config = workspace.config.model_copy(update={"columns": columns})
    return window_reports(path, profile=reference, config=config, window=window, engine=engine)
