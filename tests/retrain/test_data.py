"""Training sets: the split by time, the fingerprint, refusals, and the blend sample."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.config import DriftpilotConfig, parse_config
from driftpilot.errors import DataError, SchemaError
from driftpilot.retrain.data import _older_sample, from_source, split_by_time
from driftpilot.schema import FeatureType

FEATURES = {"x": FeatureType.NUMERIC}


def _config(task: str = "binary", **retrain: object) -> DriftpilotConfig:
    return parse_config(
        {
            "columns": {"timestamp": "ts", "target": "y"},
            "model": {"task": task},
            "retrain": {"min_rows": 100, **retrain},
        }
    )


def _source(n: int = 400, seed: int = 0, positive: float = 0.5) -> pd.DataFrame:
    """Random 0/1 labels; timestamps a minute apart, in shuffled row order."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-02-01", tz="UTC")
            + pd.to_timedelta(rng.permutation(n), unit="min"),
            "x": rng.normal(size=n),
            "y": (rng.random(n) < positive).astype(np.int64),
        }
    )


# ---------------------------------------------------------------------------- split_by_time


def _window(times: list[int], seed: int) -> pd.DataFrame:
    ids = [f"w{i:04d}" for i in np.random.default_rng(seed).permutation(len(times))]
    return pd.DataFrame({"timestamp": times, "prediction_id": ids, "label": 0.0})


@settings(max_examples=150, deadline=None)
@given(
    times=st.lists(st.integers(0, 30), min_size=1, max_size=150),
    holdout=st.floats(0.01, 0.89),
    validation=st.floats(0.01, 0.89),
    older=st.integers(0, 15),
    seed=st.integers(0, 1000),
)
def test_the_split_partitions_the_window_by_time(
    times: list[int], holdout: float, validation: float, older: int, seed: int
) -> None:
    window = _window(times, seed)
    before = window.copy()
    old = pd.DataFrame(
        {
            "timestamp": [-1 - i for i in range(older)],
            "prediction_id": [f"o{i:04d}" for i in range(older)],
            "label": 1.0,
        }
    )
    train, valid, held = split_by_time(window, holdout=holdout, validation=validation, older=old)
    pd.testing.assert_frame_equal(window, before)  # the input is left alone

    # every row once; older rows only in training
    parts = [*train.prediction_id, *valid.prediction_id, *held.prediction_id]
    assert sorted(parts) == sorted([*window.prediction_id, *old.prediction_id])
    assert set(old.prediction_id) <= set(train.prediction_id)

    n = len(window)
    assert len(held) == max(1, math.ceil(holdout * n))
    rest = n - len(held)
    assert len(valid) == min(rest, max(1, math.ceil(validation * rest)))
    assert len(train) == rest - len(valid) + older

    # window-train, validation, holdout are consecutive in (time, id) order
    recent = train[~train.prediction_id.isin(old.prediction_id)]
    ordered = window.sort_values(["timestamp", "prediction_id"])
    assert [*recent.prediction_id, *valid.prediction_id, *held.prediction_id] == list(
        ordered.prediction_id
    )
    if len(valid):
        assert held.timestamp.min() >= valid.timestamp.max()
    if len(recent):
        assert held.timestamp.min() >= recent.timestamp.max()
    if len(recent) and len(valid):
        assert valid.timestamp.min() >= recent.timestamp.max()
    for part in (train, valid, held):
        assert list(part.index) == list(range(len(part)))


@settings(max_examples=50, deadline=None)
@given(
    times=st.lists(st.integers(0, 5), min_size=3, max_size=80),
    seed=st.integers(0, 1000),
    shuffle=st.integers(0, 1000),
)
def test_the_split_does_not_depend_on_row_order(times: list[int], seed: int, shuffle: int) -> None:
    window = _window(times, seed)
    shuffled = window.sample(frac=1, random_state=shuffle)
    for a, b in zip(
        split_by_time(window, holdout=0.2, validation=0.15),
        split_by_time(shuffled, holdout=0.2, validation=0.15),
        strict=True,
    ):
        pd.testing.assert_frame_equal(a, b)


def test_the_split_sizes_by_hand() -> None:
    window = _window(list(range(100)), 0)
    train, valid, held = split_by_time(window, holdout=0.2, validation=0.15)
    assert (len(train), len(valid), len(held)) == (68, 12, 20)  # ceil(0.15·80) = 12
    assert list(held.timestamp) == list(range(80, 100))
    tiny = _window([0], 0)
    train, valid, held = split_by_time(tiny, holdout=0.2, validation=0.2)
    assert (len(train), len(valid), len(held)) == (0, 0, 1)  # the holdout is served first


def test_a_decimal_share_of_a_round_count_is_exact() -> None:
    window = _window(list(range(100)), 0)
    *_, held = split_by_time(window, holdout=0.07, validation=0.5)
    assert len(held) == 7


