"""Awkward reference data: several scales, row order, empty and all-null data, stray text,
dates, extreme values."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import ks_2samp

from driftpilot.config import parse_config
from driftpilot.drift import drift_report
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.build import build_profile

NONE = parse_config({})


def test_data_at_two_scales_keeps_near_equal_bins_and_sees_a_shift(engine) -> None:
    rng = np.random.default_rng(1)

    def data(shift: float) -> pd.DataFrame:
        small = rng.uniform(0, 100, 30_000) + shift
        large = rng.uniform(1e5, 1e6, 70_000)
        return pd.DataFrame({"x": rng.permutation(np.concatenate([small, large]))})

    reference, current = data(0.0), data(60.0)
    profile = build_profile(reference, NONE, engine=engine)
    counts = np.asarray(profile.features["x"].bins.counts)
    assert counts.size >= 95
    assert counts.max() / counts.sum() < 0.02
    assert profile.features["x"].grid.refinements  # the crowded cell got a grid of its own
    report = drift_report(current, profile=profile, engine=engine)
    stats = report.features["x"].statistics
    exact = ks_2samp(reference["x"], current["x"]).statistic
    assert stats["ks"] - 1e-9 <= exact <= stats["ks_upper"] + 1e-9
    assert stats["ks_upper"] - stats["ks"] < 0.03
    assert report.features["x"].drift


def test_the_grid_does_not_depend_on_row_order(engine) -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate([np.zeros(50_000), rng.normal(1000, 10, 150_000)])
    ordered = build_profile(pd.DataFrame({"x": values}), NONE, engine=engine).features["x"]
    shuffled = build_profile(
        pd.DataFrame({"x": rng.permutation(values)}), NONE, engine=engine
    ).features["x"]
    for feature in (ordered, shuffled):  # the zeros are one bin, the normal part many
        edges = np.asarray(feature.bins.edges)
        assert (edges > 900).sum() >= 70
        assert feature.bins.counts[0] == 50_000
    assert abs(len(ordered.bins.counts) - len(shuffled.bins.counts)) <= 3


def test_an_empty_reference_is_refused(engine, tmp_path) -> None:
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), empty)
    with pytest.raises(SchemaError, match="has no rows"):
        build_profile(str(empty), NONE, engine=engine)
    header = tmp_path / "header.csv"
    header.write_text("x,y\n")
    with pytest.raises(SchemaError, match="has no rows"):
        build_profile(str(header), NONE, engine=engine)


def test_a_number_column_with_stray_text_stays_numeric(engine, tmp_path) -> None:
    path = tmp_path / "ref.csv"
    values = [str(v) for v in np.random.default_rng(3).normal(50, 5, 2000).round(3)]
    values[1500] = "N/A"
    pd.DataFrame({"income": values}).to_csv(path, index=False)
    profile = build_profile(str(path), NONE, engine=engine)
    income = profile.features["income"]
    assert income.type == "numeric"
    assert income.type_errors == 1
    assert any("profiled as numeric" in w for w in profile.warnings)


def test_dates_are_explained_and_cannot_be_declared_numeric(engine) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "signup": pd.to_datetime(["2026-01-01", "2026-02-01"])})
    profile = build_profile(frame, NONE, engine=engine)
    assert "columns.timestamp" in profile.excluded["signup"]
    with pytest.raises(ConfigError, match=r"columns\.types\.signup: column 'signup' holds"):
        build_profile(
            frame, parse_config({"columns": {"types": {"signup": "numeric"}}}), engine=engine
        )


def test_all_null_columns_are_missing_values_not_type_errors(engine) -> None:
    reference = pa.table({"x": pa.array(np.arange(200.0)), "gone": pa.nulls(200)})
    profile = build_profile(reference, NONE, engine=engine)
    assert profile.features["gone"].nulls == 200
    current = pa.table({"x": pa.nulls(150, pa.float64()), "gone": pa.nulls(150)})
    report = drift_report(current, profile=profile, engine=engine)
    assert report.features["x"].quality["issues"] == ["every value is missing"]
    assert "not" not in (report.features["gone"].error or "type")


def test_extreme_values_do_not_break_the_profile_or_the_verdict(engine) -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"x": np.concatenate([rng.normal(50, 10, 5000), [1e300] * 3])})
    profile = build_profile(
        reference, parse_config({"drift": {"default": {"method": "wasserstein"}}}), engine=engine
    )
    assert profile.features["x"].std is None or np.isfinite(profile.features["x"].std)
    current = pd.DataFrame({"x": rng.normal(80, 10, 5000)})
    report = drift_report(
        current,
        profile=profile,
        config=parse_config({"drift": {"default": {"method": "psi"}}}),
        engine=engine,
    )
    assert report.features["x"].drift
    sentinel = pd.DataFrame({"x": np.concatenate([rng.normal(50, 10, 5000), [1.7e308] * 3])})
    wasser = parse_config({"drift": {"default": {"method": "wasserstein"}}})
    report = drift_report(current, reference=sentinel, config=wasser, engine=engine)
    feature = report.features["x"]
    assert feature.error is None or "not a number" in feature.error
    assert report.to_json()  # valid JSON, no NaN
