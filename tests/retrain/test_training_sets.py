"""Training sets split by time, the model's input frame, and trainers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.config import parse_config
from driftpilot.errors import ConfigError, DataError, SchemaError, TrainingError
from driftpilot.retrain.data import _older_sample, from_source, split_by_time
from driftpilot.retrain.frame import model_frame
from driftpilot.retrain.trainers import (
    builtin_xgboost,
    load_trainer,
    run_trainer,
    score_model,
    training_data,
)
from driftpilot.schema import FeatureType

NUMERIC = {"x": FeatureType.NUMERIC}


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(3, 200),
    holdout=st.floats(0.05, 0.8),
    validation=st.floats(0.05, 0.8),
    older=st.integers(0, 20),
    seed=st.integers(0, 1000),
)
def test_the_split_partitions_the_window_by_time(
    n: int, holdout: float, validation: float, older: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    window = pd.DataFrame(
        {"timestamp": rng.integers(0, 50, n), "prediction_id": rng.permutation(n)}
    )
    old = pd.DataFrame({"timestamp": -1 - np.arange(older), "prediction_id": n + np.arange(older)})
    train, valid, hold = split_by_time(window, holdout=holdout, validation=validation, older=old)
    ids = [*train.prediction_id, *valid.prediction_id, *hold.prediction_id]
    assert sorted(ids) == list(range(n + older))  # every row once
    assert len(hold) == max(1, math.ceil(holdout * n))
    rest = n - len(hold)
    assert len(valid) == min(rest, max(1, math.ceil(validation * rest)))
    assert set(old.prediction_id) <= set(train.prediction_id)  # older rows only train
    # the holdout is the newest, the validation the next newest
    if len(valid):
        assert valid.timestamp.max() <= hold.timestamp.min()
    if len(train) > older:
        assert train.timestamp.max() <= valid.timestamp.min()


def _config(**retrain: object) -> object:
    return parse_config(
        {
            "columns": {"timestamp": "ts", "target": "y"},
            "retrain": {"min_rows": 100, "min_class_rows": 20, **retrain},
        }
    )


def _data(n: int = 1000, positive: float = 0.3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
            "x": rng.normal(size=n),
            "y": (rng.random(n) < positive).astype(int),
        }
    )


def test_from_source_splits_and_fingerprints() -> None:
    data = _data()
    found = from_source(data, _config(), NUMERIC)
    assert (len(found.train), len(found.validation), len(found.holdout)) == (680, 120, 200)
    assert found.holdout.timestamp.min() > found.train.timestamp.max()
    shuffled = from_source(data.sample(frac=1, random_state=1), _config(), NUMERIC)
    assert shuffled.fingerprint() == found.fingerprint()  # the same rows, any order
    flipped = data.copy()
    flipped.loc[5, "y"] = 1 - flipped.loc[5, "y"]
    assert from_source(flipped, _config(), NUMERIC).fingerprint() != found.fingerprint()


def test_too_few_rows_one_class_and_bad_labels_are_refused() -> None:
    with pytest.raises(DataError, match=r"retrain.min_rows: a retrain needs at least 100 "):
        from_source(_data(50), _config(), NUMERIC)
    with pytest.raises(DataError, match=r"0 positive .* at least 20 of each"):
        from_source(_data(positive=0.0), _config(), NUMERIC)
    rare = _data(positive=0.02, seed=3)
    with pytest.raises(DataError, match=r"retrain.min_class_rows"):
        from_source(rare, _config(), NUMERIC)
    bad = _data()
    bad.loc[3, "y"] = 2
    with pytest.raises(DataError, match="must be 0 or 1"):
        from_source(bad, _config(), NUMERIC)
    with pytest.raises(SchemaError, match=r"columns.target"):
        from_source(_data().drop(columns=["y"]), _config(), NUMERIC)


def test_the_blend_sample_is_its_share_of_the_training_set() -> None:
    older = pd.DataFrame({"timestamp": range(1000), "prediction_id": range(1000)})
    assert len(_older_sample(older, 600, 0.25, seed=0)) == 200  # 200 / (200 + 600) = 0.25
    assert len(_older_sample(older, 600, 0.0, seed=0)) == 0
    assert len(_older_sample(older, 9000, 0.5, seed=0)) == 1000  # all there is


def test_model_frame_types_each_kind() -> None:
    raw = pd.DataFrame(
        {
            "n": ["1.5", "oops", None],
            "b": ["true", "0", None],
            "c": ["b", "a", None],
            "extra": [1, 2, 3],
        }
    )
    kinds = {"n": FeatureType.NUMERIC, "b": FeatureType.BOOLEAN, "c": FeatureType.CATEGORICAL}
    out = model_frame(raw, kinds)
    assert list(out.columns) == ["n", "b", "c"]
    assert out["n"].tolist()[0] == 1.5
    assert np.isnan(out["n"].tolist()[1])
    assert out["b"].tolist()[:2] == [1.0, 0.0]
    assert list(out["c"].cat.categories) == ["a", "b"]
    assert out["c"].isna().tolist() == [False, False, True]
    with pytest.raises(SchemaError, match="'missing'"):
        model_frame(raw, {"missing": FeatureType.NUMERIC})


def _classification(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "pro", "max"], n)
    x = rng.normal(size=n)
    logit = 1.5 * x + np.select([plan == "pro", plan == "max"], [1.0, -1.0], 0.0)
    return pd.DataFrame(
        {"x": x, "plan": plan, "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)}
    )


KINDS = {"x": FeatureType.NUMERIC, "plan": FeatureType.CATEGORICAL}


def test_builtin_xgboost_stops_early_and_rescores_categories_by_name() -> None:
    data = training_data(
        _classification(3000, 0), _classification(800, 1), KINDS, "binary", {"n_estimators": 400}, 0
    )
    trained = builtin_xgboost(data)
    assert trained.metrics["best_iteration"] < 399  # early stopping stopped it
    assert "valid_logloss" in trained.metrics
    rows = pd.DataFrame({"x": [0.0, 0.0, 0.0], "plan": ["max", "basic", "pro"]})
    scores = score_model(trained.model, model_frame(rows, KINDS), "binary", who="m")
    # the same rows in another order: levels are matched by name, not by code
    again = score_model(trained.model, model_frame(rows.iloc[::-1], KINDS), "binary", who="m")
    assert scores == pytest.approx(again[::-1])
    assert scores[2] > scores[1] > scores[0]  # pro > basic > max, as the data says
    valid = data.y_valid
    predicted = score_model(trained.model, data.x_valid, "binary", who="m")
    loss = -np.mean(valid * np.log(predicted) + (1 - valid) * np.log(1 - predicted))
    base = valid.mean()
    constant = -np.mean(valid * np.log(base) + (1 - valid) * np.log(1 - base))
    assert loss < constant - 0.05


def test_builtin_xgboost_regression_beats_the_mean() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=2000), "plan": rng.choice(["a", "b"], 2000)})
    frame["label"] = 3 * frame["x"] + (frame["plan"] == "b") * 2 + rng.normal(0, 0.5, 2000)
    data = training_data(frame.iloc[:1600], frame.iloc[1600:], KINDS, "regression", {}, 0)
    trained = builtin_xgboost(data)
    predicted = score_model(trained.model, data.x_valid, "regression", who="m")
    rmse = np.sqrt(np.mean((predicted - data.y_valid) ** 2))
    assert rmse < 0.25 * np.std(data.y_valid)


def test_user_trainers_are_loaded_and_their_failures_named(tmp_path: Path) -> None:
    (tmp_path / "my_trainers_a.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "def logistic(data):\n"
        "    return LogisticRegression().fit(data.x_train[['x']], data.y_train)\n"
        "def broken(data):\n"
        "    raise ValueError('no GPU here')\n"
        "def nothing(data):\n"
        "    return None\n"
    )
    data = training_data(_classification(500, 0), _classification(200, 1), KINDS, "binary", {}, 0)
    trainer = load_trainer("my_trainers_a:logistic", root=tmp_path)
    trained = run_trainer(trainer, data, "my_trainers_a:logistic")
    assert hasattr(trained.model, "predict_proba")
    with pytest.raises(TrainingError, match=r"'my_trainers_a:broken' raised ValueError: no GPU"):
        run_trainer(
            load_trainer("my_trainers_a:broken", root=tmp_path), data, "my_trainers_a:broken"
        )
    with pytest.raises(TrainingError, match="returned no model"):
        run_trainer(load_trainer("my_trainers_a:nothing", root=tmp_path), data, "x")
    with pytest.raises(
        ConfigError, match=r"retrain.trainer: module 'my_trainers_a' has no function"
    ):
        load_trainer("my_trainers_a:absent", root=tmp_path)
    with pytest.raises(ConfigError, match="cannot import the trainer module 'no_such_module_zz'"):
        load_trainer("no_such_module_zz:train", root=tmp_path)
    assert load_trainer("builtin") is builtin_xgboost


class _Fixed:
    def __init__(self, values: list[float]) -> None:
        self.values = np.array(values)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.values[: len(frame)]


def test_scores_a_model_cannot_give_are_refused() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(TrainingError, match=r"outside \[0, 1\]"):
        score_model(_Fixed([0.5, 1.5]), frame, "binary", who="candidate")
    with pytest.raises(TrainingError, match="non-finite"):
        score_model(_Fixed([0.5, float("nan")]), frame, "regression", who="candidate")
    assert score_model(_Fixed([7.0, -3.0]), frame, "regression", who="m").tolist() == [7.0, -3.0]


def test_configuration_refusals_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"retrain.gate names \['rmse'\].*binary"):
        parse_config({"retrain": {"gate": {"metric": "rmse"}}})
    with pytest.raises(ConfigError, match=r"retrain.gate.floors: unknown metrics"):
        parse_config({"retrain": {"gate": {"floors": {"auc": 0.7}}}})
    with pytest.raises(ConfigError, match=r"retrain.trainer: expected 'builtin' or an entry point"):
        parse_config({"retrain": {"trainer": "not an entry point"}})
    with pytest.raises(ConfigError, match=r"model.name: expected a name of letters"):
        parse_config({"model": {"name": "churn' or name != '"}})
    with pytest.raises(ConfigError, match=r"retrain.holdout"):
        parse_config({"retrain": {"holdout": 0.95}})
