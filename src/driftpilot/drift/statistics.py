"""Every drift statistic of one feature, from its reference profile and a window's counts.

Numeric features: PSI, KL, Jensen-Shannon, Hellinger, total variation and chi-square over
``psi_bins`` equal-mass bins merged from the fine grid (10 by default: finer bins make these
statistics noisier without making them more useful); KS and Wasserstein over the fine grid
itself. Categorical and boolean features: the same histogram statistics plus L∞ over the
categories, the "other" bucket and unseen values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftpilot.engine.windows import CategoricalCounts, NumericCounts
from driftpilot.errors import StatisticError
from driftpilot.profile.model import CategoricalProfile, NumericProfile
from driftpilot.stats import (
    chi2_test,
    hellinger,
    js_distance,
    kl_divergence,
    ks_pvalue,
    linf,
    psi,
    total_variation,
    wasserstein_binned,
)
from driftpilot.stats.ks import ks_bounds

__all__ = [
    "CALIBRATED",
    "categorical_distances",
    "categorical_statistics",
    "coarse_groups",
    "numeric_distances",
    "numeric_statistics",
    "reference_arrays",
]

# statistics whose reference-chunk distribution gives a calibrated threshold
CALIBRATED = ("psi", "kl", "js", "hellinger", "tv", "ks", "wasserstein", "linf")


def coarse_groups(reference_counts: NDArray[np.float64], bins: int) -> NDArray[np.int64]:
    """Map the ``B + 2`` fine entries (underflow, B bins, overflow) onto ~``bins`` coarse bins.

    ``reference_counts`` are the reference's B fine-bin counts.

    Cuts fall where the reference's cumulative share passes ``j / bins``, so the coarse bins
    are as close to equal mass as the fine bins allow; underflow joins the first coarse bin and
    overflow the last, as in the usual PSI. A reference that is one point mass (a constant)
    would leave a single coarse bin, blind to any change, so there the values below and above
    it keep bins of their own.
    """
    counts = np.asarray(reference_counts, dtype=np.float64)
    cum = np.cumsum(counts) / max(counts.sum(), 1.0)
    group = np.minimum(np.floor(cum * bins - 1e-9).astype(np.int64), bins - 1)
    _, dense = np.unique(group, return_inverse=True)
    if dense.max() == 0:
        return np.concatenate([[0], dense + 1, [2]]).astype(np.int64)
    return np.concatenate([[dense[0]], dense, [dense[-1]]]).astype(np.int64)


def reference_arrays(profile: NumericProfile) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The reference's counts and centred sums padded to ``B + 2`` (empty under/overflow)."""
    if profile.bins is None:
        raise StatisticError("the reference has no finite values")
    counts = np.concatenate([[0.0], np.asarray(profile.bins.counts, np.float64), [0.0]])
    sums = np.concatenate([[0.0], np.asarray(profile.bins.sums, np.float64), [0.0]])
    return counts, sums


def numeric_distances(
    profile: NumericProfile, counts: Any, sums: Any, *, psi_bins: int = 10, eps: float = 1e-4
) -> dict[str, Any]:
    """The calibrated distances of a numeric feature; ``counts``/``sums`` may be 2-D (one row
    per window or chunk), giving one value per row."""
    if profile.bins is None:
        raise StatisticError("the reference has no finite values")
    ref_counts, ref_sums = reference_arrays(profile)
    cur = np.asarray(counts, dtype=np.float64)
    groups = coarse_groups(ref_counts[1:-1], psi_bins)
    coarse_ref = np.bincount(groups, weights=ref_counts).astype(np.float64)
    coarse_cur = _regroup(cur, groups, int(groups.max()) + 1)
    ks, ks_upper = ks_bounds(ref_counts, cur)
    edges = np.asarray(profile.bins.edges, np.float64) - profile.grid.center
    distance = wasserstein_binned(edges, ref_counts, ref_sums, cur, np.asarray(sums, np.float64))
    return {
        **_histogram_distances(coarse_ref, coarse_cur, eps),
        "ks": ks,
        "ks_upper": ks_upper,
        "wasserstein": distance / wasserstein_scale(profile),
    }


def categorical_distances(
    profile: CategoricalProfile, counts: Any, *, eps: float = 1e-4
) -> dict[str, Any]:
    """The calibrated distances of a categorical feature (``counts`` may be 2-D)."""
    ref = np.asarray([*profile.counts, profile.other_count, 0], dtype=np.float64)
    cur: NDArray[np.float64] = np.asarray(counts, dtype=np.float64)
    return {**_histogram_distances(ref, cur, eps), "linf": linf(ref, cur)}


def numeric_statistics(
    profile: NumericProfile, counts: NumericCounts, *, psi_bins: int = 10, eps: float = 1e-4
) -> dict[str, float]:
    """All statistics of a numeric feature; raises StatisticError when a side has no values."""
    stats = numeric_distances(profile, counts.counts, counts.sums, psi_bins=psi_bins, eps=eps)
    ref_counts, _ = reference_arrays(profile)
    groups = coarse_groups(ref_counts[1:-1], psi_bins)
    chi2 = chi2_test(
        np.bincount(groups, weights=ref_counts),
        np.bincount(groups, weights=counts.counts.astype(np.float64)),
    )
    n_ref, n_cur = float(ref_counts.sum()), float(counts.counts.sum())
    return _floats(
        {
            **stats,
            "chi2": chi2.statistic,
            "chi2_pvalue": chi2.pvalue,
            "ks_pvalue": ks_pvalue(float(stats["ks"]), n_ref, n_cur),
        }
    )


def categorical_statistics(
    profile: CategoricalProfile, counts: CategoricalCounts, *, eps: float = 1e-4
) -> dict[str, float]:
    """All statistics of a categorical or boolean feature over categories, other and unseen."""
    stats = categorical_distances(profile, counts.counts, eps=eps)
    ref = np.asarray([*profile.counts, profile.other_count, 0], dtype=np.float64)
    chi2 = chi2_test(ref, counts.counts.astype(np.float64))
    return _floats({**stats, "chi2": chi2.statistic, "chi2_pvalue": chi2.pvalue})


def _histogram_distances(
    ref: NDArray[np.float64], cur: NDArray[np.float64], eps: float
) -> dict[str, Any]:
    return {
        "psi": psi(ref, cur, eps=eps),
        "kl": kl_divergence(ref, cur, eps=eps),
        "js": js_distance(ref, cur),
        "hellinger": hellinger(ref, cur),
        "tv": total_variation(ref, cur),
    }


def wasserstein_scale(profile: NumericProfile) -> float:
    """The reference's standard deviation; for a constant (or overflowing) reference, the
    grid's scale, so the distance stays comparable across units."""
    return profile.std if profile.std else profile.grid.scale


def _regroup(
    counts: NDArray[np.float64], groups: NDArray[np.int64], size: int
) -> NDArray[np.float64]:
    """Sum the last axis of ``counts`` into ``size`` groups (a 0/1 matrix product)."""
    return np.asarray(counts @ np.eye(size)[groups], dtype=np.float64)


def _floats(stats: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in stats.items()}
