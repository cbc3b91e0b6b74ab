"""Scoring validated feature rows for one served model version.

Training and monitoring type features through pandas (:func:`~driftpilot.retrain.frame.
model_frame`); per request that costs milliseconds. An XGBoost model with known category
levels gets a fast path instead: the rows go straight into a float32 matrix (numbers as they
are, booleans as 0/1, a category as its index among the training levels, a level the model
never saw as missing: the same typing as ``model_frame``) and into ``inplace_predict`` with the
trees early stopping kept, on one thread. Any other model (scikit-learn, pyfunc, no recorded
levels) is scored through ``model_frame``. Either way the scores equal
:meth:`LoadedModel.score`'s (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from driftpilot.schema import FeatureType

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from driftpilot.registry.client import LoadedModel

__all__ = ["Scorer"]


class Scorer:
    """Scores lists of ``{feature: value}`` rows (values already validated)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.version = loaded.version
        self.features = dict(loaded.features)
        self._names = list(self.features)
        self._kinds = [self.features[n] for n in self._names]
        self._codes: list[dict[str, float] | None] = []
        self._booster: Any = None
        self._range = (0, 0)
        levels = loaded.levels or {}
        categorical = [n for n, k in self.features.items() if k is FeatureType.CATEGORICAL]
        if loaded.flavor == "xgboost" and all(n in levels for n in categorical):
            model = loaded.model
            self._booster = model.get_booster() if hasattr(model, "get_booster") else model
            # one thread: a request scores a few rows, and XGBoost's default (every core)
            # costs 1.8–3.5 ms instead of 0.5 ms per row under load and fights the server
            # for the cores (measured with benchmarks/serve)
            self._booster.set_param({"nthread": 1})
            best = _best_iteration(model)
            self._range = (0, best + 1) if best is not None else (0, 0)
            self._codes = [
                {level: float(i) for i, level in enumerate(levels[n])}
                if k is FeatureType.CATEGORICAL
                else None
                for n, k in zip(self._names, self._kinds, strict=True)
            ]

    @property
    def fast(self) -> bool:
        return self._booster is not None

    def score(self, rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        if self._booster is None:
            import pandas as pd

            return self.loaded.score(pd.DataFrame(list(rows), columns=self._names))
        from driftpilot.errors import TrainingError

        matrix = self._matrix(rows)
        try:
            raw = self._booster.inplace_predict(
                matrix, iteration_range=self._range, validate_features=False
            )
        except Exception as exc:  # the model's own failure
            raise TrainingError(
                f"version {self.version} failed to score {len(rows)} rows: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        scores = np.asarray(raw, dtype=np.float64).reshape(len(rows), -1)[:, -1]
        if not np.isfinite(scores).all():
            raise TrainingError(f"version {self.version} returned non-finite scores")
        return scores

    def _matrix(self, rows: Sequence[Mapping[str, Any]]) -> NDArray[np.float32]:
        out = np.empty((len(rows), len(self._names)), dtype=np.float32)
        nan = math.nan
        for i, row in enumerate(rows):
            for j, name in enumerate(self._names):
                value = row.get(name)
                codes = self._codes[j]
                if value is None:
                    out[i, j] = nan
                elif codes is not None:
                    out[i, j] = codes.get(str(value).strip(), nan)
                else:  # numbers and booleans (True is 1.0), as model_frame types them
                    out[i, j] = float(value)
        return out


def _best_iteration(model: Any) -> int | None:
    """The last tree early stopping kept (XGBoost's predict uses no more than these)."""
    try:
        best = model.best_iteration
    except (AttributeError, KeyError, ValueError):
        return None
    return int(best) if best is not None else None
