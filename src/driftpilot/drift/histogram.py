"""The reference and current distributions of one feature, as the report's overlay plots them.

A numeric feature's histogram is the reference profile's bins (quantile bins: equal reference
counts, unequal widths) with the window's counts in them, plus the current values below the
reference minimum and above its maximum; a categorical feature's is its categories, the
reference's ``other`` bucket, and the window's unseen categories. Counts, not shares, so
windows and partitions add up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from driftpilot.engine.windows import CategoricalCounts, FeatureCounts, NumericCounts
from driftpilot.profile.model import CategoricalProfile, NumericProfile

__all__ = ["Histogram", "feature_histogram"]

OTHER, UNSEEN = "(other)", "(unseen)"


class Histogram(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["numeric", "categorical"]
    edges: list[float] = []  # numeric: B + 1 bin edges
    labels: list[str] = []  # categorical: the bar of each count
    reference: list[int]
    current: list[int]
    below: int = 0  # numeric: current values under the reference minimum
    above: int = 0  # numeric: … over its maximum


def feature_histogram(
    reference: NumericProfile | CategoricalProfile, counts: FeatureCounts
) -> Histogram | None:
    """The overlay of ``reference`` and one window's ``counts`` (None when either side has no
    bins to show: a reference without finite values, or counts of another kind)."""
    if isinstance(reference, NumericProfile) and isinstance(counts, NumericCounts):
        if reference.bins is None:
            return None
        current = [int(c) for c in counts.counts]
        return Histogram(
            kind="numeric",
            edges=list(reference.bins.edges),
            reference=list(reference.bins.counts),
            current=current[1:-1],
            below=current[0],
            above=current[-1],
        )
    if isinstance(reference, CategoricalProfile) and isinstance(counts, CategoricalCounts):
        return Histogram(
            kind="categorical",
            labels=[*reference.categories, OTHER, UNSEEN],
            reference=[*reference.counts, reference.other_count, 0],
            current=[int(c) for c in counts.counts],
        )
    return None
