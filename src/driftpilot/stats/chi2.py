"""Pearson's chi-square test of homogeneity for two samples counted in the same bins.

>>> from driftpilot.stats.chi2 import chi2_test
>>> r = chi2_test([30, 70], [50, 50])
>>> round(r.statistic, 4), r.dof, round(r.pvalue, 4)
(8.3333, 1, 0.0039)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from driftpilot.errors import StatisticError
from driftpilot.stats._counts import as_counts

__all__ = ["Chi2Result", "chi2_test"]


@dataclass(frozen=True)
class Chi2Result:
    statistic: float
    dof: int
    pvalue: float


def chi2_test(reference: ArrayLike, current: ArrayLike) -> Chi2Result:
    """Chi-square statistic ``Σ (O − E)² / E`` over the 2×k table of counts (no Yates correction).

    Bins empty in both samples are dropped; with fewer than two bins left the samples cannot
    differ and the result is (0, 0, 1). Equals ``scipy.stats.chi2_contingency(table,
    correction=False)``. Counts must be raw counts, not proportions: the test depends on size.
    Reference: Pearson (1900); the homogeneity form in Agresti (2013), "Categorical Data
    Analysis", §3.2.
    """
    from scipy.special import chdtrc

    ref = as_counts(reference, "reference")
    cur = as_counts(current, "current")
    if ref.shape != cur.shape or ref.ndim != 1:
        raise StatisticError(
            f"reference and current must be 1-D and aligned, got {ref.shape} and {cur.shape}"
        )
    if ref.sum() == 0 or cur.sum() == 0:
        raise StatisticError("both samples need at least one counted value for a chi-square test")
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    if table.shape[1] < 2:
        return Chi2Result(0.0, 0, 1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return Chi2Result(statistic, dof, float(chdtrc(dof, statistic)))
