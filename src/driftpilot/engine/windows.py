"""Window statistics: a table's counts in a profile's bins, per time window and segment.

:func:`count_windows` runs two queries (numeric cells, categories) over the whole table and
returns one :class:`WindowCounts` per (window, segment). A feature the data cannot provide (a
missing column, an incompatible type) becomes a :class:`FeatureFailure` for that feature
alone; the other features are still counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from driftpilot.engine.counts import (
    SPECIAL_CODES,
    CategoricalCounts,
    FeatureCounts,
    FeatureFailure,
    NumericCounts,
    WindowCounts,
    category_counts_of,
    coded_counts,
    empty_counts,
    grid_bins,
    numeric_counts,
)
from driftpilot.engine.expressions import (
    CategorySpec,
    NumericSpec,
    category_ranked,
    category_value,
    numeric_cell_counts,
    numeric_value,
    utc_time,
)
from driftpilot.engine.results import split_rows
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.model import CategoricalProfile, NumericProfile, Profile
from driftpilot.schema import dtype_kind

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from driftpilot.engine.backend import Engine, Source

__all__ = [
    "SPECIAL_CODES",
    "WINDOW_UNITS",
    "CategoricalCounts",
    "FeatureCounts",
    "FeatureFailure",
    "NumericCounts",
    "WindowCounts",
    "coded_counts",
    "count_windows",
    "grid_bins",
]

WINDOW_UNITS = {"hour": "h", "day": "D", "week": "W", "month": "M"}
Key = tuple[Any, Any]


def _key_expressions(
    table: ir.Table, window: str | None, time_column: str | None, segment: str | None
) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if window is not None:
        if window not in WINDOW_UNITS:
            raise ConfigError(
                f"unknown window {window!r}; valid windows: {', '.join(WINDOW_UNITS)}",
                field="window",
            )
        if time_column is None or time_column not in table.columns:
            raise SchemaError(
                f"windows need a timestamp column; got {time_column!r}",
                hint="declare columns.timestamp in driftpilot.yaml",
            )
        keys["window"] = utc_time(table[time_column]).truncate(WINDOW_UNITS[window])
    if segment is not None:
        if segment not in table.columns:
            raise SchemaError(
                f"segment column {segment!r} is not in the data",
                hint=f"the data's columns are: {', '.join(table.columns)}",
            )
        keys["segment"] = table[segment].cast("string")
    return keys


def count_windows(
    engine: Engine,
    source: Source,
    profile: Profile,
    *,
    window: str | None = None,
    time_column: str | None = None,
    segment: str | None = None,
    keys: dict[str, Any] | None = None,
) -> list[WindowCounts]:
    """Count ``source`` in ``profile``'s bins, per time window and/or segment when asked.

    ``keys`` gives the grouping directly instead (expressions named ``window`` and/or
    ``segment`` over ``source``, which must then be an Ibis table).
    """
    table = engine.table(source, csv_all_text=True)
    schema = table.schema()
    time_column = time_column or profile.columns.timestamp
    if keys is None:
        keys = _key_expressions(table, window, time_column, segment)
    failures: dict[str, FeatureFailure] = {}
    numeric: list[NumericSpec] = []
    categorical: list[CategorySpec] = []
    for name, feature in profile.features.items():
        if name not in schema:
            failures[name] = FeatureFailure(f"column {name!r} is missing from the current data")
            continue
        kind = dtype_kind(schema[name])
        try:
            if isinstance(feature, NumericProfile):
                if feature.bins is None:
                    failures[name] = FeatureFailure("the reference has no finite values")
                    continue
                value, type_error = numeric_value(table[name], kind, name)
                numeric.append(
                    NumericSpec(
                        name,
                        value,
                        table[name].isnull(),
                        type_error,
                        feature.grid,
                        feature.min,
                        feature.max,
                    )
                )
            else:
                categorical.append(
                    CategorySpec(
                        name,
                        category_value(
                            table[name],
                            kind,
                            name,
                            boolean=feature.type == "boolean",
                            numbers=feature.numbers,
                        ),
                        feature.categories,
                        feature.other_categories,
                        feature.other_truncated,
                    )
                )
        except SchemaError as exc:
            failures[name] = FeatureFailure(exc.message + "; " + (exc.hint or ""))
    if len(failures) == len(profile.features) and not set(profile.features) & set(schema):
        raise SchemaError(
            "none of the profile's features are in the data: is it the right profile?",
            hint=f"the profile has {sorted(profile.features)}; the data has {list(table.columns)}",
        )
    known = set(profile.features) | set(profile.excluded)
    extra = tuple(c for c in table.columns if c not in known)
    key_names = list(keys)
    num_rows = (
        engine.execute(numeric_cell_counts(table, numeric, keys, with_range=False))
        if numeric
        else None
    )
    cat_rows = engine.execute(category_ranked(table, categorical, keys)) if categorical else None
    groups: dict[Key, dict[str, FeatureCounts]] = defaultdict(dict)
    rows: dict[Key, int] = {}
    if num_rows is not None:
        _numeric_groups(num_rows, key_names, profile, groups, rows)
    if cat_rows is not None:
        _category_groups(cat_rows, key_names, profile, groups, rows)
    if not keys and not groups:
        groups[(None, None)] = {}
        rows[(None, None)] = (
            engine.execute(table.count().as_table()).column(0)[0].as_py()
            if not (numeric or categorical)
            else 0
        )
    result = []
    for key in sorted(groups, key=_sort_key):
        features: dict[str, FeatureCounts] = {}
        for name, feature in profile.features.items():
            if name in failures:
                features[name] = failures[name]
            elif name in groups[key]:
                features[name] = groups[key][name]
            else:
                features[name] = empty_counts(feature)
        result.append(WindowCounts(key[0], key[1], rows.get(key, 0), features, extra))
    return result


def _sort_key(key: Key) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) for v in key)


def _numeric_groups(
    arrow: pa.Table,
    key_names: Sequence[str],
    profile: Profile,
    groups: dict[Key, dict[str, FeatureCounts]],
    rows: dict[Key, int],
) -> None:
    for (*key, name), group in split_rows(arrow, [*key_names, "feature"]).items():
        feature = profile.features[name]
        if not isinstance(feature, NumericProfile):  # pragma: no cover - the query is numeric
            continue
        counts = numeric_counts(feature, group)
        groups[_key(key_names, key)][name] = counts
        rows[_key(key_names, key)] = counts.rows


def _key(key_names: Sequence[str], values: Sequence[Any]) -> Key:
    found = dict(zip(key_names, values, strict=True))
    return (found.get("window"), found.get("segment"))


def _category_groups(
    arrow: pa.Table,
    key_names: Sequence[str],
    profile: Profile,
    groups: dict[Key, dict[str, FeatureCounts]],
    rows: dict[Key, int],
) -> None:
    for (*key, name), group in split_rows(arrow, [*key_names, "feature"]).items():
        feature = profile.features[name]
        if not isinstance(feature, CategoricalProfile):  # pragma: no cover
            continue
        counts = category_counts_of(feature, group)
        groups[_key(key_names, key)][name] = counts
        rows[_key(key_names, key)] = counts.rows
