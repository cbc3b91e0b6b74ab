import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftpilot.config import DriftpilotConfig, parse_config
from driftpilot.engine.windows import (
    CategoricalCounts,
    FeatureFailure,
    NumericCounts,
    count_windows,
)
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.build import build_profile
from driftpilot.profile.model import NumericProfile

from ..conftest import mixed_frame

CONFIG = parse_config({"columns": {"id": ["customer_id"], "timestamp": "timestamp"}})


@pytest.fixture(scope="module")
def profile(engine):
    return build_profile(mixed_frame(6000, seed=1), CONFIG, engine=engine)


def raw_bins(feature: NumericProfile, values: np.ndarray) -> np.ndarray:
    """Oracle: count raw values between the profile's bin edges (no cell arithmetic)."""
    values = values[np.isfinite(values)]
    edges = feature.grid.lower_edge(np.asarray(feature.bins.cells))
    lo, hi = feature.min, feature.max
    inside = values[(values >= lo) & (values <= hi)]
    counts = [(inside < edges[1]).sum()]
    for a, b in itertools.pairwise(edges[1:-1]):
        counts.append(((inside >= a) & (inside < b)).sum())
    counts.append((inside >= edges[-2]).sum())
    return np.array([(values < lo).sum(), *counts, (values > hi).sum()])


def test_numeric_counts_match_raw_data(engine, profile) -> None:
    current = mixed_frame(5000, seed=2, shift=0.3)
    (window,) = count_windows(engine, current, profile)
    assert window.rows == 5000
    for name in ("usage", "calls", "delay"):
        counts = window.features[name]
        assert isinstance(counts, NumericCounts)
        values = current[name].to_numpy()
        assert np.array_equal(counts.counts, raw_bins(profile.features[name], values))
        assert counts.nulls == int(np.isnan(values).sum())  # pandas NaN arrives as null
        center = profile.features[name].grid.center
        assert counts.sums.sum() == pytest.approx(np.nansum(values - center), rel=1e-9, abs=1e-6)


def test_categorical_counts_unseen_and_examples(engine, profile) -> None:
    current = mixed_frame(3000, seed=3)
    current.loc[:99, "plan"] = "platinum"
    current.loc[100:104, "plan"] = "gold"
    current.loc[105:109, "plan"] = None
    (window,) = count_windows(engine, current, profile)
    plan = window.features["plan"]
    assert isinstance(plan, CategoricalCounts)
    expected = current["plan"].value_counts()
    categories = profile.features["plan"].categories
    assert plan.counts[: len(categories)].tolist() == [expected.get(c, 0) for c in categories]
    assert plan.counts[-1] == 105  # unseen
    assert plan.nulls == 5
    assert plan.unseen_examples == (("platinum", 100), ("gold", 5))
    autopay = window.features["autopay"]
    assert autopay.counts[:2].sum() == 3000


def test_weekly_windows_and_segments_match_pandas(engine, profile) -> None:
    current = mixed_frame(4000, seed=4)
    windows = count_windows(engine, current, profile, window="week", segment="plan")
    weeks = current["timestamp"].dt.to_period("W-SUN").dt.start_time
    expected = current.groupby([weeks, current["plan"]]).size()
    got = {(w.window, w.segment): w.rows for w in windows}
    assert got == {(pd.Timestamp(k[0]).to_pydatetime(), k[1]): int(v) for k, v in expected.items()}
    assert sum(w.features["calls"].valid for w in windows) == 4000


def test_text_in_a_numeric_column_counts_as_type_errors(engine, profile, tmp_path) -> None:
    current = mixed_frame(1000, seed=5)
    calls = current["calls"].astype(object)
    calls[:50] = "n/a"
    current["calls"] = calls.astype(str)
    path = tmp_path / "current.csv"
    current.to_csv(path, index=False)
    (window,) = count_windows(engine, str(path), profile)
    counts = window.features["calls"]
    assert counts.type_errors == 50
    assert counts.valid == 950


def test_missing_and_extra_columns(engine, profile) -> None:
    current = mixed_frame(500, seed=6).drop(columns=["usage"]).assign(extra=1)
    (window,) = count_windows(engine, current, profile)
    assert isinstance(window.features["usage"], FeatureFailure)
    assert "missing" in window.features["usage"].message
    assert window.extra_columns == ("extra",)


def test_incompatible_type_is_a_feature_failure(engine, profile) -> None:
    current = mixed_frame(500, seed=6)
    current["usage"] = pd.Timestamp("2026-01-01")
    (window,) = count_windows(engine, current, profile)
    assert isinstance(window.features["usage"], FeatureFailure)
    assert "numeric in the reference" in window.features["usage"].message


def test_empty_current_data(engine, profile) -> None:
    (window,) = count_windows(engine, mixed_frame(10, seed=7).iloc[:0], profile)
    assert window.rows == 0
    assert all(f.valid == 0 for f in window.features.values())


def test_nan_and_infinity_are_counted_apart_from_nulls(engine, profile) -> None:
    values = pa.array([1.0, np.nan, np.inf, -np.inf, None, 2.0], type=pa.float64())
    table = pa.table({"usage": values})
    (window,) = count_windows(engine, table, profile)
    usage = window.features["usage"]
    assert (usage.nan, usage.pos_inf, usage.neg_inf, usage.nulls, usage.valid) == (1, 1, 1, 1, 2)


def test_bad_window_arguments(engine, profile) -> None:
    with pytest.raises(ConfigError, match="valid windows: hour, day, week, month"):
        count_windows(engine, mixed_frame(10), profile, window="fortnight")
    with pytest.raises(SchemaError, match="segment column 'tier'"):
        count_windows(engine, mixed_frame(10), profile, segment="tier")
    no_time = build_profile(
        mixed_frame(500).drop(columns="timestamp"), DriftpilotConfig(), engine=engine
    )
    with pytest.raises(SchemaError, match="timestamp"):
        count_windows(engine, mixed_frame(10).drop(columns="timestamp"), no_time, window="day")
