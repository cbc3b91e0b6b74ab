"""The evaluation gate: may a candidate replace the champion?

Champion and candidate score the same holdout (the most recent slice of the training window,
which neither trained on). The candidate qualifies only if

1. it beats the champion on the primary metric by more than ``margin`` and, unless
   ``confidence`` is 0, the ``1 − confidence`` quantile of the paired bootstrap of that
   difference (both models scored on the same resampled rows) is above ``margin`` too — so a
   lucky holdout does not replace a model;
2. on no segment value with at least ``min_segment_rows`` rows (and, for ranking and
   class-rate metrics, both classes present) it is worse than the champion by more than
   ``segment_tolerance``;
3. it meets every absolute floor (a ceiling for error metrics such as ``rmse``).

With no champion (the first model) only the floors apply. Differences are oriented so that a
positive number always means "the candidate is better".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from driftpilot.retrain.config import LOWER_IS_BETTER, GateConfig

__all__ = ["GateResult", "evaluate_gate", "metric_values", "oriented", "roc_auc"]

Float = NDArray[np.float64]
_NEED_BOTH = frozenset({"roc_auc", "recall", "log_loss", "f1", "precision"})


def roc_auc(y: Float, scores: Float) -> float | None:
    """Area under the ROC curve by the Mann–Whitney U statistic with mid-ranks for ties:
    AUC = (R₁ − n₁(n₁+1)/2) / (n₁·n₀), R₁ the rank sum of the positives. None with one class.
    """
    positives = y == 1
    n1 = int(positives.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # mid-ranks: every tied run gets the mean of the ranks it spans
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    mid = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mid, ends - starts)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def metric_values(
    task: str, y: Float, scores: Float, *, threshold: float
) -> dict[str, float | None]:
    """Every gate metric of ``scores`` against labels ``y`` (None where undefined)."""
    if len(y) == 0:
        return {}
    if task != "binary":
        error = scores - y
        spread = float(((y - y.mean()) ** 2).sum())
        return {
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
            "r2": float(1 - (error**2).sum() / spread) if spread > 0 else None,
        }
    predicted = scores >= threshold
    actual = y == 1
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    clipped = np.clip(scores, 1e-15, 1 - 1e-15)
    return {
        "roc_auc": roc_auc(y, scores),
        "accuracy": float((predicted == actual).mean()),
        "recall": tp / (tp + fn) if tp + fn else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "log_loss": float(-np.mean(np.where(actual, np.log(clipped), np.log1p(-clipped)))),
    }


def oriented(metric: str, value: float | None) -> float | None:
    return None if value is None else (-value if metric in LOWER_IS_BETTER else value)


@dataclass(frozen=True)
class SegmentCheck:
    column: str
    value: str
    rows: int
    champion: float | None
    candidate: float | None
    change: float | None  # candidate − champion, oriented: positive is better
    ok: bool


@dataclass(frozen=True)
class GateResult:
    passed: bool
    metric: str
    rows: int
    candidate: dict[str, float | None]
    champion: dict[str, float | None] | None
    improvement: float | None
    lower_bound: float | None
    segments: list[SegmentCheck] = field(default_factory=list)
    floors: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        head = "passed" if self.passed else "failed"
        if self.champion is None:
            return f"{head} (no champion to beat): {'; '.join(self.reasons) or 'floors met'}"
        champ = self.champion.get(self.metric)
        cand = self.candidate.get(self.metric)
        numbers = f"{self.metric} {_show(cand)} vs champion {_show(champ)}"
        return f"{head}: {numbers}" + (f"; {'; '.join(self.reasons)}" if self.reasons else "")


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _bootstrap_lower(
    metric: str,
    task: str,
    y: Float,
    champ: Float,
    cand: Float,
    settings: GateConfig,
    threshold: float,
    seed: int,
) -> float | None:
    rng = np.random.default_rng(seed)
    diffs: list[float] = []
    for _ in range(settings.bootstrap):
        pick = rng.integers(0, len(y), len(y))
        a = oriented(metric, metric_values(task, y[pick], cand[pick], threshold=threshold)[metric])
        b = oriented(metric, metric_values(task, y[pick], champ[pick], threshold=threshold)[metric])
        if a is not None and b is not None:
            diffs.append(a - b)
    if len(diffs) < settings.bootstrap // 2:
        return None
    return float(np.quantile(diffs, 1 - settings.confidence))


def _segments(
    holdout: pd.DataFrame,
    columns: Sequence[str],
    task: str,
    metric: str,
    y: Float,
    champ: Float,
    cand: Float,
    settings: GateConfig,
    threshold: float,
) -> list[SegmentCheck]:
    checks: list[SegmentCheck] = []
    for column in columns:
        if column not in holdout.columns:
            continue
        values = holdout[column].astype("string").fillna("(missing)").to_numpy()
        for value in sorted(set(values.tolist())):
            inside = values == value
            rows = int(inside.sum())
            if rows < settings.min_segment_rows:
                continue
            if task == "binary" and metric in _NEED_BOTH and len(set(y[inside].tolist())) < 2:
                continue
            a = metric_values(task, y[inside], champ[inside], threshold=threshold)[metric]
            b = metric_values(task, y[inside], cand[inside], threshold=threshold)[metric]
            oa, ob = oriented(metric, a), oriented(metric, b)
            change = None if oa is None or ob is None else ob - oa
            ok = change is None or change >= -settings.segment_tolerance
            checks.append(SegmentCheck(column, str(value), rows, a, b, change, ok))
    return checks


def evaluate_gate(
    holdout: pd.DataFrame,
    candidate_scores: Float,
    champion_scores: Float | None,
    *,
    task: str,
    settings: GateConfig,
    threshold: float = 0.5,
    segments: Sequence[str] = (),
    seed: int = 0,
) -> GateResult:
    """Judge a candidate on ``holdout`` (its ``label`` column) as the module docstring says."""
    y = holdout["label"].to_numpy(dtype=np.float64)
    metric = settings.primary(task)
    cand = metric_values(task, y, candidate_scores, threshold=threshold)
    reasons: list[str] = []
    floors: dict[str, dict[str, Any]] = {}
    for name, limit in settings.floors.items():
        value = cand.get(name)
        ceiling = name in LOWER_IS_BETTER
        ok = value is not None and (value <= limit if ceiling else value >= limit)
        floors[name] = {
            "value": value,
            "limit": limit,
            "kind": "ceiling" if ceiling else "floor",
            "ok": ok,
        }
        if not ok:
            reasons.append(
                f"{name} {_show(value)} {'above ceiling' if ceiling else 'below floor'} {limit:g}"
            )
    if champion_scores is None:
        return GateResult(not reasons, metric, len(y), cand, None, None, None, [], floors, reasons)
    champ = metric_values(task, y, champion_scores, threshold=threshold)
    a, b = oriented(metric, champ.get(metric)), oriented(metric, cand.get(metric))
    improvement = None if a is None or b is None else b - a
    lower = None
    if improvement is None:
        reasons.append(f"{metric} is undefined on the holdout (one class only)")
    elif improvement <= settings.margin:
        reasons.append(
            f"{metric} improves by {improvement:+.4f}, not more than the margin {settings.margin:g}"
        )
    elif settings.confidence > 0:
        lower = _bootstrap_lower(
            metric, task, y, champion_scores, candidate_scores, settings, threshold, seed
        )
        if lower is None or lower <= settings.margin:
            reasons.append(
                f"{metric} improves by {improvement:+.4f}, but its {settings.confidence:.0%} "
                f"lower bound {_show(lower)} is not above the margin {settings.margin:g}"
            )
    checks = _segments(
        holdout, segments, task, metric, y, champion_scores, candidate_scores, settings, threshold
    )
    worse = [c for c in checks if not c.ok]
    if worse:
        listed = ", ".join(f"{c.column}={c.value} {c.change:+.4f}" for c in worse[:5])
        reasons.append(f"{metric} regresses beyond {settings.segment_tolerance:g} on {listed}")
    return GateResult(
        not reasons, metric, len(y), cand, champ, improvement, lower, checks, floors, reasons
    )


def gate_metrics(result: GateResult) -> Mapping[str, float]:
    """Flat metric names for MLflow: ``holdout_candidate_roc_auc``, ``holdout_champion_…``."""
    out: dict[str, float] = {}
    for who, values in (("candidate", result.candidate), ("champion", result.champion or {})):
        for name, value in values.items():
            if value is not None:
                out[f"holdout_{who}_{name}"] = value
    if result.improvement is not None:
        out[f"holdout_improvement_{result.metric}"] = result.improvement
    return out
