"""Drift of a current data set (or each of its windows and segments) against a reference."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftpilot.config import DriftpilotConfig
from driftpilot.drift.report import DatasetDrift, DriftReport, FeatureDrift, compare
from driftpilot.errors import ConfigError

if TYPE_CHECKING:
    from driftpilot.engine.backend import Engine, Source
    from driftpilot.profile.model import Profile

__all__ = [
    "DatasetDrift",
    "DriftReport",
    "FeatureDrift",
    "compare",
    "drift_report",
    "window_reports",
]


def _setup(
    reference: Source | None,
    profile: Profile | str | None,
    config: DriftpilotConfig | None,
    engine: Engine | None,
) -> tuple[Profile, DriftpilotConfig, Engine]:
    from driftpilot.engine.backend import Engine
    from driftpilot.profile.build import build_profile
    from driftpilot.profile.model import Profile

    config = config or DriftpilotConfig()
    engine = engine or Engine.create(config.engine)
    if profile is None and reference is None:
        raise ConfigError(
            "give the reference data or a reference profile",
            hint="pass reference=… or profile=… (the profile is faster)",
        )
    if profile is None:
        profile = build_profile(reference, config, engine=engine)
    elif not isinstance(profile, Profile):
        profile = Profile.load(profile)
    return profile, config, engine


def drift_report(
    current: Source,
    *,
    reference: Source | None = None,
    profile: Profile | str | None = None,
    config: DriftpilotConfig | None = None,
    engine: Engine | None = None,
) -> DriftReport:
    """Compare ``current`` as a whole with the reference (data or profile).

    >>> import numpy as np, pandas as pd
    >>> from driftpilot import drift_report
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1, 1, 5000)})
    >>> report = drift_report(cur, reference=ref)
    >>> report.dataset.drifted_features, round(report.features["x"].statistics["wasserstein"], 1)
    (['x'], 1.0)
    """
    from driftpilot.engine.windows import count_windows

    profile, config, engine = _setup(reference, profile, config, engine)
    (window,) = count_windows(engine, current, profile)
    return compare(profile, window, config)


def window_reports(
    current: Source,
    *,
    reference: Source | None = None,
    profile: Profile | str | None = None,
    config: DriftpilotConfig | None = None,
    engine: Engine | None = None,
    window: str | None = None,
    segment: str | None = None,
) -> list[DriftReport]:
    """One report per time window (``hour``, ``day``, ``week``, ``month``) and/or segment value."""
    from driftpilot.engine.windows import count_windows

    profile, config, engine = _setup(reference, profile, config, engine)
    windows = count_windows(
        engine,
        current,
        profile,
        window=window,
        time_column=config.columns.timestamp,
        segment=segment,
    )
    return [compare(profile, w, config) for w in windows]
