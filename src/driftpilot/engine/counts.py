"""What the engine returns for one feature in one window, folded into the profile's bins.

:func:`numeric_counts` and :func:`category_counts_of` turn the rows of the window queries into
:class:`NumericCounts` and :class:`CategoricalCounts`; a feature the data cannot provide is a
:class:`FeatureFailure`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from driftpilot.engine.results import Group
from driftpilot.errors import StatisticError
from driftpilot.profile.grid import CODES
from driftpilot.profile.model import CategoricalProfile, NumericProfile

__all__ = [
    "SPECIAL_CODES",
    "CategoricalCounts",
    "FeatureCounts",
    "FeatureFailure",
    "NumericCounts",
    "WindowCounts",
    "category_counts_of",
    "coded_counts",
    "empty_counts",
    "grid_bins",
    "numeric_counts",
]

SPECIAL_CODES = [CODES.NAN, CODES.POS_INF, CODES.NEG_INF, CODES.TYPE_ERROR]


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
    """Index into the ``B + 2`` count array for encoded cells (and UNDER/OVER codes)."""
    if profile.bins is None:
        raise StatisticError("the reference has no finite values to bin against")
    boundaries = np.asarray(profile.bins.cells, dtype=np.int64)
    nbins = boundaries.size - 1
    index = np.clip(np.searchsorted(boundaries, cells, side="right") - 1, 0, nbins - 1) + 1
    index = np.where(cells == CODES.UNDER, 0, index)
    return np.where(cells == CODES.OVER, nbins + 1, index)


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


def empty_counts(feature: NumericProfile | CategoricalProfile) -> FeatureCounts:
    if isinstance(feature, NumericProfile):
        size = len(feature.bins.cells) + 1 if feature.bins else 2
        return NumericCounts(0, np.zeros(size, np.int64), np.zeros(size))
    return CategoricalCounts(
        0, np.zeros(len(feature.categories) + 2, np.int64), unseen_known=not feature.other_truncated
    )
