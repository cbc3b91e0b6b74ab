"""The gate's metrics against scikit-learn, and its decisions on constructed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from driftpilot.retrain.config import GateConfig
from driftpilot.retrain.gate import evaluate_gate, gate_metrics, metric_values, roc_auc


def test_auc_by_hand_with_ties() -> None:
    # positives score 0.8 and 0.5, negatives 0.5 and 0.2: pairs (0.8>0.5, 0.8>0.2, 0.5=0.5
    # counts half, 0.5>0.2) → 3.5 of 4
    y = np.array([1.0, 1.0, 0.0, 0.0])
    scores = np.array([0.8, 0.5, 0.5, 0.2])
    assert roc_auc(y, scores) == pytest.approx(3.5 / 4)
    assert roc_auc(np.ones(3), np.array([0.1, 0.2, 0.3])) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=80).filter(
        lambda rows: 0 < sum(r[0] for r in rows) < len(rows)
    )
)
def test_auc_matches_sklearn_with_many_ties(rows: list[tuple[bool, int]]) -> None:
    y = np.array([float(r[0]) for r in rows])
    scores = np.array([r[1] / 6 for r in rows])  # seven levels: ties everywhere
    assert roc_auc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores))


def test_binary_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(3000)
    y = (rng.random(3000) < scores).astype(float)
    found = metric_values("binary", y, scores, threshold=0.4)
    predicted = (scores >= 0.4).astype(float)
    assert found["roc_auc"] == pytest.approx(sk.roc_auc_score(y, scores))
    assert found["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert found["recall"] == pytest.approx(sk.recall_score(y, predicted))
    assert found["precision"] == pytest.approx(sk.precision_score(y, predicted))
    assert found["f1"] == pytest.approx(sk.f1_score(y, predicted))
    assert found["log_loss"] == pytest.approx(sk.log_loss(y, scores))


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 2000)
    predicted = y + rng.normal(0.5, 1, 2000)
    found = metric_values("regression", y, predicted, threshold=0.5)
    assert found["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, predicted)))
    assert found["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted))
    assert found["r2"] == pytest.approx(sk.r2_score(y, predicted))


def _holdout(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Labels from true probabilities; a noisy copy of them is the weaker model."""
    rng = np.random.default_rng(seed)
    truth = rng.beta(1, 4, n)
    label = (rng.random(n) < truth).astype(float)
    noisy = np.clip(truth + rng.normal(0, 0.25, n), 0, 1)
    segment = np.where(np.arange(n) % 2 == 0, "a", "b")
    return pd.DataFrame({"label": label, "segment": segment}), truth, noisy


GATE = GateConfig(bootstrap=100, min_segment_rows=100)


def test_a_clearly_better_candidate_passes_with_confidence() -> None:
    holdout, truth, noisy = _holdout(4000, 0)
    result = evaluate_gate(
        holdout, truth, noisy, task="binary", settings=GATE, segments=["segment"]
    )
    assert result.passed, result.reasons
    assert result.improvement is not None
    assert result.lower_bound is not None
    assert 0 < result.lower_bound < result.improvement
    assert {c.value for c in result.segments} == {"a", "b"}
    names = gate_metrics(result)
    assert names["holdout_improvement_roc_auc"] == result.improvement
    assert names["holdout_candidate_roc_auc"] == result.candidate["roc_auc"]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_identical_models_never_pass_and_swapping_flips_the_sign(seed: int) -> None:
    holdout, truth, noisy = _holdout(600, seed)
    same = evaluate_gate(holdout, noisy, noisy, task="binary", settings=GATE)
    assert not same.passed
    assert same.improvement == 0
    forward = evaluate_gate(holdout, truth, noisy, task="binary", settings=GATE)
    backward = evaluate_gate(holdout, noisy, truth, task="binary", settings=GATE)
    assert forward.improvement == pytest.approx(-backward.improvement)  # type: ignore[operator]
    assert not (forward.passed and backward.passed)


def test_a_lucky_small_holdout_fails_on_the_bootstrap() -> None:
    holdout, truth, _ = _holdout(120, 3)
    rng = np.random.default_rng(9)
    nudged = np.clip(truth + rng.normal(0, 0.02, len(truth)), 0, 1)
    result = evaluate_gate(holdout, truth, nudged, task="binary", settings=GATE)
    if result.improvement is not None and result.improvement > 0:
        assert not result.passed
        assert "lower bound" in result.reasons[0]
    without = GateConfig(bootstrap=100, confidence=0.0)
    plain = evaluate_gate(holdout, truth, nudged, task="binary", settings=without)
    assert plain.lower_bound is None
    assert plain.passed == (plain.improvement is not None and plain.improvement > 0)


def test_a_segment_that_regresses_fails_the_gate_and_is_named() -> None:
    holdout, truth, noisy = _holdout(4000, 1)
    in_b = (holdout["segment"] == "b").to_numpy()
    candidate = truth.copy()
    candidate[in_b] = 1 - truth[in_b]  # much better on a, backwards on b
    champion = noisy
    result = evaluate_gate(
        holdout,
        candidate,
        champion,
        task="binary",
        settings=GateConfig(confidence=0.0, min_segment_rows=100),
        segments=["segment"],
    )
    assert not result.passed
    assert any("segment=b" in r for r in result.reasons)
    small = GateConfig(confidence=0.0, min_segment_rows=10_000)
    unjudged = evaluate_gate(
        holdout, candidate, champion, task="binary", settings=small, segments=["segment"]
    )
    assert unjudged.segments == []


def test_floors_and_ceilings_and_the_first_model() -> None:
    holdout, truth, _ = _holdout(2000, 2)
    floor = GateConfig(floors={"roc_auc": 0.99})
    first = evaluate_gate(holdout, truth, None, task="binary", settings=floor)
    assert first.champion is None
    assert not first.passed
    assert first.floors["roc_auc"]["kind"] == "floor"
    assert "below floor 0.99" in first.reasons[0]
    assert evaluate_gate(holdout, truth, None, task="binary", settings=GateConfig()).passed
    y = np.linspace(0, 100, 500)
    frame = pd.DataFrame({"label": y})
    ceiling = GateConfig(floors={"rmse": 1.0}, confidence=0.0)
    close = evaluate_gate(frame, y + 0.5, y + 3.0, task="regression", settings=ceiling)
    assert close.passed
    assert close.improvement == pytest.approx(2.5)  # rmse 3.0 → 0.5: lower is better
    far = evaluate_gate(frame, y + 2.0, y + 3.0, task="regression", settings=ceiling)
    assert not far.passed
    assert "above ceiling 1" in far.reasons[0]
