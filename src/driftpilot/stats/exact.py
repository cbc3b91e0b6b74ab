"""Exact statistics on raw values, for small samples where binning would blur the answer.

The profile path bins values (sufficient statistics); when both samples are small and at hand,
these give the exact two-sample KS statistic (with scipy's exact p-value when ``n·m`` is small
enough for it) and the exact Wasserstein-1 distance.

>>> from driftpilot.stats.exact import ks_exact, wasserstein_exact
>>> r = ks_exact([1.0, 2.0, 3.0, 4.0], [3.5, 4.5, 5.5])
>>> round(r.statistic, 4), round(wasserstein_exact([0.0, 1.0], [1.0, 2.0]), 4)
(0.75, 1.0)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftpilot.errors import StatisticError
from driftpilot.stats.ks import KSResult, ks_pvalue

__all__ = ["EXACT_PVALUE_LIMIT", "ks_exact", "wasserstein_exact"]

EXACT_PVALUE_LIMIT = 25_000_000  # n·m up to which the exact KS distribution is computed


def _finite(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise StatisticError(f"{name} has no finite values")
    return np.sort(array)


def ks_exact(reference: ArrayLike, current: ArrayLike) -> KSResult:
    """Exact two-sample KS statistic ``sup |F_r − F_c|`` over the pooled values.

    The p-value is exact (scipy's ``ks_2samp(method="exact")``) when ``n·m`` is at most
    :data:`EXACT_PVALUE_LIMIT`, and asymptotic otherwise. ``upper`` equals the statistic.
    """
    ref, cur = _finite(reference, "reference"), _finite(current, "current")
    points = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, points, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, points, side="right") / cur.size
    statistic = float(np.max(np.abs(cdf_ref - cdf_cur)))
    if ref.size * cur.size <= EXACT_PVALUE_LIMIT:
        from scipy.stats import ks_2samp

        pvalue = float(ks_2samp(ref, cur, method="exact").pvalue)
    else:
        pvalue = ks_pvalue(statistic, ref.size, cur.size)
    return KSResult(statistic, statistic, pvalue)


def wasserstein_exact(reference: ArrayLike, current: ArrayLike) -> float:
    """Exact Wasserstein-1 distance ``∫ |F_r − F_c|`` between two samples (data units)."""
    ref, cur = _finite(reference, "reference"), _finite(current, "current")
    points = np.concatenate([ref, cur])
    points.sort()
    widths = np.diff(points)
    cdf_ref = np.searchsorted(ref, points[:-1], side="right") / ref.size
    cdf_cur = np.searchsorted(cur, points[:-1], side="right") / cur.size
    return float(np.sum(np.abs(cdf_ref - cdf_cur) * widths))
