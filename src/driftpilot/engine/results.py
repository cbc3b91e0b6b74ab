"""Query results as numpy columns, split into groups (per window/segment and feature)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Group", "split_rows"]


@dataclass(frozen=True)
class Group:
    """The rows of one group: numeric columns with nulls as 0, text columns as objects."""

    columns: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns


def split_rows(result: pa.Table, by: Sequence[str]) -> dict[tuple[Any, ...], Group]:
    """Split ``result`` by the values of the ``by`` columns (groups in first-seen order).

    Key columns are dictionary-encoded, so grouping costs integer work however long the
    result; only the distinct keys become Python objects.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if result.num_rows == 0:
        return {}
    columns: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    for name in result.column_names:
        if name in by:
            continue
        column = result.column(name)
        nulls[name] = column.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            columns[name] = column.fill_null(0).to_numpy()
        else:
            columns[name] = np.asarray(column.to_pylist(), dtype=object)
    codes, keys = [], []
    for name in by:
        encoded = pc.dictionary_encode(result.column(name)).combine_chunks()
        values = [*encoded.dictionary.to_pylist(), None]  # null keys get the last code
        index = encoded.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
        codes.append(index.astype(np.int64))
        keys.append(values)
        nulls[name] = encoded.is_null().to_numpy(zero_copy_only=False)
    if not by:
        return {(): Group(columns, nulls)}
    combined = np.zeros(result.num_rows, dtype=np.int64)
    for code, values in zip(codes, keys, strict=True):
        combined = combined * len(values) + code
    unique, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # first-seen order, as a dict of lists would give
    groups: dict[tuple[Any, ...], Group] = {}
    sorter = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[sorter], np.arange(unique.size + 1))
    for g in order:
        rows = sorter[bounds[g] : bounds[g + 1]]
        row = rows[0]
        key = tuple(values[code[row]] for code, values in zip(codes, keys, strict=True))
        groups[key] = Group(
            {n: a[rows] for n, a in columns.items()}, {n: m[rows] for n, m in nulls.items()}
        )
    return groups
