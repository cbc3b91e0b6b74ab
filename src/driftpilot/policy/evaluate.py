"""A condition evaluated on one window of the history, with the evidence for each part.

A metric yields candidates (one per feature for ``psi(*)``, one per segment for
``recall(region=*)``, else one); a comparison holds when any candidate meets its threshold,
and the evidence shows the candidate furthest past it (or closest to it).

A comparison none of whose candidates has a value (no labels yet, too few, no baseline yet,
no reference to calibrate against) is unknown (None), and the evidence says why. With ``*``,
a candidate without a value does not stop the others from deciding, except the one that made
the rule hold on the previous judged window (``Context.watch``): while the segment that
raised an incident waits for its labels, the rule waits too instead of calling it resolved.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from driftpilot.policy.language import Call, Combine, Compare, Node
from driftpilot.policy.metrics import CATALOG, MetricSpec, canonical
from driftpilot.stats.calibration import calibrated_threshold

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport
    from driftpilot.profile.model import Profile

__all__ = ["Context", "Evidence", "evaluate", "serving_version"]

OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Evidence:
    """One tested part of a condition: what it read, against what, and whether it held."""

    text: str
    met: bool | None  # None: no value to judge by
    value: float | None = None
    threshold: float | None = None
    where: str | None = None  # the feature or segment the value belongs to
    note: str | None = None  # why there is no value, or who else met it

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None or k == "met"}


@dataclass(frozen=True)
class Candidate:
    value: float | None
    where: str | None = None
    support: float | None = None  # rows behind the value (for calibration)
    threshold: float | None = None  # the calibrated threshold, when asked for
    note: str | None = None


@dataclass
class Context:
    """The window being judged, the windows before it, and what calibration needs."""

    history: Sequence[WindowReport]  # oldest first; ``index`` is the window judged
    index: int
    profile: Profile | None
    triggers: dict[str, Node]
    k: float = 3.0
    baseline_windows: int = 4
    min_labels: int = 100
    watch: frozenset[str] = frozenset()  # where the rule held on the previous judged window
    _baselines: dict[tuple[str, str, str], tuple[float | None, int]] = field(default_factory=dict)

    @property
    def report(self) -> WindowReport:
        return self.history[self.index]


def serving_version(report: WindowReport) -> str | None:
    """The model version that served most of the window's rows."""
    versions = report.model.get("versions") or {}
    return max(versions, key=lambda v: (versions[v], v)) if versions else None


def evaluate(node: Node, ctx: Context) -> tuple[bool | None, list[Evidence]]:
    """Whether ``node`` holds on ``ctx.report`` (None: no value to judge by, such as a
    performance rule before the labels arrive), and the evidence of every tested part.

    Combinations follow three-valued logic: ``a or b`` holds when either holds, fails when
    both fail, and is unknown otherwise (likewise ``K of (…)``).
    """
    if isinstance(node, Combine):
        results = [evaluate(item, ctx) for item in node.items]
        held = sum(met is True for met, _ in results)
        unknown = sum(met is None for met, _ in results)
        evidence = [e for _, found in results for e in found]
        if held >= node.need:
            return True, evidence
        return (False if held + unknown < node.need else None), evidence
    if isinstance(node, Call):
        if node.name in ctx.triggers and not node.args and not node.options:
            met, found = evaluate(ctx.triggers[node.name], ctx)
            return met, [Evidence(f"trigger {node.name}", met), *found]
        candidates = _candidates(node, CATALOG[canonical(node.name)], ctx, calibrate=None)
        hits = [c for c in candidates if c.value]
        best = hits[0] if hits else (candidates[0] if candidates else Candidate(None))
        note = best.note or _others(hits)
        known = any(c.value is not None for c in candidates)
        met = bool(hits) if known else None
        return met, [Evidence(node.text, met, best.value, None, best.where, note)]
    return _compare(node, ctx)


def _compare(node: Compare, ctx: Context) -> tuple[bool | None, list[Evidence]]:
    spec = CATALOG[canonical(node.call.name)]
    calibrate = spec.calibrated if node.threshold is None else None
    test: Any = OPS[node.op]
    scored: list[tuple[float, Candidate, float]] = []
    missing: list[Candidate] = []
    for candidate in _candidates(node.call, spec, ctx, calibrate=calibrate):
        threshold = node.threshold if node.threshold is not None else candidate.threshold
        if (
            candidate.value is None
            or threshold is None
            or not math.isfinite(candidate.value)
            or not math.isfinite(threshold)
        ):
            missing.append(candidate)
            continue
        margin = (
            candidate.value - threshold if node.op in (">", ">=") else threshold - candidate.value
        )
        scored.append((margin, candidate, threshold))
    if not scored:
        why = missing[0].note if missing else "no value in this window"
        return None, [Evidence(node.text, None, note=why)]
    watched = [c for c in missing if c.where is not None and c.where in ctx.watch]
    scored.sort(key=lambda s: (-s[0], s[1].where or ""))
    met = [s for s in scored if test(s[1].value, s[2])]
    _, best, threshold = (met or scored)[0]
    if not met and watched:
        note = f"{watched[0].where} held last time and has no value now: {watched[0].note}"
        return None, [Evidence(node.text, None, best.value, threshold, best.where, note)]
    others = _others([c for _, c, _ in met[1:]])
    return bool(met), [Evidence(node.text, bool(met), best.value, threshold, best.where, others)]


