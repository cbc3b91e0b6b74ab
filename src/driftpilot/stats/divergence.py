"""Distances between two binned distributions: PSI, KL, Jensen-Shannon, Hellinger, TV, L∞.

Each takes aligned bin counts (any scale: they are normalised) and returns a float for 1-D
inputs; a 2-D ``current`` (one row per window) gives one value per row, which the threshold
calibration uses. Empty bins are allowed everywhere: PSI and KL floor proportions at ``eps``
explicitly (and say so); the others are finite without smoothing.

>>> from driftpilot.stats.divergence import psi, js_distance, hellinger
>>> round(psi([25, 25, 50], [50, 25, 25]), 5)   # 0.25·ln 2 + 0.25·ln 2
0.34657
>>> round(js_distance([1, 0], [0, 1]), 6), round(hellinger([1, 0], [0, 1]), 6)
(1.0, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftpilot.stats._counts import proportions

__all__ = ["hellinger", "js_distance", "kl_divergence", "linf", "psi", "total_variation"]

Float = Any  # float for 1-D inputs, an array with one value per row for 2-D current


def psi(reference: ArrayLike, current: ArrayLike, *, eps: float = 1e-4) -> Float:
    """Population stability index ``Σ (q − p)·ln(q / p)``.

    ``p`` and ``q`` are the reference and current proportions, each floored at ``eps`` so that
    an empty bin gives a large but finite term instead of infinity (no renormalisation: the
    floor is the only smoothing). Symmetric in its arguments, ≥ 0, 0 for equal distributions.
    Reference: Yurdakul (2018), "Statistical properties of population stability index".
    """
    p, q = proportions(reference, current)
    p, q = np.maximum(p, eps), np.maximum(q, eps)
    return _out(np.sum((q - p) * np.log(q / p), axis=-1))


def kl_divergence(reference: ArrayLike, current: ArrayLike, *, eps: float = 1e-4) -> Float:
    """Kullback-Leibler divergence of the current from the reference, ``Σ q·ln(q / p)`` (nats).

    Proportions are floored at ``eps`` and renormalised, so the result is finite and ≥ 0
    (Gibbs' inequality holds for the smoothed distributions). Not symmetric.
    Reference: Kullback & Leibler (1951), "On information and sufficiency".
    """
    p, q = proportions(reference, current)
    p = np.maximum(p, eps)
    q = np.maximum(q, eps)
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    return _out(np.maximum(np.sum(q * np.log(q / p), axis=-1), 0.0))


def js_distance(reference: ArrayLike, current: ArrayLike) -> Float:
    """Jensen-Shannon distance with base-2 logarithms, in [0, 1].

    ``sqrt(½·KL(p‖m) + ½·KL(q‖m))`` with ``m = (p + q) / 2``; equals
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)``. Symmetric; no smoothing needed.
    References: Lin (1991), "Divergence measures based on the Shannon entropy"; Endres &
    Schindelin (2003), "A new metric for probability distributions" (the square root is a metric).
    """
    p, q = proportions(reference, current)
    m = (p + q) / 2
    divergence = 0.5 * _xlogy_ratio(p, m) + 0.5 * _xlogy_ratio(q, m)
    return _out(np.sqrt(np.maximum(divergence, 0.0) / np.log(2)))


def hellinger(reference: ArrayLike, current: ArrayLike) -> Float:
    """Hellinger distance ``sqrt(½·Σ (√p − √q)²)``, in [0, 1]; symmetric.

    Written as a sum of squares (not ``sqrt(1 − Σ √(pq))``) so equal inputs give exactly 0.
    Reference: Le Cam & Yang (2000), "Asymptotics in Statistics", §3.2.
    """
    p, q = proportions(reference, current)
    return _out(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=-1)))


def total_variation(reference: ArrayLike, current: ArrayLike) -> Float:
    """Total variation distance ``½·Σ |p − q|``, in [0, 1]; symmetric.

    Reference: Levin, Peres & Wilmer (2009), "Markov Chains and Mixing Times", §4.1.
    """
    p, q = proportions(reference, current)
    return _out(0.5 * np.sum(np.abs(p - q), axis=-1))


def linf(reference: ArrayLike, current: ArrayLike) -> Float:
    """L-infinity (Chebyshev) distance ``max |p − q|``: the largest change of one category's
    share, in [0, 1]; symmetric. The distance Evidently and SageMaker use for categories."""
    p, q = proportions(reference, current)
    return _out(np.max(np.abs(p - q), axis=-1))


def _xlogy_ratio(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Σ x·ln(x / y)`` with the convention 0·ln 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0) / np.where(y > 0, y, 1.0)), 0.0)
    return np.asarray(np.sum(terms, axis=-1))


def _out(values: NDArray[np.float64]) -> Float:
    values = np.asarray(values, dtype=np.float64)
    return float(values) if values.ndim == 0 else values
