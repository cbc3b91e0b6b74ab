"""The one way driftpilot hands features to a model, in training and in scoring alike.

Numeric features become float64 (NaN for missing or unparseable values), booleans become
0.0/1.0 (NaN for missing), categorical features become a pandas ``category`` column of their
text values. Given the levels a model was trained on, a categorical column keeps exactly those
levels: a value the model never saw becomes missing (XGBoost would otherwise score it as a
neighbouring level, or refuse the whole batch), and a batch where the feature is missing in
every row still carries the levels. XGBoost (≥ 3.1) re-codes categories by name, so the level
order cannot swap levels either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from driftpilot.errors import SchemaError
from driftpilot.schema import FeatureType

__all__ = ["levels_of", "model_frame"]

_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _boolean(column: pd.Series) -> pd.Series:
    def one(value: Any) -> float:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return np.nan
        if isinstance(value, bool | np.bool_ | int | np.integer | float | np.floating):
            return float(bool(value))
        text = str(value).strip().lower()
        return 1.0 if text in _TRUE else 0.0 if text in _FALSE else np.nan

    if column.dtype == bool:
        return column.astype("float64")
    return column.map(one).astype("float64")


def _categorical(column: pd.Series, known: list[str] | None) -> pd.Categorical:
    text = column.astype("string").str.strip()
    text = text.mask(text == "")
    levels = known if known is not None else sorted(text.dropna().unique().tolist())
    text = text.where(text.isin(levels))  # a level the model never saw: missing
    return pd.Categorical(text.astype(object).where(text.notna(), None), categories=levels)


def levels_of(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The levels of each categorical column of a :func:`model_frame` result."""
    return {
        str(name): [str(v) for v in frame[name].cat.categories]
        for name in frame.columns
        if isinstance(frame[name].dtype, pd.CategoricalDtype)
    }


def model_frame(
    frame: pd.DataFrame,
    features: Mapping[str, FeatureType],
    levels: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """The model's input: ``features`` in their declared order, typed as described above;
    ``levels`` are the categorical features' training levels (None: the data's own).

    >>> raw = pd.DataFrame({"tenure": ["3", None], "plan": ["a", "b"], "autopay": [True, None]})
    >>> out = model_frame(raw, {"tenure": FeatureType.NUMERIC, "plan": FeatureType.CATEGORICAL,
    ...                         "autopay": FeatureType.BOOLEAN})
    >>> out.dtypes.astype(str).tolist(), out["tenure"].tolist(), out["autopay"].tolist()
    (['float64', 'category', 'float64'], [3.0, nan], [1.0, nan])
    """
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise SchemaError(
            f"the model's features {missing} are missing from the data "
            f"(it has {sorted(map(str, frame.columns))[:20]})",
            field=missing[0],
            hint="log the features with the predictions, or declare model.features to match",
        )
    columns: dict[str, Any] = {}
    for name, kind in features.items():
        column = frame[name]
        if kind is FeatureType.NUMERIC:
            columns[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        elif kind is FeatureType.BOOLEAN:
            columns[name] = _boolean(column)
        else:
            columns[name] = _categorical(column, (levels or {}).get(name))
    return pd.DataFrame(columns, index=frame.index)