# ---------------------------------------------------------------------------- fingerprint


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), shuffle=st.integers(0, 1000))
def test_the_fingerprint_ignores_row_order(seed: int, shuffle: int) -> None:
    data = _source(300, seed)
    config = _config(min_class_rows=5)
    found = from_source(data, config, FEATURES)
    again = from_source(data.sample(frac=1, random_state=shuffle), config, FEATURES)
    assert again.fingerprint() == found.fingerprint()
    assert len(found.fingerprint()) == 64


def test_the_fingerprint_changes_with_a_label_or_a_split() -> None:
    data = _source(300, 1)
    config = _config(min_class_rows=5)
    found = from_source(data, config, FEATURES).fingerprint()
    flipped = data.copy()
    flipped.loc[17, "y"] = 1 - flipped.loc[17, "y"]
    assert from_source(flipped, config, FEATURES).fingerprint() != found
    # with ids, a row is known by its id: moving the oldest row to the newest time moves it
    # from training to the holdout, which changes the print although the rows are the same
    with_ids = parse_config(
        {
            "columns": {"timestamp": "ts", "target": "y", "id": ["key"]},
            "retrain": {"min_rows": 100, "min_class_rows": 5},
        }
    )
    keyed = data.assign(key=[f"k{i}" for i in range(len(data))])
    base = from_source(keyed, with_ids, FEATURES)
    oldest = keyed["ts"].idxmin()
    moved = keyed.copy()
    moved.loc[oldest, "ts"] = keyed["ts"].max() + pd.Timedelta(minutes=1)
    after = from_source(moved, with_ids, FEATURES)
    assert after.rows == base.rows
    assert f"k{oldest}" in set(after.holdout.prediction_id)
    assert after.fingerprint() != base.fingerprint()
    # a split of a different configuration is a different print too
    other = parse_config(
        {
            "columns": {"timestamp": "ts", "target": "y", "id": ["key"]},
            "retrain": {"min_rows": 100, "min_class_rows": 5, "holdout": 0.3},
        }
    )
    assert from_source(keyed, other, FEATURES).fingerprint() != base.fingerprint()


def test_the_fingerprint_does_not_depend_on_the_label_dtype() -> None:
    config = parse_config(
        {
            "columns": {"timestamp": "ts", "target": "y", "id": ["key"]},
            "retrain": {"min_rows": 100, "min_class_rows": 5},
        }
    )
    data = _source(300, 2).assign(key=[f"k{i}" for i in range(300)])
    as_int = from_source(data, config, FEATURES)
    as_float = from_source(data.assign(y=data["y"].astype(np.float64)), config, FEATURES)
    # the same keys, labels and split …
    for a, b in zip(
        (as_int.train, as_int.validation, as_int.holdout),
        (as_float.train, as_float.validation, as_float.holdout),
        strict=True,
    ):
        assert a["prediction_id"].tolist() == b["prediction_id"].tolist()
        assert a["label"].tolist() == b["label"].tolist()
    # … so the same print
    assert as_int.fingerprint() == as_float.fingerprint()


# ---------------------------------------------------------------------------- from_source


def test_from_source_splits_the_data_by_its_time_column() -> None:
    data = _source(400, 3)
    found = from_source(data, _config(min_class_rows=5), FEATURES)
    assert found.source == "data"
    assert found.rows == 400
    assert (len(found.train), len(found.validation), len(found.holdout)) == (272, 48, 80)
    assert found.holdout["timestamp"].min() > found.validation["timestamp"].max()
    assert found.window_start == data["ts"].min().to_pydatetime()
    assert found.window_end == data["ts"].max().to_pydatetime()
    assert set(found.train.columns) == {"x", "label", "timestamp", "prediction_id"}


def test_without_a_time_column_the_row_order_is_the_time_order() -> None:
    data = _source(200, 4).drop(columns=["ts"])
    config = parse_config(
        {"columns": {"target": "y"}, "retrain": {"min_rows": 100, "min_class_rows": 5}}
    )
    found = from_source(data, config, FEATURES)
    assert found.holdout["x"].tolist() == data["x"].iloc[-40:].tolist()


def test_unlabeled_rows_are_dropped_before_counting() -> None:
    data = _source(120, 5).astype({"y": "float64"})
    data.loc[:29, "y"] = np.nan
    with pytest.raises(DataError, match=r"^retrain\.min_rows: .*at least 100 .* holds 90") as err:
        from_source(data, _config(min_class_rows=5), FEATURES)
    assert err.value.field == "retrain.min_rows"


@pytest.mark.parametrize("n", [10, 99])
def test_too_few_rows_are_refused(n: int) -> None:
    with pytest.raises(DataError, match=rf"at least 100 labeled rows; the data holds {n}") as err:
        from_source(_source(n, 6), _config(min_class_rows=1), FEATURES)
    assert err.value.field == "retrain.min_rows"
    assert "retrain.min_rows" in str(err.value)


