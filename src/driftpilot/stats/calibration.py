"""Thresholds calibrated from the reference itself.

A statistic of reference chunks against the whole reference shows how large the statistic gets
when nothing has changed; ``mean + k·std`` over the chunks is the calibrated threshold (the
approach of NannyML's standard-deviation thresholds). Sampling noise grows as a window shrinks,
so for a window smaller than the chunks the threshold is scaled up by the ratio of the noise
variances, ``(1/n_current + 1/n_reference) / (1/n_chunk)``, to the power 1 for statistics that
behave like squared distances (PSI, KL) and ½ for the others. It is never scaled down: natural
variation between reference chunks does not shrink with larger windows.

>>> from driftpilot.stats.calibration import calibrated_threshold
>>> round(calibrated_threshold(0.01, 0.002, k=3, statistic="psi", n_current=10_000,
...                            n_reference=1_000_000, n_chunk=100_000), 4)
0.1616
"""

from __future__ import annotations

__all__ = ["SQUARED_STATISTICS", "calibrated_threshold"]

SQUARED_STATISTICS = frozenset({"psi", "kl"})


def calibrated_threshold(
    mean: float,
    std: float,
    *,
    k: float,
    statistic: str,
    n_current: float,
    n_reference: float,
    n_chunk: float,
) -> float:
    """``(mean + k·std)`` of the chunk statistics, scaled up for windows smaller than a chunk."""
    base = mean + k * std
    if n_current <= 0 or n_chunk <= 0:
        return base
    ratio = (1.0 / n_current + 1.0 / max(n_reference, 1.0)) * n_chunk
    power = 1.0 if statistic in SQUARED_STATISTICS else 0.5
    return float(base * max(1.0, ratio) ** power)
