"""Validation shared by the statistics: counts are finite, non-negative and aligned."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftpilot.errors import StatisticError


def as_counts(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``values`` as a float array of counts, refusing negative or non-finite entries."""
    counts = np.asarray(values, dtype=np.float64)
    if counts.ndim == 0:
        raise StatisticError(f"{name}: expected an array of bin counts, got a scalar")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise StatisticError(
            f"{name}: expected finite, non-negative counts, got {counts.min()} … {counts.max()}"
        )
    return counts


def proportions(
    reference: ArrayLike, current: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalise two aligned count arrays to proportions along the last axis.

    ``current`` may carry extra leading axes (one row per resampled window); ``reference`` is
    broadcast against it. A row with no counts at all has no distribution and is refused.
    """
    ref = as_counts(reference, "reference")
    cur = as_counts(current, "current")
    if ref.shape[-1] != cur.shape[-1]:
        raise StatisticError(
            f"reference has {ref.shape[-1]} bins but current has {cur.shape[-1]}; "
            "both must be counted in the same bins"
        )
    ref_total = ref.sum(axis=-1, keepdims=True)
    cur_total = cur.sum(axis=-1, keepdims=True)
    if np.any(ref_total == 0) or np.any(cur_total == 0):
        side = "reference" if np.any(ref_total == 0) else "current"
        raise StatisticError(f"{side} has no values in any bin; a distribution needs at least one")
    return ref / ref_total, cur / cur_total


def scalar(value: NDArray[np.float64] | np.floating) -> float:
    """A 0-d result as a Python float (statistics return floats for 1-D inputs)."""
    return float(np.asarray(value).reshape(()))
