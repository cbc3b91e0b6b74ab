"""Window statistics: a table's counts in a profile's bins, per time window and segment.

:func:`count_windows` runs two queries (numeric cells, categories) over the whole table and
returns one :class:`WindowCounts` per (window, segment). A feature the data cannot provide (a
missing column, an incompatible type) becomes a :class:`FeatureFailure` for that feature
alone; the other features are still counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from driftpilot.engine.expressions import (
    CategorySpec,
    NumericSpec,
    category_ranked,
    category_value,
    numeric_cell_counts,
    numeric_value,
)
from driftpilot.engine.results import Group, split_rows
from driftpilot.errors import ConfigError, SchemaError
from driftpilot.profile.grid import CODES
from driftpilot.profile.model import CategoricalProfile, NumericProfile, Profile
from driftpilot.schema import dtype_kind

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from driftpilot.engine.backend import Engine, Source

__all__ = [
    "WINDOW_UNITS",
    "CategoricalCounts",
    "FeatureFailure",
    "NumericCounts",
    "WindowCounts",
    "count_windows",
    "grid_bins",
]

WINDOW_UNITS = {"hour": "h", "day": "D", "week": "W", "month": "M"}
SPECIAL_CODES = [CODES.NAN, CODES.POS_INF, CODES.NEG_INF, CODES.TYPE_ERROR]
Key = tuple[Any, Any]


@dataclass(frozen=True)
class NumericCounts:
    """One numeric feature in one window: counts and centred sums in the profile's bins.

    ``counts``/``sums`` have ``B + 2`` entries: below the reference minimum, the B bins, above
    the reference maximum. ``total``/``total_squares`` sum ``x − centre`` over finite values.
    """

    rows: int
    counts: NDArray[np.int64]
    sums: NDArray[np.float64]
    nulls: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0
    type_errors: int = 0
    total: float = 0.0
    total_squares: float = 0.0

    @property
    def valid(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class CategoricalCounts:
    """One categorical feature in one window: counts per profile category, then other, unseen."""

    rows: int
    counts: NDArray[np.int64]
    nulls: int = 0
    unseen_known: bool = True  # False when the profile cannot tell rare categories from new ones
    unseen_examples: tuple[tuple[str, int], ...] = ()

    @property
    def valid(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class FeatureFailure:
    """Why a feature could not be counted in this data (the report shows it per feature)."""

    message: str


FeatureCounts = NumericCounts | CategoricalCounts | FeatureFailure


@dataclass(frozen=True)
class WindowCounts:
    window: datetime | None
    segment: str | None
    rows: int
    features: dict[str, FeatureCounts]
    extra_columns: tuple[str, ...] = field(default=())


def grid_bins(profile: NumericProfile, cells: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index into the ``B + 2`` count array for grid cells (and UNDER/OVER codes)."""
    assert profile.bins is not None  # noqa: S101 - callers only pass profiled features
    boundaries = np.asarray(profile.bins.cells, dtype=np.int64)
    nbins = boundaries.size - 1
    index = np.clip(np.searchsorted(boundaries, cells, side="right") - 1, 0, nbins - 1) + 1
    index = np.where(cells == CODES.UNDER, 0, index)
    return np.where(cells == CODES.OVER, nbins + 1, index)


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
        keys["window"] = table[time_column].cast("timestamp").truncate(WINDOW_UNITS[window])
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
) -> list[WindowCounts]:
    """Count ``source`` in ``profile``'s bins, per time window and/or segment when asked."""
    table = engine.table(source, csv_all_text=True)
    schema = table.schema()
    time_column = time_column or profile.columns.timestamp
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
                        category_value(table[name], kind, name, boolean=feature.type == "boolean"),
                        feature.categories,
                        feature.other_categories,
                        feature.other_truncated,
                    )
                )
        except SchemaError as exc:
            failures[name] = FeatureFailure(exc.message + "; " + (exc.hint or ""))
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
                features[name] = _empty(feature)
        result.append(WindowCounts(key[0], key[1], rows.get(key, 0), features, extra))
    return result


def _sort_key(key: Key) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) for v in key)


def _empty(feature: NumericProfile | CategoricalProfile) -> FeatureCounts:
    if isinstance(feature, NumericProfile):
        size = len(feature.bins.cells) + 1 if feature.bins else 2
        return NumericCounts(0, np.zeros(size, np.int64), np.zeros(size))
    return CategoricalCounts(
        0, np.zeros(len(feature.categories) + 2, np.int64), unseen_known=not feature.other_truncated
    )


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


def numeric_counts(feature: NumericProfile, group: Group) -> NumericCounts:
    """Fold a feature's per-cell rows (``cell``, ``n``, ``s``, ``ss``) into its bins."""
    missing = group.nulls["cell"]
    cells = group["cell"].astype(np.int64)
    n = group["n"].astype(np.int64)
    special = missing | np.isin(cells, SPECIAL_CODES)
    index = grid_bins(feature, cells[~special])
    size = len(feature.bins.cells) + 1 if feature.bins else 2
    counts = np.bincount(index, weights=n[~special], minlength=size).astype(np.int64)
    sums = np.bincount(index, weights=group["s"][~special], minlength=size).astype(np.float64)
    return NumericCounts(
        rows=int(n.sum()),
        counts=counts,
        sums=sums,
        nulls=int(n[missing].sum()),
        total=float(group["s"][~special].sum()),
        total_squares=float(group["ss"][~special].sum()),
        **coded_counts(cells, n, missing),
    )


def coded_counts(cells: np.ndarray, n: np.ndarray, missing: np.ndarray) -> dict[str, int]:
    """Rows with NaN, ±inf and text that is not a number, from their cell codes."""
    present = ~missing
    return {
        name: int(n[present & (cells == code)].sum())
        for name, code in (
            ("nan", CODES.NAN),
            ("pos_inf", CODES.POS_INF),
            ("neg_inf", CODES.NEG_INF),
            ("type_errors", CODES.TYPE_ERROR),
        )
    }


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


def category_counts_of(
    feature: CategoricalProfile, group: Group, examples: int = 5
) -> CategoricalCounts:
    """Fold one group of :func:`category_ranked` rows into the profile's categories."""
    position = {c: i for i, c in enumerate(feature.categories)}
    other = set(feature.other_categories)
    counts = np.zeros(len(feature.categories) + 2, np.int64)
    missing = group.nulls["value"]
    total = int(group["total"][0]) if len(group["total"]) else 0
    nulls = int(group["n"][missing].sum())
    new: list[tuple[str, int]] = []
    for value, n in zip(group["value"][~missing], group["n"][~missing], strict=True):
        if value in position:
            counts[position[value]] = int(n)
        elif value in other:
            counts[-2] += int(n)
        else:
            new.append((value, int(n)))
    rest = total - nulls - int(counts.sum())  # rows not listed are unseen values
    if feature.other_truncated:  # a rare known category cannot be told from a new one
        counts[-2] += rest
        new = []
    else:
        counts[-1] = rest
    ranked = tuple(sorted(new, key=lambda vn: (-vn[1], vn[0]))[:examples])
    return CategoricalCounts(total, counts, nulls, not feature.other_truncated, ranked)
