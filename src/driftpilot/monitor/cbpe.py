"""Confidence-based performance estimation (CBPE) for binary classifiers, before labels arrive.

If the model's scores are calibrated probabilities, a row with score ``p`` is a positive with
probability ``p``: summing ``p`` (and ``1 − p``) over a window's rows gives the expected
confusion matrix at the decision threshold, and the same expected counts per score bin give
the expected ROC curve and AUC. Scores are first mapped through an isotonic calibration fitted
on the reference, but only when that calibration lowers the Brier score on reference chunks it
was not fitted on.

Assumptions, stated plainly: the relation between features and label is the reference's (no
concept shift: covariate shift is fine, a change of P(label | features) is invisible here), and
the calibration learned on the reference still holds. The band is ± 3 standard errors, the
standard error taken from the metric's spread over reference chunks and scaled to the window's
size. (The method follows NannyML's CBPE; this is a compact re-implementation over histograms.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from driftpilot.monitor.performance import BinaryStats, auc, confusion_metrics
from driftpilot.profile.model import IsotonicMap, ReferencePerformance

__all__ = ["ESTIMATED", "calibrated_scores", "estimate", "expected_counts", "fit_calibration"]

ESTIMATED = ("roc_auc", "accuracy", "precision", "recall", "f1")
IMPROVEMENT = 0.001  # calibration must lower held-out Brier by at least 0.1 % to be used


def _fit(stats: BinaryStats) -> IsotonicMap | None:
    from sklearn.isotonic import IsotonicRegression

    rows = stats.n[:2].sum(axis=(0, 1))
    keep = rows > 0
    if keep.sum() < 2 or stats.n[1].sum() == 0 or stats.n[0].sum() == 0:
        return None
    x = stats.s[:2].sum(axis=(0, 1))[keep] / rows[keep]
    y = stats.n[1].sum(axis=0)[keep] / rows[keep]
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    model.fit(x, y, sample_weight=rows[keep])
    return IsotonicMap(x=model.X_thresholds_.tolist(), y=model.y_thresholds_.tolist())


def calibrated_scores(stats: BinaryStats, mapping: IsotonicMap | None) -> NDArray[np.float64]:
    """P(label = 1) per score bin: the bin's mean score, through the calibration map if any."""
    rows = stats.n.sum(axis=(0, 1))
    mean = np.divide(stats.s.sum(axis=(0, 1)), rows, out=np.zeros_like(rows), where=rows > 0)
    if mapping is None:
        return np.asarray(np.clip(mean, 0.0, 1.0), dtype=np.float64)
    return np.asarray(
        np.interp(mean, np.asarray(mapping.x), np.asarray(mapping.y)), dtype=np.float64
    )


def _brier(stats: BinaryStats, mapping: IsotonicMap | None) -> float:
    """Brier score of the labeled rows with scores replaced by their bin's calibrated value."""
    p = calibrated_scores(stats, mapping)
    rows = stats.n[:2].sum(axis=(0, 1))
    positives = stats.n[1].sum(axis=0)
    return float(np.sum(rows * p * p - 2 * p * positives + positives))


def fit_calibration(chunks: list[BinaryStats]) -> IsotonicMap | None:
    """An isotonic calibration fitted on all chunks, or None when it does not help.

    It is judged by cross-fitting: fitted on even chunks and scored on odd ones, and the other
    way round, against the raw scores on the same rows.
    """
    if len(chunks) < 2:
        return None
    even = sum(chunks[0::2], chunks[0].zeros())
    odd = sum(chunks[1::2], chunks[0].zeros())
    raw = calibrated = 0.0
    for fit_on, score_on in ((even, odd), (odd, even)):
        mapping = _fit(fit_on)
        raw += _brier(score_on, None)
        calibrated += _brier(score_on, mapping) if mapping else _brier(score_on, None)
    if calibrated >= raw * (1 - IMPROVEMENT):
        return None
    return _fit(even + odd)


def expected_counts(stats: BinaryStats, mapping: IsotonicMap | None) -> NDArray[np.float64]:
    """Expected rows per [label, predicted class, score bin] over every row of the window."""
    p = calibrated_scores(stats, mapping)
    rows = stats.n.sum(axis=0)  # [predicted class, bin], labeled or not
    return np.stack([rows * (1 - p), rows * p])


def estimate(stats: BinaryStats, reference: ReferencePerformance) -> dict[str, Any]:
    """Estimated metrics with ± 3 standard-error bands and alerts against reference chunks."""
    expected = expected_counts(stats, reference.calibration)
    cells = {
        "tn": expected[0, 0].sum(),
        "fp": expected[0, 1].sum(),
        "fn": expected[1, 0].sum(),
        "tp": expected[1, 1].sum(),
    }
    values: dict[str, Any] = confusion_metrics(*(float(cells[c]) for c in ("tp", "fp", "tn", "fn")))
    found = auc(expected[1].sum(axis=0), expected[0].sum(axis=0))
    values["roc_auc"] = found[0] if found else None
    rows = stats.rows
    bands: dict[str, list[float]] = {}
    alerts: list[str] = []
    for metric in ESTIMATED:
        spread = reference.chunks.get(metric)
        value = values.get(metric)
        if spread is None or value is None or rows == 0:
            continue
        scale = float(np.sqrt(reference.chunk_rows / rows))
        se = spread.std * scale
        bands[metric] = [max(value - 3 * se, 0.0), min(value + 3 * se, 1.0)]
        lower = spread.mean - 3 * spread.std * scale
        if value < lower:
            alerts.append(
                f"estimated {metric} {value:.3f} < {lower:.3f} (reference {spread.mean:.3f} − 3σ)"
            )
    return {
        **values,
        "rows": rows,
        "bands": bands,
        "alerts": alerts,
        "calibrated": reference.calibration is not None,
    }
