"""The drift report of one window: per-feature statistics, verdicts and data quality.

The JSON form is a stable contract that later reports extend but never break::

    {"dataset": {"drift", "drift_share", "drifted_features", "rows_reference", "rows_current", …},
     "features": {NAME: {"type", "method", "threshold", "score", "drift",
                         "statistics": {…}, "quality": {…}, "histogram": {…}, "error"?}}}

A feature that cannot be assessed (missing column, wrong type, no values) carries an ``error``
and ``drift: false``; it never stops the rest of the report.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from driftpilot.config import DriftpilotConfig, QualityConfig
from driftpilot.drift.histogram import Histogram, feature_histogram
from driftpilot.drift.quality import categorical_quality, numeric_quality
from driftpilot.drift.rules import ResolvedRule, resolve_rules
from driftpilot.drift.statistics import categorical_statistics, numeric_statistics
from driftpilot.engine.windows import (
    CategoricalCounts,
    FeatureCounts,
    FeatureFailure,
    NumericCounts,
    WindowCounts,
)
from driftpilot.errors import StatisticError
from driftpilot.profile.model import CategoricalProfile, NumericProfile, Profile

__all__ = ["DatasetDrift", "DriftReport", "FeatureDrift", "compare", "feature_drift"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class FeatureDrift(_Model):
    type: str
    method: str
    threshold: float
    threshold_source: str
    score: float | None
    drift: bool
    statistics: dict[str, float]
    quality: dict[str, Any]
    error: str | None = None
    exact: bool = False  # KS and Wasserstein computed on the raw values (small samples)
    histogram: Histogram | None = None  # the reference and current counts, for the overlay


class DatasetDrift(_Model):
    drift: bool
    drift_share: float
    drifted_features: list[str]
    rows_reference: int
    rows_current: int
    share_threshold: float
    features_checked: int
    failed_features: list[str] = Field(default_factory=list)
    quality_issues: dict[str, list[str]] = Field(default_factory=dict)
    extra_columns: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class DriftReport(_Model):
    dataset: DatasetDrift
    features: dict[str, FeatureDrift]
    window: datetime | None = None
    segment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)


def feature_drift(
    name: str,
    reference: NumericProfile | CategoricalProfile,
    counts: FeatureCounts,
    rule: ResolvedRule,
    config: DriftpilotConfig,
    exact: dict[str, float] | None = None,
) -> FeatureDrift:
    """Statistics, verdict and data quality of one feature (or model output) in one window."""
    base = {"type": reference.type, "method": rule.method}
    if isinstance(counts, FeatureFailure):
        return FeatureDrift(
            **base,
            threshold=rule.threshold,
            threshold_source="fixed",
            score=None,
            drift=False,
            statistics={},
            quality={},
            error=counts.message,
        )
    quality = _quality(reference, counts, config.quality)
    try:
        if isinstance(reference, NumericProfile) and isinstance(counts, NumericCounts):
            stats = numeric_statistics(
                reference, counts, psi_bins=config.drift.psi_bins, eps=config.drift.eps
            )
        elif isinstance(reference, CategoricalProfile) and isinstance(counts, CategoricalCounts):
            stats = categorical_statistics(reference, counts, eps=config.drift.eps)
        else:  # a profile and counts of different kinds cannot come from count_windows
            raise StatisticError(f"feature {name!r}: counts do not match the profile's type")
    except StatisticError as exc:
        side = "reference" if reference.valid == 0 else "current data"
        message = (
            f"no values to compare: the {side} has no valid values"
            if (reference.valid == 0 or counts.valid == 0)
            else str(exc)
        )
        return FeatureDrift(
            **base,
            threshold=rule.threshold,
            threshold_source="fixed",
            score=None,
            drift=False,
            statistics={},
            quality=quality,
            error=message,
        )
    if exact:
        stats.update(exact)
    calibration = reference.calibration
    threshold, source = rule.effective(
        {k: (v.mean, v.std) for k, v in calibration.statistics.items()} if calibration else None,
        n_current=counts.valid,
        n_reference=reference.valid,
        n_chunk=calibration.chunk_rows if calibration else 0,
    )
    score = float(stats[rule.method])
    if math.isnan(score):
        return FeatureDrift(
            **base,
            threshold=threshold,
            threshold_source=source,
            score=None,
            drift=False,
            statistics=_finite(stats),
            quality=quality,
            error=f"{rule.method} is not a number here: values of extreme magnitude overflow it; "
            "pick another method for this feature",
        )
    drift = score < threshold if rule.below else score > threshold
    error = None
    if counts.valid < config.drift.min_rows:  # too few values: statistics shown, no verdict
        drift = False
        error = (
            f"only {counts.valid} valid values; a verdict needs at least "
            f"{config.drift.min_rows} (drift.min_rows)"
        )
    return FeatureDrift(
        **base,
        threshold=threshold,
        threshold_source=source,
        score=score,
        drift=drift,
        statistics=_finite(stats),
        quality=quality,
        error=error,
        exact=bool(exact),
        histogram=feature_histogram(reference, counts),
    )


def _finite(stats: dict[str, float]) -> dict[str, float]:
    """Statistics that JSON can carry (NaN and infinity are left out)."""
    return {name: value for name, value in stats.items() if math.isfinite(value)}


def _quality(
    reference: NumericProfile | CategoricalProfile, counts: FeatureCounts, limits: QualityConfig
) -> dict[str, Any]:
    if isinstance(reference, NumericProfile) and isinstance(counts, NumericCounts):
        return numeric_quality(reference, counts, limits)
    if isinstance(reference, CategoricalProfile) and isinstance(counts, CategoricalCounts):
        return categorical_quality(reference, counts, limits)
    return {}


def compare(
    profile: Profile,
    window: WindowCounts,
    config: DriftpilotConfig | None = None,
    *,
    exact: dict[str, dict[str, float]] | None = None,
) -> DriftReport:
    """Compare one window's counts with the reference profile.

    ``exact`` replaces binned statistics by ones computed on raw values, per feature.
    """
    config = config or DriftpilotConfig()
    rules = resolve_rules(config.drift, profile)
    features = {
        name: feature_drift(
            name, reference, window.features[name], rules[name], config, (exact or {}).get(name)
        )
        for name, reference in profile.features.items()
    }
    checked = [n for n, f in features.items() if f.error is None]
    drifted = [n for n in checked if features[n].drift]
    share = len(drifted) / len(checked) if checked else 0.0
    dataset = DatasetDrift(
        drift=bool(checked) and share >= config.drift.drift_share,
        drift_share=share,
        drifted_features=drifted,
        rows_reference=profile.rows,
        rows_current=window.rows,
        share_threshold=config.drift.drift_share,
        features_checked=len(checked),
        failed_features=[n for n, f in features.items() if f.error is not None],
        quality_issues={
            n: f.quality["issues"] for n, f in features.items() if f.quality.get("issues")
        },
        extra_columns=list(window.extra_columns),
        warnings=list(profile.warnings),
    )
    return DriftReport(
        dataset=dataset, features=features, window=window.window, segment=window.segment
    )
