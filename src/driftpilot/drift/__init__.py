"""Drift of a current data set (or each of its windows and segments) against a reference."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftpilot.config import DriftpilotConfig
from driftpilot.drift.report import DatasetDrift, DriftReport, FeatureDrift, compare
from driftpilot.errors import ConfigError, StatisticError

if TYPE_CHECKING:
    from driftpilot.engine.backend import Engine, Source
    from driftpilot.profile.model import Profile

EXACT_ROWS = 5_000  # with raw data this small on both sides, KS and Wasserstein are exact

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

    given = profile
    profile, config, engine = _setup(reference, profile, config, engine)
    (window,) = count_windows(engine, current, profile)
    exact = None
    if given is None and profile.rows <= EXACT_ROWS and window.rows <= EXACT_ROWS:
        exact = _exact_statistics(engine, reference, current, profile)
    return compare(profile, window, config, exact=exact)


def _exact_statistics(
    engine: Engine, reference: Source, current: Source, profile: Profile
) -> dict[str, dict[str, float]]:
    """KS and Wasserstein on the raw values of small samples (binning would blur them)."""
    from driftpilot.drift.statistics import wasserstein_scale
    from driftpilot.engine.expressions import numeric_value
    from driftpilot.profile.model import NumericProfile
    from driftpilot.schema import dtype_kind
    from driftpilot.stats import ks_exact, wasserstein_exact

    numeric = [n for n, f in profile.features.items() if isinstance(f, NumericProfile) and f.bins]
    sides = []
    for source, text in ((reference, False), (current, True)):
        table = engine.table(source, csv_all_text=text)
        present = [n for n in numeric if n in table.columns]
        columns = {n: numeric_value(table[n], dtype_kind(table[n].type()), n)[0] for n in present}
        sides.append(engine.execute(table.select(**columns)) if columns else None)
    ref_values, cur_values = sides
    out: dict[str, dict[str, float]] = {}
    for name in numeric:
        if ref_values is None or cur_values is None or name not in cur_values.column_names:
            continue
        ref = ref_values.column(name).to_numpy(zero_copy_only=False).astype(float)
        cur = cur_values.column(name).to_numpy(zero_copy_only=False).astype(float)
        try:
            ks = ks_exact(ref, cur)
            distance = wasserstein_exact(ref, cur)
        except StatisticError:
            continue
        feature = profile.features[name]
        assert isinstance(feature, NumericProfile)  # noqa: S101 - filtered above
        out[name] = {
            "ks": ks.statistic,
            "ks_upper": ks.upper,
            "ks_pvalue": ks.pvalue,
            "wasserstein": distance / wasserstein_scale(feature),
        }
    return out


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
