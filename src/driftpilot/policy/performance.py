"""Performance values for the policy: realized, per segment, drops against a baseline, the
estimate, and the noise that calibrated thresholds are made of.

A calibrated threshold for a performance value is ``k`` times its noise
(:func:`noise_threshold`): the larger of the metric's spread over reference chunks (scaled to
the rows the value stands on) and its sampling error (:func:`sampling_error`), widened for a
champion baseline's own noise.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from driftpilot.policy.context import Candidate, Context, serving_version
from driftpilot.policy.metrics import CATALOG, MetricSpec

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport
    from driftpilot.policy.language import Call

__all__ = [
    "champion_baseline",
    "drop_candidates",
    "estimate_candidate",
    "noise_threshold",
    "performance_candidates",
    "sampling_error",
]


def segment_of(call: Call) -> tuple[str, str] | None:
    options = [(k, v) for k, v in call.options if k != "baseline"]
    return options[0] if options else None


def performance_values(report: WindowReport, segment: tuple[str, str] | None) -> dict[str, Any]:
    """``{where: metrics}`` for the window overall or for the segment(s) asked."""
    performance = report.performance or {}
    if segment is None:
        return {"": performance} if performance else {}
    column, value = segment
    by_segment = (performance.get("by_segment") or {}).get(column) or {}
    if value == "*":
        return {f"{column}={v}": m for v, m in sorted(by_segment.items())}
    return {f"{column}={value}": by_segment[value]} if value in by_segment else {}


def performance_candidates(
    call: Call, spec: MetricSpec, ctx: Context, *, calibrate: str | None
) -> list[Candidate]:
    out = []
    for where, metrics in performance_values(ctx.report, segment_of(call)).items():
        labeled = float(metrics.get("labeled") or 0)
        value = metrics.get(spec.source)
        if labeled < ctx.min_labels or value is None:
            note = f"{labeled:.0f} labeled rows, fewer than min_labels {ctx.min_labels}"
            out.append(
                Candidate(
                    None,
                    where or None,
                    labeled,
                    note=note if value is not None else f"{spec.name} is undefined here",
                )
            )
            continue
        threshold = None
        if calibrate:
            spread = noise_threshold(ctx, spec.source, metrics, labeled)
            reference = reference_metric(ctx, spec.source)
            if spread is not None and reference is not None:
                threshold = reference - spread if calibrate == "below" else reference + spread
        out.append(
            Candidate(
                float(value),
                where or None,
                labeled,
                threshold,
                None
                if threshold is not None or not calibrate
                else "the reference has no performance to calibrate against",
            )
        )
    return out or [Candidate(None, note="no labeled rows in this window")]


def reference_metric(ctx: Context, metric: str) -> float | None:
    performance = ctx.profile.performance if ctx.profile is not None else None
    value = performance.metrics.get(metric) if performance is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def noise_threshold(
    ctx: Context, metric: str, metrics: dict[str, Any], rows: float, *, extra: float = 0.0
) -> float | None:
    """k standard deviations of ``metric`` as measured on ``metrics`` (a window's or a
    segment's): the larger of two estimates of its noise, times ``sqrt(1 + extra)`` (``extra``:
    the baseline's own variance, as a share of the value's).

    - the metric's spread over reference chunks, scaled by the square root of how many times
      fewer rows the value stands on than a chunk — the rows that matter to the metric:
      actual positives for recall, predicted positives for precision, every labeled row
      otherwise — and never scaled down;
    - its sampling error at the rows it stands on (binomial for accuracy, recall and
      precision; Hanley and McNeil's for ROC AUC), which keeps the threshold honest when ten
      reference chunks happen to agree more closely than sampling allows.
    """
    performance = ctx.profile.performance if ctx.profile is not None else None
    if performance is None or metric not in performance.chunks or rows <= 0:
        return None
    ratio = performance.chunk_rows / rows
    cells = {"recall": ("tp", "fn"), "precision": ("tp", "fp")}.get(metric)
    reference = performance.metrics
    if cells is not None and all(isinstance(metrics.get(c), (int, float)) for c in cells):
        mine = sum(float(metrics[c]) for c in cells)
        theirs = sum(float(reference.get(c) or 0) for c in cells)
        labeled = float(reference.get("labeled") or 0)
        if mine > 0 and theirs > 0 and labeled > 0:
            ratio = performance.chunk_rows * (theirs / labeled) / mine
    scale: float = max(1.0, ratio) ** 0.5
    chunks = float(performance.chunks[metric].std) * scale
    expected = reference.get(metric)
    value = expected if isinstance(expected, (int, float)) else metrics.get(metric)
    sampling = sampling_error(metric, value, metrics) or 0.0
    spread = ctx.k * max(chunks, sampling) * math.sqrt(1.0 + extra)
    return spread if math.isfinite(spread) and spread > 0 else None


def sampling_error(metric: str, value: Any, metrics: dict[str, Any]) -> float | None:
    """Standard error of a proportion-like metric with value ``value`` at the counts of
    ``metrics`` (its confusion cells), or None when they are not there."""
    cells = [metrics.get(c) for c in ("tp", "fp", "tn", "fn")]
    if not isinstance(value, (int, float)) or not all(isinstance(c, (int, float)) for c in cells):
        return None
    tp, fp, tn, fn = (float(c) for c in cells)  # type: ignore[arg-type]
    n = {"accuracy": tp + fp + tn + fn, "recall": tp + fn, "precision": tp + fp}.get(metric)
    if n is not None:  # Agresti and Coull's: never 0, even at a proportion of 0 or 1
        if n <= 0:
            return None
        p = (value * n + 2) / (n + 4)
        return math.sqrt(p * (1 - p) / (n + 4))
    if metric != "roc_auc":
        return None
    positives, negatives = tp + fn, tn + fp
    if positives < 1 or negatives < 1:
        return None
    edge = 0.5 / min(positives, negatives)  # an AUC of exactly 0 or 1 has a zero formula error
    value = min(max(value, edge), 1 - edge)
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    variance = (
        value * (1 - value)
        + (positives - 1) * (q1 - value * value)
        + (negatives - 1) * (q2 - value * value)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def baseline_variance(n: int) -> float:
    """Variance of a median of ``n`` values, as a share of one value's (normal data)."""
    return 1.0 if n == 1 else (0.5 if n == 2 else math.pi / (2 * n))


def drop_candidates(call: Call, spec: MetricSpec, ctx: Context) -> list[Candidate]:
    """Baseline − value (a rise: value − baseline), with a calibrated threshold each."""
    segment = segment_of(call)
    base_kind = call.option("baseline") or ("champion" if segment else "reference")
    if base_kind == "reference" and reference_metric(ctx, spec.source) is None:
        base_kind = "champion"
    sign = 1.0 if CATALOG[spec.source].higher_is_better else -1.0
    out = []
    for where, metrics in performance_values(ctx.report, segment).items():
        labeled = float(metrics.get("labeled") or 0)
        value = metrics.get(spec.source)
        if labeled < ctx.min_labels or value is None:
            out.append(
                Candidate(
                    None,
                    where or None,
                    labeled,
                    note=f"{labeled:.0f} labeled rows "
                    f"(min_labels {ctx.min_labels}) or {spec.source} undefined",
                )
            )
            continue
        if base_kind == "reference":
            base, extra = reference_metric(ctx, spec.source), 0.0
            used = 1
        else:
            column = segment[0] if segment else None
            label = where.partition("=")[2] if segment else None

            def read(r: WindowReport, c: str | None = column, v: str | None = label) -> Any:
                return metric_at(r, spec.source, c, v, ctx)

            base, used = champion_baseline(ctx, (spec.source, where, ""), read)
            extra = baseline_variance(used) if used else 0.0
        if base is None:
            out.append(
                Candidate(
                    None,
                    where or None,
                    labeled,
                    note="no champion baseline yet "
                    f"(its first {ctx.baseline_windows} labeled windows)",
                )
            )
            continue
        spread = noise_threshold(ctx, spec.source, metrics, labeled, extra=extra)
        drop = sign * (base - float(value))
        out.append(
            Candidate(
                drop,
                where or None,
                labeled,
                spread,
                None if spread is not None else "no reference spread to calibrate",
            )
        )
    return out or [Candidate(None, note="no labeled rows in this window")]


def metric_at(
    report: WindowReport, metric: str, column: str | None, value: str | None, ctx: Context
) -> float | None:
    segment = (column, value) if column is not None and value is not None else None
    found = performance_values(report, segment)
    metrics = next(iter(found.values()), None) if found else None
    if not metrics or float(metrics.get("labeled") or 0) < ctx.min_labels:
        return None
    result: Any = metrics.get(metric)
    return float(result) if isinstance(result, (int, float)) else None


def champion_baseline(
    ctx: Context, key: tuple[str, str, str], read: Any
) -> tuple[float | None, int]:
    """Median of the value over the first ``baseline_windows`` earlier windows served by the
    same model version (the windows in which the champion proved itself), and how many."""
    version = serving_version(ctx.report)
    cache = (*key[:2], f"{version}@{ctx.index}")
    if cache in ctx._baselines:
        return ctx._baselines[cache]
    values: list[float] = []
    for report in ctx.history[: ctx.index]:
        if serving_version(report) != version:
            continue
        found = read(report)
        if found is not None:
            values.append(float(found))
        if len(values) == ctx.baseline_windows:
            break
    result = (statistics.median(values) if values else None, len(values))
    ctx._baselines[cache] = result
    return result


def estimate_candidate(spec: MetricSpec, ctx: Context, *, calibrate: str | None) -> Candidate:
    estimate = ctx.report.estimate or {}
    value = estimate.get(spec.source)
    rows = float(estimate.get("rows") or 0)
    if value is None:
        return Candidate(None, note="no estimate in this window (no calibration or too few rows)")
    if spec.kind == "estimate":
        threshold = None
        if calibrate:
            reference = reference_metric(ctx, spec.source)
            spread = noise_threshold(ctx, spec.source, estimate, rows)
            if reference is not None and spread is not None:
                threshold = reference - spread
        return Candidate(float(value), None, rows, threshold)
    reference = reference_metric(ctx, spec.source)
    if reference is None:
        return Candidate(None, note="the reference has no performance to compare with")
    return Candidate(
        reference - float(value), None, rows, noise_threshold(ctx, spec.source, estimate, rows)
    )
