"""Validation of JSON-style records (HTTP bodies, lists of dicts) for the event log.

A batch is accepted whole or refused whole: every problem is reported with its field path
(``predictions[3].features.tenure: expected a number, got 'twelve'``), and nothing of a refused
batch is written. The same rules apply to data frames (``driftpilot.log.frames``); one contract
test runs both.

A prediction record::

    {"prediction_id": "p-1", "entity_id": "c-42", "timestamp": "2026-01-05T10:00:00Z",
     "model_version": "3", "route": "champion", "features": {"tenure": 12, "plan": "basic"},
     "score": 0.73, "prediction": 1, "latency_ms": 4.2}

Only ``features`` and ``score`` (binary) or ``prediction`` (regression) are required; a missing
``prediction_id`` is generated (give your own to make re-sending idempotent).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from driftpilot.config import ModelConfig
from driftpilot.errors import DataError
from driftpilot.log.schema import LABEL_COLUMNS, PREDICTION_COLUMNS
from driftpilot.schema import FeatureType

__all__ = [
    "MAX_PROBLEMS",
    "ValidationFailed",
    "instance_records",
    "label_records",
    "prediction_records",
]

MAX_PROBLEMS = 20
MAX_ID = 256
_PREDICTION_KEYS = set(PREDICTION_COLUMNS) - {"ingested_at"} | {"features"}
_LABEL_KEYS = set(LABEL_COLUMNS) - {"ingested_at"}
_INSTANCE_KEYS = {"prediction_id", "entity_id", "timestamp", "features"}


class ValidationFailed(DataError):
    """A batch was refused; ``problems`` lists ``path: message`` for each problem found."""

    def __init__(self, problems: list[str], *, total: int | None = None) -> None:
        self.problems = problems
        more = (total or len(problems)) - len(problems)
        text = "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
        super().__init__(f"the batch was refused, nothing was written: {text}")


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.total = 0

    def add(self, path: str, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{path}: {message}")

    def raise_if_any(self) -> None:
        if self.total:
            raise ValidationFailed(self.items, total=self.total)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
TIME_EXPECTED = (
    "expected an ISO 8601 time or epoch seconds between 1970 and 2200 "
    "(epoch milliseconds? divide by 1000)"
)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text (naive means UTC) or epoch seconds, between 1970 and 2200; None when it
    is neither (a time outside that range is almost always a unit mistake)."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif _number(value) and math.isfinite(value):
            moment = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment if EARLIEST <= moment < LATEST else None


def _text_id(value: Any, path: str, problems: _Problems, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            problems.add(path, "is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        problems.add(
            path, f"expected non-empty text of at most {MAX_ID} characters, got {_show(value)}"
        )
        return None
    return value


def _feature(kind: FeatureType, value: Any, path: str, problems: _Problems) -> Any:
    if value is None:
        return None
    kind_of_value = type(value)
    if kind is FeatureType.NUMERIC:
        if kind_of_value is float or kind_of_value is int:  # the common cases, without isinstance
            return float(value)
        if _number(value):
            return float(value)
        problems.add(path, f"expected a number or null, got {_show(value)}")
    elif kind is FeatureType.CATEGORICAL:
        if kind_of_value is str or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        problems.add(path, f"expected text or null, got {_show(value)}")
    elif isinstance(value, bool):
        return value
    else:
        problems.add(path, f"expected true, false or null, got {_show(value)}")
    return None


def _features(
    raw: Any, features: Mapping[str, FeatureType], path: str, problems: _Problems
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected an object of feature values, got {_show(raw)}")
        return {}
    missing = [name for name in features if name not in raw]
    extra = [name for name in raw if name not in features]
    if missing:
        problems.add(path, f"missing features {missing}; the model's features are {list(features)}")
    if extra:
        problems.add(path, f"unknown features {extra}; the model's features are {list(features)}")
    return {
        name: _feature(kind, raw.get(name), f"{path}.{name}", problems)
        for name, kind in features.items()
    }


def _finite(
    value: Any,
    path: str,
    problems: _Problems,
    *,
    low: float | None = None,
    high: float | None = None,
    what: str = "a finite number",
) -> float | None:
    if not _number(value) or not math.isfinite(value):
        problems.add(path, f"expected {what}, got {_show(value)}")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        problems.add(path, f"expected {what}, got {value}")
        return None
    return float(value)


def _binary(value: Any, path: str, problems: _Problems) -> float | None:
    if isinstance(value, bool) or value in (0, 1):
        return float(value)
    problems.add(path, f"expected 0 or 1, got {_show(value)}")
    return None


def _unknown_keys(
    record: Mapping[str, Any], allowed: set[str], path: str, problems: _Problems
) -> None:
    extra = sorted(set(record) - allowed)
    if extra:
        problems.add(path, f"unknown fields {extra}; allowed: {sorted(allowed)}")


def _each(
    records: Sequence[Any], source: str, allowed: set[str], problems: _Problems
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    """The records that are objects, with their paths; anything else is a problem."""
    if not records:
        problems.add(source, "expected at least one record, got none")
    for i, record in enumerate(records):
        path = f"{source}[{i}]"
        if not isinstance(record, Mapping):
            problems.add(path, f"expected an object, got {_show(record)}")
            continue
        _unknown_keys(record, allowed, path, problems)
        yield i, path, record


def _batch_id(
    record: Mapping[str, Any],
    i: int,
    path: str,
    source: str,
    seen: dict[str, int],
    problems: _Problems,
) -> str | None:
    """The record's prediction id (None when not given); a repeat within the batch is a
    problem."""
    pid = _text_id(record.get("prediction_id"), f"{path}.prediction_id", problems)
    if pid is not None:
        if pid in seen:
            problems.add(
                f"{path}.prediction_id",
                f"duplicate of {source}[{seen[pid]}] ({pid!r}) in the same batch",
            )
        seen[pid] = i
    return pid


def prediction_records(
    records: Sequence[Any],
    features: Mapping[str, FeatureType],
    model: ModelConfig,
    *,
    now: datetime,
    source: str = "predictions",
) -> list[dict[str, Any]]:
    """Validate and normalise prediction records into rows of the predictions table."""
    problems = _Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, path, record in _each(records, source, _PREDICTION_KEYS, problems):
        pid = _batch_id(record, i, path, source, seen, problems)
        row: dict[str, Any] = {
            "prediction_id": pid or uuid.uuid4().hex,
            "entity_id": _text_id(record.get("entity_id"), f"{path}.entity_id", problems),
            "model_name": _text_id(record.get("model_name"), f"{path}.model_name", problems)
            or model.name,
            "model_version": _text_id(
                record.get("model_version"), f"{path}.model_version", problems
            )
            or "unversioned",
            "route": _text_id(record.get("route"), f"{path}.route", problems) or "default",
            "ingested_at": now,
            "latency_ms": None,
        }
        stamp = record.get("timestamp")
        row["timestamp"] = now if stamp is None else parse_time(stamp)
        if row["timestamp"] is None:
            problems.add(f"{path}.timestamp", f"{TIME_EXPECTED}, got {_show(stamp)}")
        row.update(_features(record.get("features"), features, f"{path}.features", problems))
        score, prediction = record.get("score"), record.get("prediction")
        if model.task == "binary":
            row["score"] = _finite(
                score,
                f"{path}.score",
                problems,
                low=0.0,
                high=1.0,
                what="a probability between 0 and 1",
            )
            if prediction is None:
                ok = row["score"] is not None
                row["prediction"] = float(row["score"] >= model.threshold) if ok else None
            else:
                row["prediction"] = _binary(prediction, f"{path}.prediction", problems)
        else:
            row["score"] = None if score is None else _finite(score, f"{path}.score", problems)
            row["prediction"] = _finite(prediction, f"{path}.prediction", problems)
        if record.get("latency_ms") is not None:
            row["latency_ms"] = _finite(
                record["latency_ms"],
                f"{path}.latency_ms",
                problems,
                low=0.0,
                what="a non-negative number of milliseconds",
            )
        rows.append(row)
    problems.raise_if_any()
    return rows


def instance_records(
    records: Sequence[Any],
    features: Mapping[str, FeatureType],
    *,
    now: datetime,
    source: str = "instances",
) -> list[dict[str, Any]]:
    """Validate instances to score (``POST /v1/predict``): ``features`` is required;
    ``prediction_id`` (generated when missing), ``entity_id`` (routes the request, sticky)
    and ``timestamp`` (default: now) are optional. Rows hold the ids, the time and the
    feature values under ``features``."""
    problems = _Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, path, record in _each(records, source, _INSTANCE_KEYS, problems):
        pid = _batch_id(record, i, path, source, seen, problems)
        stamp = record.get("timestamp")
        moment = now if stamp is None else parse_time(stamp)
        if moment is None:
            problems.add(f"{path}.timestamp", f"{TIME_EXPECTED}, got {_show(stamp)}")
        rows.append(
            {
                "prediction_id": pid or uuid.uuid4().hex,
                "entity_id": _text_id(record.get("entity_id"), f"{path}.entity_id", problems),
                "timestamp": moment,
                "features": _features(
                    record.get("features"), features, f"{path}.features", problems
                ),
            }
        )
    problems.raise_if_any()
    return rows


def label_records(
    records: Sequence[Any], model: ModelConfig, *, now: datetime, source: str = "labels"
) -> list[dict[str, Any]]:
    """Validate and normalise label records into rows of the labels table.

    A label names its prediction by ``prediction_id``, or by ``entity_id`` and the prediction's
    ``timestamp``. A label for a prediction not (yet) in the log is accepted and held: it joins
    when the prediction arrives.
    """
    problems = _Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, path, record in _each(records, source, _LABEL_KEYS, problems):
        pid = _text_id(record.get("prediction_id"), f"{path}.prediction_id", problems)
        entity = _text_id(record.get("entity_id"), f"{path}.entity_id", problems)
        stamp = parse_time(record["timestamp"]) if record.get("timestamp") is not None else None
        if record.get("timestamp") is not None and stamp is None:
            problems.add(f"{path}.timestamp", f"{TIME_EXPECTED}, got {_show(record['timestamp'])}")
        named = record.get("prediction_id") is not None  # a null id names nothing
        if not named and (entity is None or stamp is None):
            problems.add(path, "give prediction_id, or entity_id and the prediction's timestamp")
        key = (pid,) if pid is not None else (entity, stamp)
        if key in seen:
            problems.add(path, f"duplicate of {source}[{seen[key]}] in the same batch")
        seen[key] = i
        label = record.get("label")
        value = (
            _binary(label, f"{path}.label", problems)
            if model.task == "binary"
            else _finite(label, f"{path}.label", problems)
        )
        when = record.get("label_time")
        label_time = now if when is None else parse_time(when)
        if label_time is None:
            problems.add(f"{path}.label_time", f"{TIME_EXPECTED}, got {_show(when)}")
        rows.append(
            {
                "prediction_id": pid,
                "entity_id": entity,
                "timestamp": stamp,
                "label": value,
                "label_time": label_time,
                "ingested_at": now,
            }
        )
    problems.raise_if_any()
    return rows