def _others(hits: Sequence[Candidate]) -> str | None:
    names = [c.where for c in hits if c.where]
    if not names:
        return None
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"also: {shown}"


# candidates per kind of metric -----------------------------------------------------------


def _candidates(
    call: Call, spec: MetricSpec, ctx: Context, *, calibrate: str | None
) -> list[Candidate]:
    report = ctx.report
    kind = spec.kind
    if kind in ("statistic", "verdict", "quality"):
        return _feature_candidates(call.args[0], spec, ctx, calibrate=calibrate)
    if kind == "dataset":
        return [Candidate(_dataset_value(spec.name, report))]
    if kind == "performance":
        return _performance(call, spec, ctx, calibrate=calibrate)
    if kind == "drop":
        return _drops(call, spec, ctx)
    if kind in ("estimate", "estimate_drop"):
        return [_estimate(spec, ctx, calibrate=calibrate)]
    if kind == "kpi":
        return [_or_note(report.kpis.get(call.args[0]), "the KPI has no value in this window")]
    if kind == "estimated_kpi":
        return [_or_note(report.estimated_kpis.get(call.args[0]), "no estimate in this window")]
    if kind == "kpi_drop":
        name = call.args[0]
        current = report.kpis.get(name)
        base, _ = _champion_baseline(ctx, ("kpi", name, ""), lambda r: r.kpis.get(name))
        if current is None or base is None:
            return [Candidate(None, note="no KPI value, or no champion baseline yet")]
        return [Candidate(base - current)]
    if kind == "latency":
        return [_or_note(report.latency.get(spec.source), "no latency was logged")]
    # detectors: they watch labeled predictions, so a window without labels tells nothing
    if not report.labels.get("labeled") or not report.detectors:
        return [Candidate(None, note="no labeled predictions for the detectors yet")]
    fired = {name: bool(d.get("fired")) for name, d in report.detectors.items()}
    if spec.flag:
        wanted = list(fired) if call.args[0] == "any" else [call.args[0]]
        if not all(name in fired for name in wanted):
            return [Candidate(None, note=f"no {call.args[0]} detector in this report")]
        hits = [Candidate(1.0, name) for name in wanted if fired.get(name)]
        return hits or [Candidate(0.0)]
    return [
        Candidate(float(sum(fired.values())), ", ".join(n for n, f in fired.items() if f) or None)
    ]


def _or_note(value: Any, note: str) -> Candidate:
    return (
        Candidate(float(value)) if isinstance(value, (int, float)) else Candidate(None, note=note)
    )


def _dataset_value(name: str, report: WindowReport) -> float:
    dataset = report.dataset
    return float(
        {
            "drift_share": dataset.drift_share,
            "drifted_features": len(dataset.drifted_features),
            "quality_issues": len(dataset.quality_issues),
            "rows": report.rows,
            "labeled": report.labels.get("labeled", 0),
            "label_coverage": report.labels.get("coverage", 0.0),
        }[name]
    )


def _feature_candidates(
    feature: str, spec: MetricSpec, ctx: Context, *, calibrate: str | None
) -> list[Candidate]:
    report = ctx.report
    names = sorted(report.features) if feature == "*" else [feature]
    out = []
    for name in names:
        drift = (
            report.prediction_drift
            if name == "prediction"
            else report.label_drift
            if name == "label"
            else report.features.get(name)
        )
        if drift is None:
            out.append(Candidate(None, name, note=f"{name!r} is not in this window's report"))
            continue
        if drift.error is not None and spec.kind != "quality":
            out.append(Candidate(None, name, note=f"{name}: {drift.error}"))
            continue
        if spec.kind == "verdict":
            out.append(Candidate(1.0 if drift.drift else 0.0, name))
            continue
        source = drift.statistics if spec.kind == "statistic" else drift.quality
        value = source.get(spec.source)
        if not isinstance(value, (int, float)):
            out.append(Candidate(None, name, note=f"{name} has no {spec.name}"))
            continue
        rows = _valid_rows(drift.quality)
        threshold = _drift_threshold(name, spec.name, rows, ctx) if calibrate else None
        note = None if threshold is not None or not calibrate else f"no calibration of {name}"
        out.append(Candidate(float(value), name, rows, threshold, note))
    return out


def _valid_rows(quality: dict[str, Any]) -> float:
    """Rows with a usable value (not null, NaN, ±inf or text), as the drift verdict counts."""
    bad = sum(
        float(quality.get(key) or 0.0)
        for key in ("null_share_current", "nonfinite_share_current", "type_error_share")
    )
    return float(quality.get("rows_current", 0)) * max(0.0, 1.0 - bad)


