"""Trainers: the built-in XGBoost trainer, user trainers, scoring, and their configuration."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from driftpilot.config import parse_config
from driftpilot.errors import ConfigError, TrainingError
from driftpilot.retrain.trainers import (
    Trained,
    TrainingData,
    builtin_xgboost,
    load_trainer,
    run_trainer,
    score_model,
    training_data,
)
from driftpilot.schema import FeatureType

FEATURES = {"x": FeatureType.NUMERIC, "z": FeatureType.NUMERIC, "plan": FeatureType.CATEGORICAL}
FAST = {"n_estimators": 300, "learning_rate": 0.3, "early_stopping_rounds": 10, "n_jobs": 2}


def _binary(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    plan = rng.choice(["a", "b", "c"], n)
    logit = 1.2 * x - 0.8 * z + np.select([plan == "b", plan == "c"], [1.0, -1.0], 0.0)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return pd.DataFrame({"x": x, "z": z, "plan": plan, "label": label})


def _regression(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    plan = rng.choice(["a", "b", "c"], n)
    label = 3 * x + np.sin(2 * z) + 2.0 * (plan == "b") + rng.normal(0, 0.5, n)
    return pd.DataFrame({"x": x, "z": z, "plan": plan, "label": label})


def _data(
    task: Literal["binary", "regression"], params: dict[str, Any] | None = None, seed: int = 0
) -> TrainingData:
    make = _binary if task == "binary" else _regression
    return training_data(
        make(1200, seed),
        make(400, seed + 1),
        FEATURES,
        task,
        params or FAST,
        0,
    )


# ---------------------------------------------------------------------------- builtin


def test_builtin_xgboost_binary_stops_early_and_beats_the_prior() -> None:
    data = _data("binary")
    trained = builtin_xgboost(data)
    best = trained.metrics["best_iteration"]
    assert best == trained.model.best_iteration
    assert 0 <= best < 300 - 10  # stopped before running out of rounds
    scores = score_model(trained.model, data.x_valid, "binary", who="candidate")
    # the logged validation loss is the loss of the model as it scores (at its best round)
    loss = sk.log_loss(data.y_valid, scores)
    assert trained.metrics["valid_logloss"] == pytest.approx(loss, rel=1e-4)
    prior = np.full(len(data.y_valid), data.y_train.mean())
    assert loss < sk.log_loss(data.y_valid, prior) - 0.1
    assert sk.roc_auc_score(data.y_valid, scores) > 0.75
    assert trained.params["trainer"] == "builtin-xgboost"
    assert trained.params["learning_rate"] == 0.3
    assert trained.params["max_depth"] == 5  # a default the user did not override
    assert "n_jobs" not in trained.params


def test_builtin_xgboost_regression_stops_early_and_beats_the_mean() -> None:
    data = _data("regression")
    trained = builtin_xgboost(data)
    assert trained.metrics["best_iteration"] < 300 - 10
    predicted = score_model(trained.model, data.x_valid, "regression", who="candidate")
    rmse = float(np.sqrt(sk.mean_squared_error(data.y_valid, predicted)))
    assert trained.metrics["valid_rmse"] == pytest.approx(rmse, rel=1e-4)
    mean = np.full(len(data.y_valid), data.y_train.mean())
    assert rmse < 0.4 * np.sqrt(sk.mean_squared_error(data.y_valid, mean))


def test_builtin_xgboost_is_seeded_and_takes_user_params() -> None:
    params = {**FAST, "max_depth": 2, "subsample": 0.7}
    first = builtin_xgboost(_data("binary", params))
    again = builtin_xgboost(_data("binary", params))
    x = _data("binary", params).x_valid
    np.testing.assert_array_equal(
        score_model(first.model, x, "binary", who="a"),
        score_model(again.model, x, "binary", who="b"),
    )
    assert first.model.max_depth == 2
    assert first.params["max_depth"] == 2
    assert first.params["random_state"] == 0


def test_training_data_shares_levels_between_splits() -> None:
    train = _binary(50, 0).assign(plan="a")
    valid = _binary(20, 1).assign(plan=["a", "b"] * 10)
    data = training_data(train, valid, FEATURES, "binary", {"C": 2}, 7)
    assert list(data.x_train["plan"].cat.categories) == ["a", "b"]
    assert list(data.x_valid["plan"].cat.categories) == ["a", "b"]
    assert list(data.x_train.columns) == list(FEATURES)
    assert "label" not in data.x_train.columns
    assert data.y_train.dtype == np.float64
    np.testing.assert_array_equal(data.y_valid, valid["label"].to_numpy())
    assert (len(data.x_train), len(data.x_valid)) == (50, 20)
    assert data.params == {"C": 2}
    assert data.seed == 7


# ---------------------------------------------------------------------------- load_trainer

TINY = training_data(_binary(20, 0), _binary(10, 1), FEATURES, "binary", {}, 0)


def _run(entry_point: str, root: Path) -> Any:
    return load_trainer(entry_point, root=root)(TINY)


@pytest.fixture
def module_name(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh module name; sys.path and sys.modules are restored afterwards."""
    name = f"user_trainers_{uuid.uuid4().hex}"
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