def test_exactly_min_rows_is_enough() -> None:
    found = from_source(_source(100, 6), _config(min_class_rows=1), FEATURES)
    assert found.rows == 100


@pytest.mark.parametrize("bad", [2, -1, 0.5])
def test_binary_labels_other_than_0_and_1_are_refused(bad: float) -> None:
    data = _source(300, 7).astype({"y": "float64"})
    data.loc[11, "y"] = bad
    with pytest.raises(DataError, match=r"labels must be 0 or 1; the data holds \[") as err:
        from_source(data, _config(min_class_rows=5), FEATURES)
    assert err.value.field == "label"
    assert repr(float(bad)) in str(err.value)


def test_regression_labels_may_be_any_number() -> None:
    data = _source(300, 7).astype({"y": "float64"})
    data["y"] = data["y"] * 3.7 - 12
    found = from_source(data, _config("regression", min_class_rows=10_000), FEATURES)
    assert found.rows == 300  # no class counts for a regression model


def test_text_labels_are_refused_as_labels() -> None:
    data = _source(300, 8)
    data["y"] = np.where(data["y"] == 1, "yes", "no")
    with pytest.raises(DataError, match="0 or 1"):
        from_source(data, _config(min_class_rows=5), FEATURES)


@pytest.mark.parametrize("split", ["train", "validation", "holdout"])
def test_too_few_rows_of_a_class_in_any_split_are_refused(split: str) -> None:
    data = _source(400, 9).sort_values("ts").reset_index(drop=True)
    # 272 train, 48 validation, 80 holdout rows in time order: empty one split of positives
    where = {"train": slice(0, 272), "validation": slice(272, 320), "holdout": slice(320, 400)}
    data.loc[data.index[where[split]], "y"] = 0
    with pytest.raises(DataError, match=rf"the {split} split holds 0 positive") as err:
        from_source(data, _config(min_class_rows=5), FEATURES)
    assert err.value.field == "retrain.min_class_rows"
    assert "at least 5 of each" in str(err.value)


def test_a_class_at_exactly_min_class_rows_is_enough() -> None:
    data = _source(400, 10).sort_values("ts").reset_index(drop=True)
    data["y"] = 0
    # five positives in each split
    for start in (0, 272, 320):
        data.loc[start : start + 4, "y"] = 1
    found = from_source(data, _config(min_class_rows=5), FEATURES)
    assert int(found.holdout["label"].sum()) == 5
    with pytest.raises(DataError, match="at least 6 of each"):
        from_source(data, _config(min_class_rows=6), FEATURES)


def test_a_missing_target_column_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"columns\.target is 'y'") as err:
        from_source(_source(200, 11).drop(columns=["y"]), _config(), FEATURES)
    assert err.value.field == "columns.target"


# ---------------------------------------------------------------------------- blend sample


def _older(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": np.arange(n)[::-1], "prediction_id": [f"o{i}" for i in range(n)]}
    )


@settings(max_examples=100, deadline=None)
@given(
    share=st.floats(0.01, 0.95),
    window_rows=st.integers(0, 2000),
    available=st.integers(0, 500),
    seed=st.integers(0, 100),
)
def test_the_blend_sample_is_its_share(
    share: float, window_rows: int, available: int, seed: int
) -> None:
    older = _older(available)
    sample = _older_sample(older, window_rows, share, seed)
    wanted = round(share / (1 - share) * window_rows)
    if wanted >= available:
        assert len(sample) == available  # all there is
    else:
        assert len(sample) == wanted
        # the sample is share of sample + window, up to rounding to whole rows
        if window_rows:
            assert len(sample) / (len(sample) + window_rows) == pytest.approx(
                share, abs=1 / (len(sample) + window_rows)
            )
    assert sample["prediction_id"].is_unique
    assert set(sample["prediction_id"]) <= set(older["prediction_id"])
    assert sample["timestamp"].is_monotonic_increasing or len(sample) == available
    again = _older_sample(older, window_rows, share, seed)
    pd.testing.assert_frame_equal(sample, again)  # seeded


def test_the_blend_sample_by_hand() -> None:
    older = _older(1000)
    assert len(_older_sample(older, 800, 0.2, seed=0)) == 200  # 0.2/0.8 · 800
    assert len(_older_sample(older, 300, 0.5, seed=0)) == 300  # 0.5/0.5 · 300
    assert len(_older_sample(older, 100, 0.75, seed=0)) == 300  # 0.75/0.25 · 100
    assert len(_older_sample(older, 400, 0.75, seed=0)) == 1000  # wants 1200: all of them
    assert _older_sample(older, 400, 0.0, seed=0).empty
    assert _older_sample(older.iloc[0:0], 400, 0.5, seed=0).empty
    a = _older_sample(older, 800, 0.2, seed=0)
    b = _older_sample(older, 800, 0.2, seed=1)
    assert set(a.prediction_id) != set(b.prediction_id)  # the seed picks the rows
