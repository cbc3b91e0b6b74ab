"""Trainers: the built-in XGBoost trainer and the protocol a user's trainer follows.

A trainer is a function ``train(data: TrainingData) -> model`` named in driftpilot.yaml as
``retrain.trainer: package.module:function``. ``data`` holds the training and validation
splits already typed by :func:`~driftpilot.retrain.frame.model_frame` (numeric float64,
boolean 0/1, categorical ``category``), the labels as numpy arrays, the task, the parameters
from ``retrain.params`` and a seed. The holdout is never shown to a trainer: it belongs to
the evaluation gate.

The function returns either the fitted model or a :class:`Trained` (the model plus the
parameters and metrics to log with it). The model must be an XGBoost model (logged with
MLflow's xgboost flavor), a scikit-learn estimator (sklearn flavor) or an
``mlflow.pyfunc.PythonModel``; a binary model scores with ``predict_proba`` (the positive
class's column) or returns probabilities from ``predict``, a regression model with
``predict``. Whatever a trainer raises becomes a :class:`~driftpilot.errors.TrainingError`
that names it.

Example ``trainers.py`` in the user's project::

    from sklearn.linear_model import LogisticRegression

    def logistic(data):
        numeric = data.x_train.select_dtypes("number").fillna(0)
        model = LogisticRegression(C=data.params.get("C", 1.0), max_iter=500)
        return model.fit(numeric, data.y_train)   # (a real one would pipeline categoricals)
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftpilot.errors import ConfigError, TrainingError
from driftpilot.schema import FeatureType

__all__ = ["Trained", "TrainingData", "builtin_xgboost", "load_trainer", "score_model"]

Task = Literal["binary", "regression"]


@dataclass(frozen=True)
class TrainingData:
    """What a trainer gets (see the module docstring)."""

    task: Task
    features: dict[str, FeatureType]
    x_train: pd.DataFrame
    y_train: NDArray[np.float64]
    x_valid: pd.DataFrame
    y_valid: NDArray[np.float64]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Trained:
    """A fitted model with the parameters and metrics to log beside it."""

    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


XGBOOST_DEFAULTS: dict[str, Any] = {
    "n_estimators": 600,
    "learning_rate": 0.05,
    "max_depth": 5,
    "min_child_weight": 5,
    "subsample": 0.9,
    "colsample_bytree": 0.9,
    "early_stopping_rounds": 40,
    "tree_method": "hist",
    "max_cat_to_onehot": 8,
}


def builtin_xgboost(data: TrainingData) -> Trained:
    """XGBoost with early stopping on the validation split (log loss, or RMSE)."""
    import xgboost

    params = {**XGBOOST_DEFAULTS, **data.params}
    params.setdefault("random_state", data.seed)
    params.setdefault("n_jobs", 0)
    cls = xgboost.XGBClassifier if data.task == "binary" else xgboost.XGBRegressor
    try:
        model = cls(enable_categorical=True, **params)
    except TypeError as exc:
        raise ConfigError(
            str(exc), field="retrain.params", hint="see XGBoost's parameters"
        ) from exc
    model.fit(data.x_train, data.y_train, eval_set=[(data.x_valid, data.y_valid)], verbose=False)
    result = model.evals_result().get("validation_0", {})
    metrics = {
        f"valid_{name}": float(values[model.best_iteration])
        for name, values in result.items()
        if values
    }
    metrics["best_iteration"] = float(model.best_iteration)
    logged = {k: v for k, v in params.items() if k not in {"n_jobs"}}
    return Trained(model, {"trainer": "builtin-xgboost", **logged}, metrics)


def load_trainer(entry_point: str, *, root: Path | None = None) -> Callable[[TrainingData], Any]:
    """The trainer named ``builtin`` or ``package.module:function`` (the workspace folder
    ``root`` is searched for the module first)."""
    if entry_point == "builtin":
        return builtin_xgboost
    module_name, _, name = entry_point.partition(":")
    local = root / (module_name.replace(".", "/") + ".py") if root is not None else None
    try:
        if local is not None and local.is_file():
            # loaded from the workspace's file each time, under a name of its own: an edited
            # trainer is picked up by a long-running scheduler, and two workspaces never share
            # a module
            unique = f"driftpilot_trainer_{abs(hash(str(local)))}"
            spec = importlib.util.spec_from_file_location(unique, local)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {local}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique] = module  # dataclasses and pickling look the module up
            sys.path.insert(0, str(root))  # its sibling modules import while it loads
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(root))
        else:
            module = importlib.import_module(module_name)
    except Exception as exc:  # an import error or the module's own failure at import
        raise ConfigError(
            f"cannot import the trainer module {module_name!r}: {type(exc).__name__}: {exc}",
            field="retrain.trainer",
            hint="put the module in the workspace folder or on PYTHONPATH",
        ) from exc
    trainer = getattr(module, name, None)
    if not callable(trainer):
        raise ConfigError(
            f"module {module_name!r} has no function {name!r}",
            field="retrain.trainer",
            hint="name a function train(data) -> model as module:function",
        )
    return trainer  # type: ignore[no-any-return]


def run_trainer(trainer: Callable[[TrainingData], Any], data: TrainingData, name: str) -> Trained:
    """Call ``trainer`` and translate what it raises or returns wrongly."""
    try:
        out = trainer(data)
    except ConfigError:
        raise
    except Exception as exc:  # any failure inside user code is reported, not propagated raw
        raise TrainingError(
            f"the trainer {name!r} raised {type(exc).__name__}: {exc}",
            field="retrain.trainer",
            hint="fix the trainer; no model was registered and no alias moved",
        ) from exc
    trained = out if isinstance(out, Trained) else Trained(out)
    bad = {
        k: v
        for k, v in trained.metrics.items()
        if not isinstance(v, int | float) or not math.isfinite(v)
    }
    if bad:
        raise TrainingError(
            f"the trainer {name!r} returned metrics that are not finite numbers: {bad}",
            field="retrain.trainer",
            hint="Trained.metrics maps names to numbers",
        )
    if trained.model is None:
        raise TrainingError(
            f"the trainer {name!r} returned no model",
            field="retrain.trainer",
            hint="return the fitted model (or driftpilot.retrain.trainers.Trained)",
        )
    return trained


def score_model(model: Any, frame: pd.DataFrame, task: str, *, who: str) -> NDArray[np.float64]:
    """Scores of ``model`` on ``frame``: the positive class's probability, or the value."""
    try:
        if task == "binary" and hasattr(model, "predict_proba"):
            raw = np.asarray(model.predict_proba(frame))
            raw = raw[:, -1] if raw.ndim == 2 else raw
        else:
            raw = np.asarray(model.predict(frame))
            raw = raw[:, -1] if raw.ndim == 2 and raw.shape[1] > 1 else raw.reshape(len(frame))
        scores = raw.astype(np.float64)
    except Exception as exc:  # the model's own failure when scoring
        raise TrainingError(
            f"{who} failed to score {len(frame):,} rows: {type(exc).__name__}: {exc}",
            hint="check that the model takes the features driftpilot passes (model_frame)",
        ) from exc
    if scores.shape != (len(frame),) or not np.isfinite(scores).all():
        raise TrainingError(
            f"{who} returned {scores.shape} scores with non-finite values for {len(frame):,} rows",
            hint="a model must return one finite score per row",
        )
    if task == "binary" and ((scores < 0) | (scores > 1)).any():
        raise TrainingError(
            f"{who} returned scores outside [0, 1] (min {scores.min():.3g}, max "
            f"{scores.max():.3g}); a binary model's score is the positive class's probability",
            hint="return predict_proba, or probabilities from predict",
        )
    return scores


def training_data(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: Mapping[str, FeatureType],
    task: Task,
    params: Mapping[str, Any],
    seed: int,
) -> TrainingData:
    from driftpilot.retrain.frame import model_frame

    # one frame for both, so the two splits share their categories' levels
    both = model_frame(pd.concat([train, valid], ignore_index=True), features)
    return TrainingData(
        task=task,
        features=dict(features),
        x_train=both.iloc[: len(train)].reset_index(drop=True),
        y_train=train["label"].to_numpy(dtype=np.float64),
        x_valid=both.iloc[len(train) :].reset_index(drop=True),
        y_valid=valid["label"].to_numpy(dtype=np.float64),
        params=dict(params),
        seed=seed,
    )
