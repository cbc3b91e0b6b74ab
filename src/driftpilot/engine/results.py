"""Query results as numpy columns, split into groups (per window/segment and feature)."""

from __future__ import annotations

from collections import defaultdict
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
    """Split ``result`` by the values of the ``by`` columns (in first-seen order)."""
    import pyarrow as pa

    columns: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray] = {}
    for name in result.column_names:
        column = result.column(name)
        nulls[name] = column.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            columns[name] = column.fill_null(0).to_numpy()
        else:
            columns[name] = np.asarray(column.to_pylist(), dtype=object)
    keys = zip(*(columns[b].tolist() for b in by), strict=True) if by else ((),) * result.num_rows
    index: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        index[key].append(i)
    return {
        key: Group({n: a[rows] for n, a in columns.items()}, {n: m[rows] for n, m in nulls.items()})
        for key, rows in index.items()
    }
