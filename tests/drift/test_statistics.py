import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftpilot.config import parse_config
from driftpilot.drift.statistics import coarse_groups
from driftpilot.profile.build import build_profile
from driftpilot.profile.calibrate import ChunkCounts, calibrate


@given(
    st.lists(st.integers(0, 500), min_size=1, max_size=200).filter(lambda c: sum(c) > 0),
    st.integers(2, 20),
)
def test_coarse_groups_are_ordered_runs_of_near_equal_mass(counts: list[int], bins: int) -> None:
    ref = np.asarray(counts, float)
    groups = coarse_groups(ref, bins)
    assert groups.size == ref.size + 2  # underflow, fine bins, overflow
    assert np.all(np.diff(groups) >= 0) and groups[0] == 0  # noqa: PT018
    mass = np.bincount(groups[1:-1], weights=ref) / ref.sum()
    if groups.max() > 0 and groups.max() == np.unique(groups[1:-1]).size - 1:
        assert mass.max() <= 1 / bins + ref.max() / ref.sum() + 1e-9


def test_a_constant_reference_keeps_out_of_range_bins_apart() -> None:
    assert coarse_groups(np.array([50.0]), 10).tolist() == [0, 1, 2]


def test_calibration_by_time_measures_chunk_variation(engine) -> None:
    rng = np.random.default_rng(0)
    stamps = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(20_000) * 60, unit="s")
    # the level moves from chunk to chunk: natural variation a random split would not show
    level = np.repeat(rng.normal(0, 0.3, 10), 2000)
    frame = pd.DataFrame({"t": stamps, "x": rng.normal(level, 1.0)})
    timed = build_profile(frame, parse_config({"columns": {"timestamp": "t"}}), engine=engine)
    untimed = build_profile(frame.drop(columns="t"), parse_config({}), engine=engine)
    by_time = timed.features["x"].calibration
    by_chance = untimed.features["x"].calibration
    assert (by_time.method, by_chance.method) == ("time", "random")
    assert by_time.chunks == 10
    assert by_time.chunk_rows == 2000
    assert by_time.statistics["wasserstein"].mean > 3 * by_chance.statistics["wasserstein"].mean


def test_calibration_of_a_tiny_reference_is_skipped(engine) -> None:
    profile = build_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), parse_config({}), engine=engine)
    feature = profile.features["x"]
    assert feature.calibration is None
    assert calibrate(feature, ChunkCounts(), "random", parse_config({})) is None


def test_rules_name_the_default_when_its_method_cannot_apply(engine) -> None:
    from driftpilot.drift import drift_report
    from driftpilot.errors import ConfigError

    frame = pd.DataFrame({"x": np.arange(200.0), "k": ["a", "b"] * 100})
    config = parse_config({"drift": {"default": {"method": "ks"}}})
    with pytest.raises(
        ConfigError, match=r"drift\.default: method 'ks' does not apply .* add drift\.categorical"
    ):
        drift_report(frame, reference=frame, config=config, engine=engine)


def test_small_in_memory_samples_get_exact_ks_and_wasserstein(engine) -> None:
    from scipy.stats import ks_2samp, wasserstein_distance

    from driftpilot.drift import drift_report

    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 300)})
    current = pd.DataFrame({"x": rng.normal(0.4, 1, 150)})
    feature = drift_report(current, reference=reference, engine=engine).features["x"]
    assert feature.exact
    exact = ks_2samp(reference["x"], current["x"], method="exact")
    assert feature.statistics["ks"] == pytest.approx(exact.statistic)
    assert feature.statistics["ks_pvalue"] == pytest.approx(exact.pvalue)
    expected = wasserstein_distance(reference["x"], current["x"]) / reference["x"].std(ddof=0)
    assert feature.statistics["wasserstein"] == pytest.approx(expected, rel=1e-6)
