"""Validation of data frames (pandas, Arrow) for the event log, column at a time.

The rules are those of :mod:`driftpilot.log.records` (one contract test runs both); here every
check is a vectorised Arrow compute over a whole column, so large frames validate at millions
of rows a second. Features are columns of their own; the reserved columns are
``prediction_id, entity_id, timestamp, model_name, model_version, route, score, prediction,
latency_ms`` for predictions and ``prediction_id, entity_id, timestamp, label, label_time`` for
labels.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from driftpilot.config import ModelConfig
from driftpilot.log.records import (
    EARLIEST,
    LATEST,
    MAX_ID,
    TIME_EXPECTED,
    ValidationFailed,
    _Problems,
    _show,
)
from driftpilot.log.schema import LABEL_COLUMNS, PREDICTION_COLUMNS
from driftpilot.schema import FeatureType

__all__ = ["as_arrow", "label_frame", "prediction_frame"]

TIME = pa.timestamp("us", tz="UTC")
MAX_SHOWN = 3  # rows named per duplicated id


def as_arrow(data: Any) -> pa.Table:
    """A pandas DataFrame, Arrow table or record batch as an Arrow table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise ValidationFailed(
        [f"data: expected a pandas DataFrame or an Arrow table, got {type(data).__name__}"]
    )


def _rows(mask: pa.ChunkedArray | pa.Array, limit: int = 3) -> list[int]:
    flags = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    rows: list[int] = np.flatnonzero(flags)[:limit].tolist()
    return rows


def _report(
    problems: _Problems, source: str, field: str, column: Any, bad: Any, message: str
) -> None:
    for row in _rows(bad):
        problems.add(f"{source}[{row}].{field}", f"{message}, got {_show(column[row].as_py())}")


def _float(
    table: pa.Table,
    name: str,
    source: str,
    field: str,
    problems: _Problems,
    *,
    booleans: bool = False,
) -> pa.ChunkedArray | None:
    """A number column as float64; booleans count as 0/1 only where ``booleans`` (a binary
    model's label or predicted class), as the record validator allows."""
    column = table.column(name)
    if pa.types.is_null(column.type) or (booleans and pa.types.is_boolean(column.type)):
        return column.cast(pa.float64())
    if (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_decimal(column.type)
    ):
        return column.cast(pa.float64())
    bad = pc.is_valid(column)
    _report(problems, source, field, column, bad, "expected a number or null")
    return None


def _feature(
    table: pa.Table, name: str, kind: FeatureType, source: str, problems: _Problems
) -> Any:
    column = table.column(name)
    field = f"features.{name}"
    if kind is FeatureType.NUMERIC:
        return _float(table, name, source, field, problems)
    if kind is FeatureType.CATEGORICAL:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if (
            pa.types.is_string(column.type)
            or pa.types.is_large_string(column.type)
            or pa.types.is_null(column.type)
        ):
            return column.cast(pa.string())
        if pa.types.is_integer(column.type):
            return column.cast(pa.string())
        _report(problems, source, field, column, pc.is_valid(column), "expected text or null")
        return None
    if pa.types.is_boolean(column.type) or pa.types.is_null(column.type):
        return column.cast(pa.bool_())
    if pa.types.is_integer(column.type):
        bad = pc.invert(pc.is_in(column, pa.array([0, 1], column.type)))
        if _rows(bad):
            _report(problems, source, field, column, bad, "expected true, false or null")
            return None
        return column.cast(pa.bool_())
    _report(problems, source, field, column, pc.is_valid(column), "expected true, false or null")
    return None


def _text(
    table: pa.Table,
    name: str,
    default: str | None,
    source: str,
    problems: _Problems,
    *,
    longest: int = MAX_ID,
) -> pa.ChunkedArray:
    """Ids and names as text: non-empty, at most ``longest`` characters; integers accepted."""
    n = table.num_rows
    if name not in table.column_names:
        return pa.chunked_array([pa.array([default] * n, pa.string())])
    column = table.column(name)
    if (
        pa.types.is_integer(column.type)
        or pa.types.is_null(column.type)
        or pa.types.is_dictionary(column.type)
    ):
        column = column.cast(pa.string())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        _report(problems, source, name, column, pc.is_valid(column), "expected text")
        return pa.chunked_array([pa.nulls(n, pa.string())])
    column = column.cast(pa.string())
    length = pc.utf8_length(column)
    bad = pc.or_(pc.equal(length, 0), pc.greater(length, longest))
    _report(
        problems,
        source,
        name,
        column,
        bad,
        f"expected non-empty text of at most {longest} characters",
    )
    return pc.fill_null(column, default) if default is not None else column