USER_TRAINERS = """
from sklearn.linear_model import LogisticRegression

from driftpilot.retrain.trainers import Trained

MARK = "root"


def logistic(data):
    model = LogisticRegression(C=data.params.get("C", 1.0), max_iter=500)
    return model.fit(data.x_train[["x", "z"]], data.y_train)


def wrapped(data):
    return Trained(logistic(data), params={"C": 1.0}, metrics={"fitted": 1.0})


def broken(data):
    raise RuntimeError("out of memory on rank 0")


def nothing(data):
    return None


def empty(data):
    return Trained(None)


NOT_A_FUNCTION = 3
"""


class _Columns:
    """Scores with the logistic model on the two numeric features it was trained on."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(frame[["x", "z"]]))


def test_a_user_trainer_is_loaded_from_the_root(tmp_path: Path, module_name: str) -> None:
    (tmp_path / f"{module_name}.py").write_text(USER_TRAINERS)
    trainer = load_trainer(f"{module_name}:logistic", root=tmp_path)
    data = _data("binary", {"C": 0.5})
    trained = run_trainer(trainer, data, f"{module_name}:logistic")
    assert type(trained.model).__name__ == "LogisticRegression"
    assert trained.model.C == 0.5  # params reach the trainer
    assert trained.params == {}  # a bare model is wrapped
    scores = score_model(_Columns(trained.model), data.x_valid, "binary", who="candidate")
    assert ((scores >= 0) & (scores <= 1)).all()
    assert sk.roc_auc_score(data.y_valid, scores) > 0.7
    wrapped = run_trainer(load_trainer(f"{module_name}:wrapped", root=tmp_path), data, "w")
    assert wrapped.metrics == {"fitted": 1.0}


def test_the_root_is_searched_first(tmp_path: Path, module_name: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    root = tmp_path / "root"
    elsewhere.mkdir()
    root.mkdir()
    (elsewhere / f"{module_name}.py").write_text('MARK = "elsewhere"\ndef logistic(data): ...\n')
    (root / f"{module_name}.py").write_text(USER_TRAINERS)
    sys.path.insert(0, str(elsewhere))
    trainer = load_trainer(f"{module_name}:logistic", root=root)
    assert trainer.__globals__["MARK"] == "root"
    # without the file in the root, the module is imported from the path
    fallback = load_trainer(f"{module_name}:logistic", root=tmp_path / "empty")
    assert fallback.__globals__["MARK"] == "elsewhere"


def test_an_edited_trainer_file_is_loaded_again(tmp_path: Path, module_name: str) -> None:
    path = tmp_path / f"{module_name}.py"
    path.write_text("def train(data):\n    return 'first'\n")
    assert _run(f"{module_name}:train", tmp_path) == "first"
    path.write_text("def train(data):\n    return 'the second'\n")
    assert _run(f"{module_name}:train", tmp_path) == "the second"
    # two workspaces with a module of the same name do not share it
    other = tmp_path / "other"
    other.mkdir()
    (other / f"{module_name}.py").write_text("def train(data):\n    return 'other'\n")
    assert _run(f"{module_name}:train", other) == "other"
    assert _run(f"{module_name}:train", tmp_path) == "the second"


def test_a_trainer_may_import_its_sibling_modules(tmp_path: Path, module_name: str) -> None:
    helper = f"{module_name}_helpers"
    (tmp_path / f"{helper}.py").write_text("def columns():\n    return ['x', 'z']\n")
    (tmp_path / f"{module_name}.py").write_text(
        f"from {helper} import columns\n\ndef train(data):\n    return columns()\n"
    )
    try:
        trainer = load_trainer(f"{module_name}:train", root=tmp_path)
    finally:
        sys.modules.pop(helper, None)
    assert trainer(TINY) == ["x", "z"]


def test_a_trainer_module_may_define_dataclasses(tmp_path: Path, module_name: str) -> None:
    (tmp_path / f"{module_name}.py").write_text(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n\n"
        "@dataclass\n"
        "class Settings:\n"
        "    depth: int = 3\n\n"
        "def train(data):\n"
        "    return Settings()\n"
    )
    trainer = load_trainer(f"{module_name}:train", root=tmp_path)
    assert trainer(TINY).depth == 3


def test_builtin_names_the_builtin_trainer() -> None:
    assert load_trainer("builtin") is builtin_xgboost
    assert load_trainer("builtin", root=Path("/nonexistent")) is builtin_xgboost


def test_a_missing_module_is_a_config_error(tmp_path: Path, module_name: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"cannot import the trainer module '{module_name}'"
    ) as e:
        load_trainer(f"{module_name}:train", root=tmp_path)
    assert e.value.field == "retrain.trainer"
    assert str(e.value).startswith("retrain.trainer: ")
    assert "ModuleNotFoundError" in str(e.value)


def test_a_module_failing_at_import_is_a_config_error(tmp_path: Path, module_name: str) -> None:
    (tmp_path / f"{module_name}.py").write_text("import no_such_dependency_zz\n")
    with pytest.raises(ConfigError, match="no_such_dependency_zz") as e:
        load_trainer(f"{module_name}:train", root=tmp_path)
    assert e.value.field == "retrain.trainer"


@pytest.mark.parametrize("function", ["absent", "NOT_A_FUNCTION"])
def test_a_missing_function_is_a_config_error(
    tmp_path: Path, module_name: str, function: str
) -> None:
    (tmp_path / f"{module_name}.py").write_text(USER_TRAINERS)
    with pytest.raises(
        ConfigError,
        match=rf"^retrain\.trainer: module '{module_name}' has no function '{function}'",
    ):
        load_trainer(f"{module_name}:{function}", root=tmp_path)


# ---------------------------------------------------------------------------- run_trainer


def test_a_raising_trainer_becomes_a_training_error(tmp_path: Path, module_name: str) -> None:
    (tmp_path / f"{module_name}.py").write_text(USER_TRAINERS)
    name = f"{module_name}:broken"
    with pytest.raises(TrainingError) as e:
        run_trainer(load_trainer(name, root=tmp_path), _data("binary"), name)
    message = str(e.value)
    assert f"the trainer '{name}' raised RuntimeError: out of memory on rank 0" in message
    assert e.value.field == "retrain.trainer"
    assert isinstance(e.value.__cause__, RuntimeError)


@pytest.mark.parametrize("function", ["nothing", "empty"])
def test_a_trainer_returning_no_model_is_a_training_error(
    tmp_path: Path, module_name: str, function: str
) -> None:
    (tmp_path / f"{module_name}.py").write_text(USER_TRAINERS)
    name = f"{module_name}:{function}"
    with pytest.raises(TrainingError, match=rf"the trainer '{name}' returned no model"):
        run_trainer(load_trainer(name, root=tmp_path), _data("binary"), name)


def test_config_errors_pass_through_unchanged() -> None:
    refusal = ConfigError("bad parameter", field="retrain.params")

    def trainer(data: TrainingData) -> Any:
        raise refusal

    with pytest.raises(ConfigError) as e:
        run_trainer(trainer, _data("binary"), "t")
    assert e.value is refusal


def test_a_returned_trained_is_kept_as_it_is() -> None:
    out = Trained(object(), {"a": 1}, {"b": 2.0, "rounds": 3})
    assert run_trainer(lambda data: out, _data("binary"), "t") is out


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "high", None])
def test_metrics_that_are_not_finite_numbers_are_refused(value: Any) -> None:
    out = Trained(object(), metrics={"valid_auc": 0.8, "valid_loss": value})
    with pytest.raises(TrainingError, match=r"'mine' returned metrics that are not finite") as e:
        run_trainer(lambda data: out, _data("binary"), "mine")
    assert "valid_loss" in str(e.value)
    assert "valid_auc" not in str(e.value)


def test_bad_builtin_params_fail_as_a_training_error() -> None:
    data = _data("binary", {**FAST, "max_depth": "deep"})
    with pytest.raises(TrainingError, match="the trainer 'builtin' raised"):
        run_trainer(builtin_xgboost, data, "builtin")


# ---------------------------------------------------------------------------- score_model


class _Predicts:
    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values, dtype=np.float64)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.values


class _Proba(_Predicts):
    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.values

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise AssertionError("a binary model with predict_proba is scored by it")


class _Fails:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise KeyError("tenure")


FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


def test_binary_scores_are_the_positive_class_probability() -> None:
    proba = _Proba([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    assert score_model(proba, FRAME, "binary", who="m").tolist() == [0.1, 0.8, 0.5]
    # no predict_proba: predict's probabilities, one column or the last of two
    assert score_model(_Predicts([0.1, 0.2, 0.3]), FRAME, "binary", who="m").tolist() == [
        0.1,
        0.2,
        0.3,
    ]
    two = _Predicts([[0.7, 0.3], [0.4, 0.6], [1.0, 0.0]])
    assert score_model(two, FRAME, "binary", who="m").tolist() == [0.3, 0.6, 0.0]
    column = _Predicts([[1.5], [-2.0], [7.0]])
    assert score_model(column, FRAME, "regression", who="m").tolist() == [1.5, -2.0, 7.0]


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        ([0.5, 1.2, 0.1], "binary", r"returned scores outside \[0, 1\] \(min 0.1, max 1.2\)"),
        ([0.5, -0.01, 0.1], "binary", r"outside \[0, 1\]"),
        ([0.5, np.nan, 0.1], "binary", "non-finite"),
        ([0.5, np.inf, 0.1], "regression", "non-finite"),
        ([0.5, 0.1], "regression", "failed to score 3 rows"),  # one score missing
    ],
)
def test_scores_a_model_cannot_give_are_refused(
    values: list[float], task: str, message: str
) -> None:
    with pytest.raises(TrainingError, match=message) as e:
        score_model(_Predicts(values), FRAME, task, who="the new model")
    assert str(e.value).startswith("the new model ")


def test_a_model_failing_to_score_is_a_training_error() -> None:
    with pytest.raises(TrainingError, match=r"version 3 failed to score 3 rows: KeyError") as e:
        score_model(_Fails(), FRAME, "regression", who="version 3")
    assert isinstance(e.value.__cause__, KeyError)


def test_regression_scores_may_leave_0_1() -> None:
    assert score_model(_Predicts([-5.0, 0.5, 40.0]), FRAME, "regression", who="m").tolist() == [
        -5.0,
        0.5,
        40.0,
    ]


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("retrain", "task", "message"),
    [
        ({"gate": {"metric": "rmse"}}, "binary", r"retrain\.gate names \['rmse'\].*binary"),
        ({"gate": {"metric": "roc_auc"}}, "regression", r"retrain\.gate names \['roc_auc'\]"),
        ({"gate": {"floors": {"recall": 0.5}}}, "regression", r"retrain\.gate names \['recall'\]"),
        ({"gate": {"floors": {"auc": 0.7}}}, "binary", r"retrain\.gate\.floors: unknown metrics"),
        ({"gate": {"metric": "gini"}}, "binary", r"retrain\.gate\.metric: unknown metric 'gini'"),
        ({"gate": {"confidence": 1.0}}, "binary", r"retrain\.gate\.confidence"),
        ({"gate": {"bootstrap": 5}}, "binary", r"retrain\.gate\.bootstrap"),
        ({"gate": {"margn": 0.1}}, "binary", r"retrain\.gate\.margn: unknown key.*'margin'"),
        ({"trainer": "trainers"}, "binary", r"retrain\.trainer: expected 'builtin' or an entry"),
        ({"trainer": "my trainers:fit"}, "binary", r"retrain\.trainer: expected"),
        ({"trainer": "pkg.mod:"}, "binary", r"retrain\.trainer: expected"),
        ({"holdout": 0.0}, "binary", r"retrain\.holdout"),
        ({"validation": 0.95}, "binary", r"retrain\.validation"),
        ({"min_rows": 5}, "binary", r"retrain\.min_rows"),
        ({"min_class_rows": 0}, "binary", r"retrain\.min_class_rows"),
        ({"blend": {"share": 1.0}}, "binary", r"retrain\.blend\.share"),
        ({"blend": {"source": "archive"}}, "binary", r"retrain\.blend\.source"),
    ],
)
def test_bad_retrain_settings_are_refused_naming_the_field(
    retrain: dict[str, Any], task: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"model": {"task": task}, "retrain": retrain})


def test_good_retrain_settings_are_accepted() -> None:
    config = parse_config(
        {
            "model": {"task": "regression"},
            "retrain": {
                "trainer": "my_pkg.trainers:fit_forest",
                "params": {"n_estimators": 50},
                "gate": {"floors": {"rmse": 3.0, "r2": 0.5}, "margin": 0.01},
            },
        }
    )
    retrain = config.retrain
    assert retrain.trainer == "my_pkg.trainers:fit_forest"
    assert retrain.gate.primary("regression") == "rmse"
    assert retrain.gate.floors == {"rmse": 3.0, "r2": 0.5}
    defaults = parse_config({}).retrain
    assert defaults.trainer == "builtin"
    assert defaults.gate.primary("binary") == "roc_auc"
    assert (defaults.holdout, defaults.validation, defaults.min_rows) == (0.2, 0.15, 1000)
