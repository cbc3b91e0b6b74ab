"""Turning feature arrays into the delivered frame and back, and breaking columns on purpose."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from driftpilot.demo._features import AGE_NULL, DELAY_NULL, NUMERIC_RANGE
from driftpilot.demo._spec import FEATURES, LEVELS, PROBABILITIES
from driftpilot.errors import SchemaError

__all__ = ["JUNK", "UNITS", "break_columns", "build_frame", "frame_values"]

UNITS: dict[str, str] = {
    "tenure": "months",
    "monthly_usage": "GB",
    "support_calls": "calls",
    "payment_delay": "days",
    "age": "years",
    "monthly_charge": "USD",
    "num_products": "products",
    "last_login_days": "days",
}
JUNK: tuple[str, ...] = ("n/a", "unknown", "-", "?", "#VALUE!")
_USUAL_NULLS: dict[str, float] = {"payment_delay": DELAY_NULL, "age": AGE_NULL}


def _text(levels: tuple[str, ...], codes: NDArray[np.generic]) -> pd.Series:
    return pd.Series(pa.array(levels).take(pa.array(codes)), dtype="str")


def build_frame(
    values: Mapping[str, NDArray[np.generic]],
    churn: NDArray[np.bool_],
    customer_id: NDArray[np.int64],
    timestamp: NDArray[np.datetime64],
) -> pd.DataFrame:
    """Assemble the delivered frame: ids, timestamp, features in catalogue order, churn."""
    columns: dict[str, object] = {
        "customer_id": customer_id.astype(np.int64),
        "timestamp": timestamp.astype("datetime64[us]"),
    }
    for name, kind in FEATURES.items():
        if kind == "categorical":
            columns[name] = _text(LEVELS[name], values[name])
        elif kind == "boolean":
            columns[name] = np.asarray(values[name], dtype=bool)
        else:
            columns[name] = np.asarray(values[name], dtype=np.float64)
    columns["churn"] = churn.astype(np.int64)
    return pd.DataFrame(columns)


def frame_values(frame: pd.DataFrame) -> dict[str, NDArray[np.generic]]:
    """Read the rule's inputs back from a frame (see ``ChurnScenario.churn_probability``)."""
    missing = [name for name in FEATURES if name not in frame.columns]
    if missing:
        raise SchemaError(
            f"expected the scenario's feature columns, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing",
            field=missing[0],
            hint=f"pass a frame with all of {', '.join(FEATURES)}",
        )
    values: dict[str, NDArray[np.generic]] = {}
    for name, kind in FEATURES.items():
        column = frame[name]
        if kind == "numeric":
            numbers = pd.to_numeric(column, errors="coerce")
            values[name] = np.asarray(numbers, dtype=np.float64)
        elif kind == "categorical":
            levels = LEVELS[name]
            codes = pd.Index(levels).get_indexer(pd.Index(column))  # -1: missing or unknown
            most_common = int(np.argmax(PROBABILITIES[name]))
            values[name] = np.where(codes < 0, most_common, codes).astype(np.int8)
        elif column.dtype == bool:
            values[name] = column.to_numpy()
        else:
            # Text or nullable booleans: only a clear "no" is False; missing or junk is
            # imputed with the most common level, True.
            text = column.astype("str").str.strip().str.lower()
            values[name] = ~text.isin(["false", "no", "0"]).to_numpy()
    return values


def _as_strings(
    name: str, column: pd.Series, junk: NDArray[np.bool_], pick: NDArray[np.intp]
) -> pd.Series:
    kind = FEATURES[name]
    if kind == "numeric":
        number = column.to_numpy(dtype=np.float64)
        missing = np.isnan(number)
        decimals = NUMERIC_RANGE[name][2]
        if decimals == 0:
            digits = pc.cast(
                pa.array(np.nan_to_num(number).astype(np.int64), mask=missing), pa.string()
            )
        else:
            digits = pc.cast(pa.array(np.round(number, decimals), mask=missing), pa.string())
        text = pc.binary_join_element_wise(digits, pa.scalar(f" {UNITS[name]}"), "")
    elif kind == "boolean":
        text = pa.array(("no", "yes")).take(pa.array(column.to_numpy(dtype=np.int8)))
    else:
        text = pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    text = pc.if_else(pa.array(junk), pa.array(JUNK).take(pa.array(pick)), text)
    return pd.Series(text, dtype="str", index=column.index)


def _with_nulls(name: str, column: pd.Series, mask: NDArray[np.bool_]) -> pd.Series:
    if FEATURES[name] == "boolean":
        return column.astype("boolean").mask(mask)
    return column.mask(mask)


def break_columns(
    frame: pd.DataFrame, broken: Mapping[str, str], share: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Apply a validated ``WeekSpec.broken`` (one uniform draw per broken column, in order)."""
    broken_frame = frame.copy()
    for name in FEATURES:
        if name not in broken:
            continue
        uniform = rng.random(len(frame))
        if broken[name] == "nulls":
            usual = _USUAL_NULLS.get(name, 0.0)
            # The usual nulls stay; extra ones bring the expected missing share to `share`.
            extra = max(0.0, (share - usual) / (1.0 - usual))
            broken_frame[name] = _with_nulls(name, frame[name], uniform < extra)
        else:
            junk = uniform < share
            # Reuse the junk rows' uniform to choose which junk token, so no extra draw is needed.
            scaled = uniform / share if share > 0 else np.zeros(len(frame))
            pick = np.minimum((scaled * len(JUNK)).astype(np.intp), len(JUNK) - 1)
            broken_frame[name] = _as_strings(name, frame[name], junk, pick)
    return broken_frame