def _times(
    table: pa.Table, name: str, now: datetime | None, source: str, problems: _Problems
) -> pa.ChunkedArray:
    """Times as UTC microseconds: time columns (naive means UTC), ISO text, or epoch seconds;
    sub-microsecond digits are dropped, times outside 1970–2200 refused."""
    n = table.num_rows
    if name not in table.column_names:
        return pa.chunked_array([pa.array([now] * n, TIME)])
    column = table.column(name)
    unparsed = None
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        import pandas as pd

        text = column
        parsed = pd.to_datetime(text.to_pandas(), utc=True, format="ISO8601", errors="coerce")
        column = pa.chunked_array([pa.Array.from_pandas(parsed)])
        unparsed = pc.and_(pc.is_valid(text), pc.is_null(column))
        _report(problems, source, name, text, unparsed, TIME_EXPECTED)
    low, high = int(EARLIEST.timestamp()) * 10**6, int(LATEST.timestamp()) * 10**6
    if pa.types.is_timestamp(column.type):  # integer ticks: no precision lost to floats
        ticks = column.cast(pa.int64())
        unit = column.type.unit
        if unit == "ns":
            micros = pc.divide(ticks, 1000)  # truncates; times before 1970 are refused anyway
        else:
            factor = {"s": 10**6, "ms": 10**3, "us": 1}[unit]
            big = pc.greater(pc.abs(ticks), (2**62) // factor)
            ticks = pc.if_else(big, pa.scalar(None, pa.int64()), ticks)  # beyond any valid time
            micros = pc.multiply(ticks, factor)
    elif (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or (pa.types.is_null(column.type))
    ):
        seconds = column.cast(pa.float64(), safe=False)  # huge integers: refused just below
        inside = pc.and_(pc.greater_equal(seconds, low / 1e6), pc.less(seconds, high / 1e6))
        seconds = pc.if_else(inside, seconds, pa.scalar(None, pa.float64()))
        micros = pc.cast(pc.floor(pc.multiply(seconds, 1e6)), pa.int64())
    else:
        _report(problems, source, name, column, pc.is_valid(column), "expected a time")
        return pa.chunked_array([pa.nulls(n, TIME)])
    # a valid time whose micros are out of range (or were nulled as beyond any range)
    outside = pc.and_(
        pc.is_valid(column),
        pc.invert(
            pc.fill_null(pc.and_(pc.greater_equal(micros, low), pc.less(micros, high)), False)
        ),
    )
    if _rows(outside):
        _report(problems, source, name, column, outside, TIME_EXPECTED)
        return pa.chunked_array([pa.nulls(n, TIME)])
    result = pc.cast(micros, TIME)
    return pc.fill_null(result, pa.scalar(now, TIME)) if now is not None else result


def _ids(table: pa.Table, source: str, problems: _Problems) -> pa.ChunkedArray:
    """Prediction ids: given ones kept, missing ones generated, duplicates refused."""
    ids = _text(table, "prediction_id", None, source, problems)
    if ids.null_count:
        prefix = secrets.token_hex(8)
        generated = pc.binary_join_element_wise(
            pa.array([prefix] * table.num_rows),
            pa.array(np.arange(table.num_rows)).cast(pa.string()),
            "-",
        )
        ids = pc.coalesce(ids, generated)
    _duplicates(ids, "prediction_id", source, problems)
    return ids


def _duplicates(key: pa.ChunkedArray, field: str, source: str, problems: _Problems) -> None:
    counts = pa.table({"k": key}).group_by("k").aggregate([("k", "count")])
    repeated = counts.filter(pc.greater(counts.column("k_count"), 1)).column("k")
    if len(repeated):
        first = pc.is_in(key, repeated)
        for row in _rows(first, limit=MAX_SHOWN):
            problems.add(
                f"{source}[{row}].{field}",
                f"{key[row].as_py()!r} appears more than once in the same batch",
            )


def _columns_check(
    table: pa.Table, allowed: set[str], required: list[str], source: str, problems: _Problems
) -> None:
    extra = [c for c in table.column_names if c not in allowed]
    missing = [c for c in required if c not in table.column_names]
    if missing:
        problems.add(source, f"missing columns {missing}")
    if extra:
        problems.add(
            source,
            f"unknown columns {extra}; the model's features and the log's "
            f"columns are {sorted(allowed)}",
        )


def _start(data: Any, source: str) -> tuple[pa.Table, _Problems]:
    table, problems = as_arrow(data), _Problems()
    if table.num_rows == 0:
        problems.add(source, "expected at least one row, got none")
        problems.raise_if_any()
    return table, problems


def prediction_frame(
    data: Any,
    features: Mapping[str, FeatureType],
    model: ModelConfig,
    *,
    now: datetime,
    source: str = "predictions",
) -> pa.Table:
    """Validate a frame of predictions into the predictions table's columns (no ingested_at)."""
    table, problems = _start(data, source)
    allowed = set(PREDICTION_COLUMNS) - {"ingested_at"} | set(features)
    needed = list(features) + (["score"] if model.task == "binary" else ["prediction"])
    _columns_check(table, allowed, needed, source, problems)
    problems.raise_if_any()
    out: dict[str, Any] = {
        "prediction_id": _ids(table, source, problems),
        "entity_id": _text(table, "entity_id", None, source, problems),
        "timestamp": _times(table, "timestamp", now, source, problems),
        "model_name": _text(table, "model_name", model.name, source, problems),
        "model_version": _text(table, "model_version", "unversioned", source, problems),
        "route": _text(table, "route", "default", source, problems),
    }
    for name, kind in features.items():
        out[name] = _feature(table, name, kind, source, problems)
    out.update(_outputs(table, model, source, problems))
    problems.raise_if_any()
    return pa.table(out)


def _outputs(
    table: pa.Table, model: ModelConfig, source: str, problems: _Problems
) -> dict[str, Any]:
    n = table.num_rows
    empty = pa.chunked_array([pa.nulls(n, pa.float64())])
    score = (
        _float(table, "score", source, "score", problems)
        if "score" in table.column_names
        else empty
    )
    prediction = (
        _float(table, "prediction", source, "prediction", problems, booleans=model.task == "binary")
        if "prediction" in table.column_names
        else empty
    )
    latency = (
        _float(table, "latency_ms", source, "latency_ms", problems)
        if "latency_ms" in table.column_names
        else empty
    )
    if score is None or prediction is None or latency is None:
        return {}
    finite = pc.is_finite(score)
    if model.task == "binary":
        bad = pc.invert(
            pc.fill_null(
                pc.and_(finite, pc.and_(pc.greater_equal(score, 0.0), pc.less_equal(score, 1.0))),
                False,
            )
        )
        _report(problems, source, "score", score, bad, "expected a probability between 0 and 1")
        given = pc.is_valid(prediction)
        bad = pc.and_(
            given, pc.invert(pc.fill_null(pc.is_in(prediction, pa.array([0.0, 1.0])), False))
        )
        _report(problems, source, "prediction", prediction, bad, "expected 0 or 1")
        derived = pc.cast(pc.greater_equal(score, model.threshold), pa.float64())
        prediction = pc.coalesce(prediction, derived)
    else:
        bad = pc.invert(pc.fill_null(pc.is_finite(prediction), False))
        _report(problems, source, "prediction", prediction, bad, "expected a finite number")
        bad = pc.and_(pc.is_valid(score), pc.invert(pc.fill_null(finite, False)))
        _report(problems, source, "score", score, bad, "expected a finite number")
    bad = pc.and_(
        pc.is_valid(latency),
        pc.invert(
            pc.fill_null(pc.and_(pc.is_finite(latency), pc.greater_equal(latency, 0.0)), False)
        ),
    )
    _report(
        problems,
        source,
        "latency_ms",
        latency,
        bad,
        "expected a non-negative number of milliseconds",
    )
    return {"score": score, "prediction": prediction, "latency_ms": latency}


def label_frame(
    data: Any, model: ModelConfig, *, now: datetime, source: str = "labels"
) -> pa.Table:
    """Validate a frame of labels into the labels table's columns (no ingested_at)."""
    table, problems = _start(data, source)
    allowed = set(LABEL_COLUMNS) - {"ingested_at"}
    _columns_check(table, allowed, ["label"], source, problems)
    problems.raise_if_any()
    pid = _text(table, "prediction_id", None, source, problems)
    entity = _text(table, "entity_id", None, source, problems)
    stamp = _times(table, "timestamp", None, source, problems)
    unnamed = pc.and_(pc.is_null(pid), pc.or_(pc.is_null(entity), pc.is_null(stamp)))
    for row in _rows(unnamed):
        problems.add(
            f"{source}[{row}]", "give prediction_id, or entity_id and the prediction's timestamp"
        )
    label = _float(table, "label", source, "label", problems, booleans=model.task == "binary")
    if label is not None:
        if model.task == "binary":
            bad = pc.invert(pc.fill_null(pc.is_in(label, pa.array([0.0, 1.0])), False))
            _report(problems, source, "label", label, bad, "expected 0 or 1")
        else:
            bad = pc.invert(pc.fill_null(pc.is_finite(label), False))
            _report(problems, source, "label", label, bad, "expected a finite number")
    key = pc.coalesce(pid, pc.binary_join_element_wise(entity, pc.cast(stamp, pa.string()), "\x1f"))
    _duplicates(key, "prediction_id", source, problems)
    label_time = _times(table, "label_time", now, source, problems)
    problems.raise_if_any()
    return pa.table(
        {
            "prediction_id": pid,
            "entity_id": entity,
            "timestamp": stamp,
            "label": label,
            "label_time": label_time,
        }
    )
