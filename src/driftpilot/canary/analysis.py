"""One canary analysis: the challenger against the champion on the same traffic window.

Pure: it takes what each model answered in the window (:class:`Arm`) and the settings, and
returns four checks, each ``pass``, ``fail``, ``wait`` (too little evidence to judge) or
``skip`` (not judged at this stage):

- **errors**: the challenger's error rate (failed or timed-out calls over its calls) may
  exceed the champion's by at most ``max_error_rate_increase``; above that it fails when the
  binomial tail probability of that many errors at the limit's rate is under 0.001 (one
  early timeout is not a broken model; a challenger that always raises fails at once);
- **latency**: the challenger's p99 may be at most ``max_latency_ratio`` × the champion's p99
  and at most the champion's p99 + ``latency_slack_ms`` beyond it (both must be exceeded to
  fail, so a sub-millisecond champion does not make noise a failure). A p99 of a few hundred
  calls is one or two calls, so a p99 above the limit also has to be significant: if the
  challenger were as fast as the champion, at most 1 % of its calls would be above the limit;
  the check fails when the share above it has a binomial tail probability under 0.001 (a
  challenger slower on every call fails at once; a stray spike does not). Only live answers
  count: a shadow call is timed apart from any request, so a shadow-only stage skips this
  check;
- **divergence**: the Jensen-Shannon distance (base 2) between the two score distributions,
  over 20 equal-width bins of [0, 1] (binary) or the champion's 20 quantile bins
  (regression), at most ``max_divergence``: an integration bug that shifts every score shows
  here long before labels do. Small samples differ by chance (two samples of 200 from one
  distribution are often 0.2 apart), so a distance above the limit fails only when it is also
  above the noise floor (:func:`noise_floor`): within the noise there is no evidence of a
  difference yet, and the check passes;
- **metric** (once both have ``min_labels`` labeled rows): non-inferiority on the primary
  metric. With d = challenger − champion (oriented so positive is better) and its bootstrap
  interval (each arm resampled on its own: the arms are different entities), the check
  passes when the lower bound at ``confidence`` is above −``margin`` (non-inferiority shown),
  fails when the upper bound is below −``margin`` (inferior beyond the margin, with
  confidence), and waits otherwise.

A check fails only with ``min_evidence`` challenger calls, so one early error does not roll a
canary back; a clearly broken challenger still fails at the first analysis that has them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from driftpilot.canary.config import CanaryConfig
from driftpilot.retrain.gate import metric_values, oriented
from driftpilot.stats.divergence import js_distance

__all__ = ["Analysis", "Arm", "Check", "analyse"]

Float = NDArray[np.float64]
Status = Literal["pass", "fail", "wait", "skip"]
_BINS = 20
ALPHA = 0.001  # the errors and latency checks fail only on evidence this strong


@dataclass(frozen=True)
class Arm:
    """What one model answered in the window: its scores (binary: probabilities; regression:
    values), the latency of each live answer (request latency; shadow calls have none here),
    failed calls, and its labeled rows."""

    scores: Float
    latency_ms: Float
    errors: int = 0
    labels: Float = field(default_factory=lambda: np.empty(0))
    labeled_scores: Float = field(default_factory=lambda: np.empty(0))

    @property
    def calls(self) -> int:
        return len(self.scores) + self.errors

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    challenger: float | None
    champion: float | None
    limit: float | None
    detail: str


@dataclass(frozen=True)
class Analysis:
    challenger_calls: int
    champion_calls: int
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def summary(self) -> str:
        return "; ".join(f"{c.name} {c.status}: {c.detail}" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "challenger_calls": self.challenger_calls,
            "champion_calls": self.champion_calls,
            "checks": [asdict(c) for c in self.checks],
        }


def analyse(
    challenger: Arm,
    champion: Arm,
    settings: CanaryConfig,
    *,
    task: str,
    metric: str,
    threshold: float,
    seed: int = 0,
) -> Analysis:
    """The four checks of the module docstring."""
    enough = challenger.calls >= settings.min_evidence
    checks = [
        _errors(challenger, champion, settings, enough),
        _latency(challenger, champion, settings, enough),
        _divergence(challenger, champion, settings, enough, task, seed),
        _metric(challenger, champion, settings, task, metric, threshold, seed),
    ]
    return Analysis(challenger.calls, champion.calls, checks)


def _errors(challenger: Arm, champion: Arm, settings: CanaryConfig, enough: bool) -> Check:
    mine, theirs = challenger.error_rate, champion.error_rate or 0.0
    if mine is None:
        return Check("errors", "wait", None, theirs, None, "no challenger calls yet")
    limit = theirs + settings.max_error_rate_increase
    detail = (
        f"{challenger.errors}/{challenger.calls} challenger calls failed ({mine:.2%}) vs "
        f"{theirs:.2%} of the champion's; limit {limit:.2%}"
    )
    if mine <= limit:
        return Check("errors", "pass", mine, theirs, limit, detail)
    chance = tail_probability(challenger.errors, challenger.calls, limit)
    detail += f" (p = {chance:.2g} at the limit's rate)"
    if chance >= ALPHA:  # one early timeout is not a broken model
        return Check("errors", "pass", mine, theirs, limit, detail + ", not significant")
    return Check("errors", "fail" if enough else "wait", mine, theirs, limit, detail)


def p99(latency_ms: Float) -> float | None:
    return float(np.quantile(latency_ms, 0.99)) if len(latency_ms) else None


def _latency(challenger: Arm, champion: Arm, settings: CanaryConfig, enough: bool) -> Check:
    mine, theirs = p99(challenger.latency_ms), p99(champion.latency_ms)
    if mine is None and len(challenger.scores):
        detail = "shadow only: latency is judged once the challenger answers live requests"
        return Check("latency", "skip", None, theirs, None, detail)
    if mine is None or theirs is None:
        return Check("latency", "wait", mine, theirs, None, "no answered calls to compare yet")
    limit = max(theirs * settings.max_latency_ratio, theirs + settings.latency_slack_ms)
    detail = f"p99 {mine:.2f} ms vs champion {theirs:.2f} ms; limit {limit:.2f} ms"
    if mine <= limit:
        return Check("latency", "pass", mine, theirs, limit, detail)
    calls = len(challenger.latency_ms)
    slow = int((challenger.latency_ms > limit).sum())
    chance = tail_probability(slow, calls, 0.01)
    detail += f"; {slow} of {calls} calls above it (p = {chance:.2g} if only 1 % should be)"
    if chance >= ALPHA:  # a spike or two: no evidence of a slower model
        return Check("latency", "pass", mine, theirs, limit, detail + ", not significant")
    return Check("latency", "fail" if enough else "wait", mine, theirs, limit, detail)


def tail_probability(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    from scipy.special import bdtrc

    if k <= 0:
        return 1.0
    return 0.0 if k > n else float(bdtrc(k - 1, n, p))


def score_histograms(challenger: Float, champion: Float, task: str) -> tuple[Float, Float]:
    """Counts of both score sets in the same bins (see the module docstring)."""
    if task == "binary":
        edges = np.linspace(0.0, 1.0, _BINS + 1)
    else:
        edges = np.unique(np.quantile(champion, np.linspace(0, 1, _BINS + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
    inner = edges[1:-1]
    mine = np.bincount(np.searchsorted(inner, challenger, side="right"), minlength=len(inner) + 1)
    theirs = np.bincount(np.searchsorted(inner, champion, side="right"), minlength=len(inner) + 1)
    return mine.astype(np.float64), theirs.astype(np.float64)


def _distance(mine: Float, theirs: Float, task: str) -> float:
    a, b = score_histograms(mine, theirs, task)
    return float(js_distance(b, a))


def noise_floor(mine: Float, theirs: Float, task: str, *, seed: int, draws: int = 200) -> float:
    """The 99th percentile of the distance between random splits of the pooled scores into
    samples of the two sizes: what sampling noise alone gives at these sizes (each arm is
    subsampled to 10,000 scores for it)."""
    rng = np.random.default_rng(seed)
    cap = 10_000
    a = mine if len(mine) <= cap else rng.choice(mine, cap, replace=False)
    b = theirs if len(theirs) <= cap else rng.choice(theirs, cap, replace=False)
    pooled = np.concatenate([a, b])
    out = []
    for _ in range(draws):
        shuffled = rng.permutation(pooled)
        out.append(_distance(shuffled[: len(a)], shuffled[len(a) :], task))
    return float(np.quantile(out, 0.99))


def _divergence(
    challenger: Arm, champion: Arm, settings: CanaryConfig, enough: bool, task: str, seed: int
) -> Check:
    if len(challenger.scores) == 0 or len(champion.scores) == 0:
        return Check("divergence", "wait", None, None, None, "no scores to compare yet")
    distance = _distance(challenger.scores, champion.scores, task)
    limit = settings.max_divergence
    detail = (
        f"Jensen-Shannon distance {distance:.3f} between {len(challenger.scores):,} challenger "
        f"and {len(champion.scores):,} champion scores; limit {limit}"
    )
    if distance <= limit:
        return Check("divergence", "pass", distance, None, limit, detail)
    floor = noise_floor(challenger.scores, champion.scores, task, seed=seed)
    if distance <= floor:  # no evidence of a difference at these sample sizes
        detail += f", within the noise of these sample sizes (up to {floor:.3f})"
        return Check("divergence", "pass", distance, floor, limit, detail)
    detail += f", beyond the noise of these sample sizes (up to {floor:.3f})"
    return Check("divergence", "fail" if enough else "wait", distance, floor, limit, detail)


def _metric(
    challenger: Arm,
    champion: Arm,
    settings: CanaryConfig,
    task: str,
    metric: str,
    threshold: float,
    seed: int,
) -> Check:
    have = (len(challenger.labels), len(champion.labels))
    if min(have) < settings.min_labels:
        return Check(
            metric,
            "wait",
            None,
            None,
            -settings.margin,
            f"{have[0]} and {have[1]} labeled rows; {settings.min_labels} each are needed",
        )

    def value(y: Float, s: Float) -> float | None:
        return oriented(metric, metric_values(task, y, s, threshold=threshold).get(metric))

    mine = value(challenger.labels, challenger.labeled_scores)
    theirs = value(champion.labels, champion.labeled_scores)
    if mine is None or theirs is None:
        return Check(metric, "wait", None, None, -settings.margin, f"{metric} undefined yet")
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(settings.bootstrap):
        a = rng.integers(0, have[0], have[0])
        b = rng.integers(0, have[1], have[1])
        x = value(challenger.labels[a], challenger.labeled_scores[a])
        y = value(champion.labels[b], champion.labeled_scores[b])
        if x is not None and y is not None:
            diffs.append(x - y)
    if len(diffs) < settings.bootstrap // 2:
        return Check(metric, "wait", mine, theirs, -settings.margin, "too few usable resamples")
    lower = float(np.quantile(diffs, 1 - settings.confidence))
    upper = float(np.quantile(diffs, settings.confidence))
    sign = -1.0 if oriented(metric, 1.0) == -1.0 else 1.0  # report the metric as it reads
    detail = (
        f"{metric} {sign * mine:.4f} vs champion {sign * theirs:.4f} on {have[0]:,} and "
        f"{have[1]:,} labels; difference (better by) {mine - theirs:+.4f}, "
        f"{settings.confidence:.0%} interval [{lower:+.4f}, {upper:+.4f}], margin "
        f"{settings.margin}"
    )
    status: Status = (
        "pass" if lower > -settings.margin else "fail" if upper < -settings.margin else "wait"
    )
    return Check(metric, status, sign * mine, sign * theirs, -settings.margin, detail)
