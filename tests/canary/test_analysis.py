"""Canary analysis against oracles (numpy, scipy, scikit-learn, hand counts) and the pure step
planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score

from driftpilot.canary.analysis import (
    Arm,
    analyse,
    noise_floor,
    score_histograms,
    tail_probability,
)
from driftpilot.canary.config import CanaryConfig
from driftpilot.canary.controller import plan
from driftpilot.canary.state import CanaryState

SETTINGS = CanaryConfig(min_evidence=50, min_labels=200)


def arm(
    rng: np.random.Generator,
    n: int,
    *,
    shift: float = 0.0,
    errors: int = 0,
    latency: float = 2.0,
    quality: float = 2.0,
) -> Arm:
    """``n`` answered calls of a model whose scores separate the classes by ``quality``."""
    y = rng.integers(0, 2, n).astype(float)
    logits = quality * (y - 0.5) + rng.normal(0, 1, n) + shift
    scores = 1 / (1 + np.exp(-logits))
    return Arm(scores, rng.gamma(4, latency / 4, n), errors, y, scores)


def checks(challenger: Arm, champion: Arm, **changes: object) -> dict[str, object]:
    settings_ = SETTINGS.model_copy(update=changes)
    done = analyse(challenger, champion, settings_, task="binary", metric="roc_auc", threshold=0.5)
    return {c.name: c for c in done.checks}


def test_error_rates_are_counted_by_hand() -> None:
    rng = np.random.default_rng(0)
    found = checks(arm(rng, 90, errors=10), arm(rng, 990, errors=10))
    errors = found["errors"]
    assert errors.challenger == pytest.approx(10 / 100)  # type: ignore[attr-defined]
    assert errors.champion == pytest.approx(10 / 1000)  # type: ignore[attr-defined]
    assert errors.status == "fail"  # type: ignore[attr-defined]
    one = checks(arm(rng, 59, errors=1), arm(rng, 990))["errors"]
    assert one.status == "pass"  # type: ignore[attr-defined] - one early timeout
    assert "not significant" in one.detail  # type: ignore[attr-defined]
    few = checks(arm(rng, 20, errors=10), arm(rng, 990))["errors"]
    assert few.status == "wait"  # type: ignore[attr-defined] - 30 calls < min_evidence


def test_latency_p99_is_numpys_and_fails_only_beyond_ratio_and_slack() -> None:
    rng = np.random.default_rng(1)
    champion = arm(rng, 2000, latency=2.0)
    same = checks(arm(rng, 500, latency=2.0), champion)["latency"]
    assert same.status == "pass"  # type: ignore[attr-defined]
    assert same.champion == pytest.approx(np.quantile(champion.latency_ms, 0.99))  # type: ignore[attr-defined]
    slow = checks(arm(rng, 500, latency=20.0), champion)["latency"]
    assert slow.status == "fail"  # type: ignore[attr-defined]
    few_slow = checks(arm(rng, 60, latency=20.0), champion)["latency"]
    assert few_slow.status == "fail"  # type: ignore[attr-defined] - every call is slow
    spiky = arm(rng, 200, latency=2.0)
    spiky.latency_ms[:3] = 100.0  # three stray pauses make its p99, not a slower model
    stray = checks(spiky, champion)["latency"]
    assert stray.challenger > stray.limit  # type: ignore[attr-defined,operator]
    assert stray.status == "pass"  # type: ignore[attr-defined]
    assert "not significant" in stray.detail  # type: ignore[attr-defined]
    shadow = Arm(champion.scores[:100], np.empty(0))
    assert checks(shadow, champion)["latency"].status == "skip"  # type: ignore[attr-defined]


@given(st.integers(0, 300), st.integers(1, 300), st.floats(0.001, 0.5))
def test_the_binomial_tail_is_scipys(k: int, n: int, p: float) -> None:
    from scipy.stats import binom

    assert tail_probability(k, n, p) == pytest.approx(binom.sf(k - 1, n, p), rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=200),
    st.lists(st.floats(0, 1), min_size=1, max_size=200),
)
def test_divergence_is_scipys_jensen_shannon_on_the_same_bins(
    a: list[float], b: list[float]
) -> None:
    mine, theirs = score_histograms(np.array(a), np.array(b), "binary")
    assert mine.sum() == len(a)
    assert theirs.sum() == len(b)
    expected = jensenshannon(theirs / theirs.sum(), mine / mine.sum(), base=2)
    rng = np.random.default_rng(0)
    found = analyse(
        Arm(np.array(a), rng.random(len(a))),
        Arm(np.array(b), rng.random(len(b))),
        SETTINGS.model_copy(update={"max_divergence": 1.0}),
        task="binary",
        metric="roc_auc",
        threshold=0.5,
    ).check("divergence")
    assert found.challenger == pytest.approx(expected, abs=1e-9)
    assert 0 <= found.challenger <= 1  # type: ignore[operator]


def test_the_noise_floor_covers_samples_of_one_distribution() -> None:
    covered = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        a, b = rng.beta(2, 5, 150), rng.beta(2, 5, 200)
        mine, theirs = score_histograms(a, b, "binary")
        distance = jensenshannon(theirs / theirs.sum(), mine / mine.sum(), base=2)
        covered += distance <= noise_floor(a, b, "binary", seed=seed)
    assert covered >= 55  # a 99 % quantile: nearly always


def test_a_shifted_challenger_fails_divergence_and_a_same_one_passes() -> None:
    rng = np.random.default_rng(2)
    champion = arm(rng, 3000)
    assert checks(arm(rng, 3000), champion)["divergence"].status == "pass"  # type: ignore[attr-defined]
    shifted = checks(arm(rng, 3000, shift=3.0), champion)["divergence"]
    assert shifted.status == "fail"  # type: ignore[attr-defined]


def test_the_metric_is_sklearns_auc_with_a_non_inferiority_verdict() -> None:
    rng = np.random.default_rng(3)
    champion = arm(rng, 3000)
    same = arm(rng, 3000)
    found = checks(same, champion)["roc_auc"]
    assert found.challenger == pytest.approx(roc_auc_score(same.labels, same.labeled_scores))  # type: ignore[attr-defined]
    assert found.champion == pytest.approx(roc_auc_score(champion.labels, champion.labeled_scores))  # type: ignore[attr-defined]
    assert found.status == "pass"  # type: ignore[attr-defined]
    worse = checks(arm(rng, 3000, quality=0.5), champion)["roc_auc"]
    assert worse.status == "fail"  # type: ignore[attr-defined]
    few = checks(arm(rng, 100), champion)["roc_auc"]
    assert few.status == "wait"  # type: ignore[attr-defined]
    close = checks(arm(rng, 250, quality=1.9), arm(rng, 250))["roc_auc"]
    assert close.status == "wait"  # type: ignore[attr-defined] - too wide to tell


def state(stage: int = 0, started: datetime | None = None) -> CanaryState:
    when = started or datetime(2026, 1, 1, tzinfo=UTC)
    return CanaryState("c", "2", "1", "running", stage, "x", 0.05, 0.0, when, when)


def test_plan_rolls_back_holds_advances_and_promotes() -> None:
    rng = np.random.default_rng(4)
    config = SETTINGS.model_copy(
        update={"stages": SETTINGS.stages[:2]}  # shadow, 5 %: 500 calls and 10 minutes each
    )
    now = datetime(2026, 1, 1, 1, tzinfo=UTC)
    good = analyse(arm(rng, 600), arm(rng, 3000), config, task="binary", metric="roc_auc",
                   threshold=0.5)  # fmt: skip
    assert plan(state(0), good, config, now, "roc_auc").action == "advance"
    assert plan(state(1), good, config, now, "roc_auc").action == "promote"
    early = plan(state(0, now - timedelta(minutes=3)), good, config, now, "roc_auc")
    assert early.action == "hold"
    assert "3m00s of 10m" in early.reason
    small = analyse(arm(rng, 100), arm(rng, 3000), config, task="binary", metric="roc_auc",
                    threshold=0.5)  # fmt: skip
    assert "100/500 challenger calls" in plan(state(0), small, config, now, "roc_auc").reason
    broken = analyse(arm(rng, 600, errors=100), arm(rng, 3000), config, task="binary",
                     metric="roc_auc", threshold=0.5)  # fmt: skip
    assert plan(state(0), broken, config, now, "roc_auc").action == "rollback"
    unlabeled = Arm(rng.random(600), rng.gamma(4, 0.5, 600))
    no_labels = analyse(unlabeled, Arm(rng.random(3000), rng.gamma(4, 0.5, 3000)), config,
                        task="binary", metric="roc_auc", threshold=0.5)  # fmt: skip
    assert plan(state(0), no_labels, config, now, "roc_auc").action == "advance"
    strict = config.model_copy(update={"require_labels": True})
    held = plan(state(0), no_labels, strict, now, "roc_auc")
    assert held.action == "hold"
    assert "roc_auc" in held.reason
