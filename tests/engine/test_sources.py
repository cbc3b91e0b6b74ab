"""The same data through different doors: CSV and parquet, time zones, globs whose files
differ, Delta tables, pandas object columns, a profile from other data."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftpilot.config import parse_config
from driftpilot.drift import drift_report
from driftpilot.engine.windows import FeatureFailure, count_windows
from driftpilot.errors import SchemaError
from driftpilot.profile.build import build_profile


def test_numbers_kept_as_categories_match_across_formats(engine, tmp_path) -> None:
    config = parse_config({"columns": {"types": {"rate": "categorical"}}})
    frame = pd.DataFrame({"rate": np.tile([1.0, 1.5, 2.0], 400), "x": np.arange(1200.0)})
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet, index=False)
    ints = frame.assign(rate=np.tile([1, 2, 2], 400))
    for reference in (str(csv), str(parquet)):
        profile = build_profile(reference, config, engine=engine)
        assert sorted(profile.features["rate"].categories) == ["1", "1.5", "2"]
        for current in (str(csv), str(parquet)):
            feature = drift_report(current, profile=profile, config=config, engine=engine).features[
                "rate"
            ]
            assert feature.quality["unseen_share"] == 0
            assert not feature.drift
        unseen = drift_report(ints, profile=profile, config=config, engine=engine).features["rate"]
        assert unseen.quality["unseen_share"] == 0


def test_time_zones_give_the_same_windows_in_csv_and_parquet(engine, tmp_path) -> None:
    stamps = pd.date_range("2026-03-01", periods=48, freq="h", tz="Europe/Berlin")
    frame = pd.DataFrame({"when": stamps, "x": np.arange(48.0)})
    csv, parquet = tmp_path / "t.csv", tmp_path / "t.parquet"
    frame.to_csv(csv, index=False)  # ISO text with +01:00 offsets
    frame.to_parquet(parquet, index=False)
    config = parse_config({"columns": {"timestamp": "when"}})
    profile = build_profile(frame, config, engine=engine)
    by_format = [
        [(w.window, w.rows) for w in count_windows(engine, str(p), profile, window="day")]
        for p in (csv, parquet)
    ]
    assert by_format[0] == by_format[1]
    # 2026-03-01 00:00 in Berlin is 2026-02-28 23:00 UTC: windows are cut in UTC
    assert [rows for _, rows in by_format[0]] == [1, 24, 23]


def test_a_glob_of_files_with_different_columns(engine, tmp_path) -> None:
    rng = np.random.default_rng(1)
    pq.write_table(
        pa.table({"x": rng.normal(size=500), "y": rng.normal(size=500)}), tmp_path / "a.parquet"
    )
    pq.write_table(pa.table({"x": rng.normal(size=500)}), tmp_path / "b.parquet")
    profile = build_profile(str(tmp_path / "a.parquet"), parse_config({}), engine=engine)
    (window,) = count_windows(engine, str(tmp_path / "*.parquet"), profile)
    assert window.rows == 1000
    assert window.features["y"].nulls == 500


def test_delta_tables_are_read_at_their_current_version(engine, tmp_path) -> None:
    from deltalake import write_deltalake

    path = tmp_path / "table"
    write_deltalake(str(path), pa.table({"x": np.arange(100.0)}))
    write_deltalake(str(path), pa.table({"x": np.arange(30.0)}), mode="overwrite")
    assert build_profile(str(path), parse_config({}), engine=engine).rows == 30


def test_pandas_columns_of_mixed_objects_count_type_errors(engine) -> None:
    reference = pd.DataFrame({"x": np.arange(300.0), "k": ["a", "b", "c"] * 100})
    current = pd.DataFrame({"x": [1.0, "n/a", 3.0] * 50, "k": ["a", 3, "b"] * 50})
    report = drift_report(current, reference=reference, engine=engine)
    assert report.features["x"].quality["type_error_share"] == pytest.approx(1 / 3)
    assert report.features["k"].quality["unseen_examples"] == [["3", 50]]


def test_a_profile_of_other_data_is_refused(engine) -> None:
    profile = build_profile(
        pd.DataFrame({"a": np.arange(10.0), "b": ["x"] * 10}), parse_config({}), engine=engine
    )
    with pytest.raises(SchemaError, match="none of the profile's features are in the data"):
        count_windows(engine, pd.DataFrame({"c": [1.0], "d": [2.0]}), profile)


def test_a_missing_feature_alone_is_a_failure_not_an_error(engine) -> None:
    profile = build_profile(
        pd.DataFrame({"a": np.arange(10.0), "b": ["x"] * 10}), parse_config({}), engine=engine
    )
    (window,) = count_windows(engine, pd.DataFrame({"a": [1.0]}), profile)
    assert isinstance(window.features["b"], FeatureFailure)
