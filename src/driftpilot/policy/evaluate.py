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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftpilot.policy.context import Candidate, Context, serving_version
from driftpilot.policy.language import Call, Combine, Compare, Node
from driftpilot.policy.metrics import CATALOG, MetricSpec, canonical
from driftpilot.policy.performance import (
    champion_baseline,
    drop_candidates,
    estimate_candidate,
    performance_candidates,
)
from driftpilot.stats.calibration import calibrated_threshold

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport

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
        return performance_candidates(call, spec, ctx, calibrate=calibrate)
    if kind == "drop":
        return drop_candidates(call, spec, ctx)
    if kind in ("estimate", "estimate_drop"):
        return [estimate_candidate(spec, ctx, calibrate=calibrate)]
    if kind == "kpi":
        return [_or_note(report.kpis.get(call.args[0]), "the KPI has no value in this window")]
    if kind == "estimated_kpi":
        return [_or_note(report.estimated_kpis.get(call.args[0]), "no estimate in this window")]
    if kind == "kpi_drop":
        name = call.args[0]
        current = report.kpis.get(name)
        base, _ = champion_baseline(ctx, ("kpi", name, ""), lambda r: r.kpis.get(name))
        if current is None or base is None:
            return [Candidate(None, note="no KPI value, or no champion baseline yet")]
        return [Candidate(base - current)]
    if kind == "latency":
        return [_or_note(report.latency.get(spec.source), "no latency was logged")]
    if kind == "feature_store":
        return _feature_store_candidates(call, spec, report)
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


def _feature_store_candidates(
    call: Call, spec: MetricSpec, report: WindowReport
) -> list[Candidate]:
    check = report.feature_store
    if check is None:
        return [Candidate(None, note="no feature-store check at this time")]
    if spec.name == "stale_feature_views":
        stale = check.get("stale_views") or []
        return [Candidate(float(len(stale)), ", ".join(stale) or None)]
    found = check.get("skew" if spec.name == "feature_skew" else "views") or {}
    names = sorted(found) if call.args[0] == "*" else [call.args[0]]
    out = []
    for name in names:
        entry = found.get(name)
        if entry is None:
            out.append(Candidate(None, name, note=f"the check has no {name!r}"))
        elif spec.name == "feature_skew":
            out.append(Candidate(float(entry["rate"]), name, float(entry["compared"])))
        else:
            age = entry.get(spec.source)
            note = None if age is not None else "; ".join(entry.get("reasons") or []) or None
            out.append(Candidate(None if age is None else age / 3600, name, note=note))
    return out


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
