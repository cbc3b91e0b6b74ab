"""Feature types and schema inference.

A column is a feature unless it is declared as an id, the timestamp, the target or the
prediction, or excluded. Its type comes from the data (numbers → numeric, text → categorical,
booleans → boolean) unless ``columns.types`` in driftpilot.yaml overrides it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from driftpilot.errors import ConfigError

if TYPE_CHECKING:
    from driftpilot.config import ColumnsConfig

__all__ = ["FeatureSchema", "FeatureType", "dtype_kind", "infer_schema"]


class FeatureType(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"


def dtype_kind(dtype: Any) -> str:
    """Classify an Ibis type: ``numeric``, ``string``, ``boolean``, ``temporal``, ``null`` (a
    column with no values at all) or ``other``."""
    if dtype.is_null() or (dtype.is_unknown() and 'kind="NULL"' in str(dtype)):
        return "null"  # (DuckDB's NULL type reaches Ibis as an unknown type)
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_string():
        return "string"
    if dtype.is_temporal() or zoned_nanoseconds(dtype):
        return "temporal"
    return "other"


def zoned_nanoseconds(dtype: Any) -> bool:
    """DuckDB's zoned nanosecond timestamps (pandas 2 writes them to Parquet) reach Ibis as an
    unknown type; the engines cast them to zoned microseconds."""
    return bool(dtype.is_unknown() and "TIMESTAMPTZ_NS" in str(dtype))


@dataclass(frozen=True)
class FeatureSchema:
    """The features of a data set (in column order) and why other columns are not features."""

    features: dict[str, FeatureType]
    excluded: dict[str, str] = field(default_factory=dict)


_NATURAL = {
    "numeric": FeatureType.NUMERIC,
    "string": FeatureType.CATEGORICAL,
    "boolean": FeatureType.BOOLEAN,
    "null": FeatureType.NUMERIC,  # no values at all: counted as missing
}


def _check_declared(names: list[str], columns: list[str], key: str) -> None:
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"column {name!r} is declared but the data has no such column",
                field=f"columns.{key}",
                hint=f"{hint}the data's columns are: {', '.join(columns)}",
            )


def infer_schema(dtypes: Mapping[str, Any], columns_config: ColumnsConfig) -> FeatureSchema:
    """Infer the feature schema of a table from its Ibis data types and the column roles."""
    columns = list(dtypes)
    cfg = columns_config
    roles: dict[str, str] = {name: "declared as id" for name in cfg.id}
    if cfg.timestamp:
        roles[cfg.timestamp] = "declared as timestamp"
    if cfg.target:
        roles[cfg.target] = "declared as target"
    if cfg.prediction:
        roles[cfg.prediction] = "declared as prediction"
    roles.update({name: "excluded in driftpilot.yaml" for name in cfg.exclude})
    _check_declared(cfg.id, columns, "id")
    _check_declared(
        [c for c in (cfg.timestamp, cfg.target, cfg.prediction) if c],
        columns,
        "timestamp/target/prediction",
    )
    _check_declared(cfg.exclude, columns, "exclude")
    _check_declared(list(cfg.types), columns, "types")
    features: dict[str, FeatureType] = {}
    excluded: dict[str, str] = {}
    for name in columns:
        if name in roles:
            excluded[name] = roles[name]
            continue
        kind = dtype_kind(dtypes[name])
        if name in cfg.types:
            if kind in ("temporal", "other"):
                raise ConfigError(
                    f"column {name!r} holds {dtypes[name]}, which cannot be a "
                    f"{cfg.types[name].value} feature",
                    field=f"columns.types.{name}",
                    hint="derive a feature from it first (e.g. days since), or declare it as "
                    "columns.timestamp",
                )
            features[name] = cfg.types[name]
        elif kind in _NATURAL:
            features[name] = _NATURAL[kind]
        elif kind == "temporal":
            excluded[name] = (
                f"a date/time column ({dtypes[name]}); declare it as "
                "columns.timestamp, or derive a feature from it"
            )
        else:
            excluded[name] = f"type {dtypes[name]} is not a feature type"
    return FeatureSchema(features=features, excluded=excluded)
