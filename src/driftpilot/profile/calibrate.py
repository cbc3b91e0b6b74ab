"""Calibrate each statistic's threshold from the reference: chunks of it against the whole.

With a timestamp, the chunks are equal spans of time, so the calibration sees the reference's
own week-to-week variation as well as sampling noise. Without one, the chunks are random draws
of ``rows / chunks`` values from the reference distribution (a seeded bootstrap), which is
sampling noise alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from driftpilot.config import DriftpilotConfig
from driftpilot.profile.model import (
    Calibration,
    CategoricalProfile,
    NumericProfile,
    StatisticCalibration,
)

__all__ = ["ChunkCounts", "calibrate"]

MIN_CHUNK_ROWS = 20


@dataclass(frozen=True)
class ChunkCounts:
    """Per-chunk counts aligned like a window's counts, and (numeric, time chunks) value sums."""

    counts: list[np.ndarray] = field(default_factory=list)
    sums: list[np.ndarray] = field(default_factory=list)


def calibrate(
    profile: NumericProfile | CategoricalProfile,
    chunks: ChunkCounts,
    method: str,
    config: DriftpilotConfig,
) -> Calibration | None:
    """Mean and standard deviation of every calibrated statistic over the chunks."""
    from driftpilot.drift.statistics import CALIBRATED, categorical_distances, numeric_distances

    whole, bin_means = _whole(profile)
    if whole is None or whole.sum() < 2 * MIN_CHUNK_ROWS:
        return None
    settings = config.profile.calibration
    counts, sums = chunks.counts, chunks.sums
    if method == "time":
        kept = [i for i, c in enumerate(counts) if c.sum() >= MIN_CHUNK_ROWS]
        counts, sums = [counts[i] for i in kept], [sums[i] for i in kept] if sums else []
    if method != "time" or len(counts) < 2:
        method = "random"
        rng = np.random.default_rng(settings.seed)
        size = max(int(whole.sum()) // settings.chunks, MIN_CHUNK_ROWS)
        draws = rng.multinomial(size, whole / whole.sum(), size=settings.chunks)
        counts = list(draws.astype(np.float64))
        with np.errstate(all="ignore"):
            sums = [d * bin_means for d in draws] if bin_means is not None else []
    matrix = np.vstack(counts)
    # values of extreme magnitude can overflow a statistic: such statistics stay uncalibrated
    with np.errstate(all="ignore"):
        if isinstance(profile, NumericProfile):
            sum_matrix = np.vstack(sums) if sums else np.zeros_like(matrix)
            values = numeric_distances(
                profile, matrix, sum_matrix, psi_bins=config.drift.psi_bins, eps=config.drift.eps
            )
        else:
            values = categorical_distances(profile, matrix, eps=config.drift.eps)
        moments = {
            name: (float(np.mean(v)), float(np.std(v, ddof=1)))
            for name, v in values.items()
            if name in CALIBRATED
        }
    return Calibration(
        method="time" if method == "time" else "random",
        chunks=len(counts),
        chunk_rows=int(np.median([c.sum() for c in counts])),
        statistics={
            name: StatisticCalibration(mean=mean, std=std)
            for name, (mean, std) in moments.items()
            if np.isfinite(mean) and np.isfinite(std)
        },
    )


def _whole(
    profile: NumericProfile | CategoricalProfile,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The reference's own counts aligned like a window's (and numeric bin means)."""
    if isinstance(profile, NumericProfile):
        if profile.bins is None:
            return None, None
        counts = np.asarray([0, *profile.bins.counts, 0], dtype=np.float64)
        sums = np.asarray([0, *profile.bins.sums, 0], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), 0.0)
        return counts, means
    return np.asarray([*profile.counts, profile.other_count, 0], dtype=np.float64), None