def _drift_threshold(feature: str, statistic: str, rows: float, ctx: Context) -> float | None:
    profile = ctx.profile
    if profile is None:
        return None
    reference: Any = (
        profile.outputs.get("score" if feature == "prediction" else "label")
        if feature in ("prediction", "label")
        else profile.features.get(feature)
    )
    calibration = getattr(reference, "calibration", None)
    if calibration is None or statistic not in calibration.statistics:
        return None
    found = calibration.statistics[statistic]
    return calibrated_threshold(
        found.mean,
        found.std,
        k=ctx.k,
        statistic=statistic,
        n_current=rows,
        n_reference=reference.valid,
        n_chunk=calibration.chunk_rows,
    )


# performance ------------------------------------------------------------------------------


def _segment(call: Call) -> tuple[str, str] | None:
    options = [(k, v) for k, v in call.options if k != "baseline"]
    return options[0] if options else None


def _performance_values(report: WindowReport, segment: tuple[str, str] | None) -> dict[str, Any]:
    """``{where: metrics}`` for the window overall or for the segment(s) asked."""
    performance = report.performance or {}
    if segment is None:
        return {"": performance} if performance else {}
    column, value = segment
    by_segment = (performance.get("by_segment") or {}).get(column) or {}
    if value == "*":
        return {f"{column}={v}": m for v, m in sorted(by_segment.items())}
    return {f"{column}={value}": by_segment[value]} if value in by_segment else {}


def _performance(
    call: Call, spec: MetricSpec, ctx: Context, *, calibrate: str | None
) -> list[Candidate]:
    out = []
    for where, metrics in _performance_values(ctx.report, _segment(call)).items():
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
            spread = _spread(ctx, spec.source, metrics, labeled)
            reference = _reference_metric(ctx, spec.source)
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


def _reference_metric(ctx: Context, metric: str) -> float | None:
    performance = ctx.profile.performance if ctx.profile is not None else None
    value = performance.metrics.get(metric) if performance is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def _spread(
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
    sampling = _sampling_error(metric, value, metrics) or 0.0
    spread = ctx.k * max(chunks, sampling) * math.sqrt(1.0 + extra)
    return spread if math.isfinite(spread) and spread > 0 else None


def _sampling_error(metric: str, value: Any, metrics: dict[str, Any]) -> float | None:
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


def _baseline_variance(n: int) -> float:
    """Variance of a median of ``n`` values, as a share of one value's (normal data)."""
    return 1.0 if n == 1 else (0.5 if n == 2 else math.pi / (2 * n))


def _drops(call: Call, spec: MetricSpec, ctx: Context) -> list[Candidate]:
    """Baseline − value (a rise: value − baseline), with a calibrated threshold each."""
    segment = _segment(call)
    base_kind = call.option("baseline") or ("champion" if segment else "reference")
    if base_kind == "reference" and _reference_metric(ctx, spec.source) is None:
        base_kind = "champion"
    sign = 1.0 if CATALOG[spec.source].higher_is_better else -1.0
    out = []
    for where, metrics in _performance_values(ctx.report, segment).items():
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
            base, extra = _reference_metric(ctx, spec.source), 0.0
            used = 1
        else:
            column = segment[0] if segment else None
            label = where.partition("=")[2] if segment else None

            def read(r: WindowReport, c: str | None = column, v: str | None = label) -> Any:
                return _metric_at(r, spec.source, c, v, ctx)

            base, used = _champion_baseline(ctx, (spec.source, where, ""), read)
            extra = _baseline_variance(used) if used else 0.0
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
        spread = _spread(ctx, spec.source, metrics, labeled, extra=extra)
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


def _metric_at(
    report: WindowReport, metric: str, column: str | None, value: str | None, ctx: Context
) -> float | None:
    segment = (column, value) if column is not None and value is not None else None
    found = _performance_values(report, segment)
    metrics = next(iter(found.values()), None) if found else None
    if not metrics or float(metrics.get("labeled") or 0) < ctx.min_labels:
        return None
    result: Any = metrics.get(metric)
    return float(result) if isinstance(result, (int, float)) else None


def _champion_baseline(
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


def _estimate(spec: MetricSpec, ctx: Context, *, calibrate: str | None) -> Candidate:
    estimate = ctx.report.estimate or {}
    value = estimate.get(spec.source)
    rows = float(estimate.get("rows") or 0)
    if value is None:
        return Candidate(None, note="no estimate in this window (no calibration or too few rows)")
    if spec.kind == "estimate":
        threshold = None
        if calibrate:
            reference = _reference_metric(ctx, spec.source)
            spread = _spread(ctx, spec.source, estimate, rows)
            if reference is not None and spread is not None:
                threshold = reference - spread
        return Candidate(float(value), None, rows, threshold)
    reference = _reference_metric(ctx, spec.source)
    if reference is None:
        return Candidate(None, note="the reference has no performance to compare with")
    return Candidate(
        reference - float(value), None, rows, _spread(ctx, spec.source, estimate, rows)
    )
