"""The one way driftpilot hands features to a model, in training and in scoring alike.

Numeric features become float64 (NaN for missing or unparseable values), booleans become
0.0/1.0 (NaN for missing), categorical features become a pandas ``category`` column of their
text values. XGBoost (≥ 3.1) stores the categories it was trained on and re-codes the
categories of the data it scores by name, so a level order that differs between training and
serving cannot silently swap levels; a level it never saw is treated as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from driftpilot.errors import SchemaError
from driftpilot.schema import FeatureType

__all__ = ["model_frame"]

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


def _categorical(column: pd.Series) -> pd.Categorical:
    text = column.astype("string").str.strip()
    text = text.mask(text == "")
    levels = sorted(text.dropna().unique().tolist())
    return pd.Categorical(text.astype(object).where(text.notna(), None), categories=levels)


def model_frame(frame: pd.DataFrame, features: Mapping[str, FeatureType]) -> pd.DataFrame:
    """The model's input: ``features`` in their declared order, typed as described above.

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
            columns[name] = _categorical(column)
    return pd.DataFrame(columns, index=frame.index)
