"""The evaluation gate: its metrics against scikit-learn, its decisions on built holdouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from driftpilot.retrain.config import BINARY_METRICS, REGRESSION_METRICS, GateConfig
from driftpilot.retrain.gate import evaluate_gate, gate_metrics, metric_values, roc_auc

# ---------------------------------------------------------------------------- roc_auc


def test_roc_auc_by_hand_with_ties() -> None:
    # positives 0.9 and 0.4, negatives 0.4 and 0.4. The four positive–negative pairs:
    # 0.9 > 0.4 twice (1 + 1), 0.4 = 0.4 twice (½ + ½) → 3 of 4.
    # By ranks: sorted 0.4 0.4 0.4 0.9 → mid-ranks 2 2 2 4; R₁ = 4 + 2 = 6;
    # (6 − 2·3/2) / (2·2) = 3/4.
    y = np.array([1.0, 1.0, 0.0, 0.0])
    scores = np.array([0.9, 0.4, 0.4, 0.4])
    assert roc_auc(y, scores) == 0.75
    # every score tied: no ranking information at all
    assert roc_auc(y, np.full(4, 0.3)) == 0.5
    # a perfect and a perfectly reversed ranking
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 1.0
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0


def _both_classes(rows: list[tuple[bool, float]]) -> bool:
    positives = sum(label for label, _ in rows)
    return 0 < positives < len(rows)


# scores from a handful of levels, so most rows tie with many others
_TIED_ROWS = st.lists(
    st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0])),
    min_size=2,
    max_size=120,
).filter(_both_classes)
_FREE_ROWS = st.lists(
    st.tuples(st.booleans(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=2, max_size=60
).filter(_both_classes)


@settings(max_examples=150, deadline=None)
@given(st.one_of(_TIED_ROWS, _FREE_ROWS))
def test_roc_auc_matches_sklearn(rows: list[tuple[bool, float]]) -> None:
    y = np.array([float(label) for label, _ in rows])
    scores = np.array([score for _, score in rows])
    found = roc_auc(y, scores)
    assert found is not None
    assert found == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-12)
    # reversing the ranking mirrors the area; only the order matters (dense ranks keep it)
    assert roc_auc(y, -scores) == pytest.approx(1 - found, abs=1e-12)
    dense = np.searchsorted(np.unique(scores), scores).astype(np.float64)
    assert roc_auc(y, dense) == pytest.approx(found, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50), st.sampled_from([0.0, 1.0]), st.integers(0, 10_000))
def test_roc_auc_is_none_with_one_class(n: int, label: float, seed: int) -> None:
    scores = np.random.default_rng(seed).random(n)
    assert roc_auc(np.full(n, label), scores) is None


# ---------------------------------------------------------------------------- metric_values


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 400),
    seed=st.integers(0, 2**32 - 1),
    threshold=st.floats(0.05, 0.95),
    skew=st.floats(0.05, 0.95),
)
def test_binary_metrics_match_sklearn(n: int, seed: int, threshold: float, skew: float) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < skew).astype(np.float64)
    # scores kept off 0 and 1: sklearn and driftpilot clip log-loss inputs differently there
    scores = np.clip(rng.beta(2, 2, n) * 0.6 + 0.4 * y * rng.random(n), 1e-6, 1 - 1e-6)
    found = metric_values("binary", y, scores, threshold=threshold)
    assert set(found) == set(BINARY_METRICS)
    predicted = (scores >= threshold).astype(np.float64)
    assert found["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert found["log_loss"] == pytest.approx(sk.log_loss(y, scores, labels=[0.0, 1.0]))
    tp = int(((predicted == 1) & (y == 1)).sum())
    has_pos, said_pos = bool((y == 1).any()), bool((predicted == 1).any())
    if has_pos:
        assert found["recall"] == pytest.approx(sk.recall_score(y, predicted))
    else:
        assert found["recall"] is None
    if said_pos:
        assert found["precision"] == pytest.approx(sk.precision_score(y, predicted))
    else:
        assert found["precision"] is None
    if has_pos or said_pos:
        assert found["f1"] == pytest.approx(sk.f1_score(y, predicted))
    else:
        assert found["f1"] is None
        assert tp == 0
    if 0 < y.sum() < n:
        assert found["roc_auc"] == pytest.approx(sk.roc_auc_score(y, scores))
    else:
        assert found["roc_auc"] is None


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 400), seed=st.integers(0, 2**32 - 1), bias=st.floats(-5, 5))
def test_regression_metrics_match_sklearn(n: int, seed: int, bias: float) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(50, 10, n)
    predicted = y + bias + rng.normal(0, 3, n)
    found = metric_values("regression", y, predicted, threshold=0.5)
    assert set(found) == set(REGRESSION_METRICS)
    assert found["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, predicted)))
    assert found["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted))
    assert found["r2"] == pytest.approx(sk.r2_score(y, predicted))


def test_regression_r2_is_undefined_for_constant_labels_and_empty_input_has_no_metrics() -> None:
    y = np.full(5, 3.0)
    found = metric_values("regression", y, y + 1, threshold=0.5)
    assert found["r2"] is None
    assert found["rmse"] == pytest.approx(1.0)
    assert metric_values("binary", np.array([]), np.array([]), threshold=0.5) == {}


def test_the_threshold_is_inclusive() -> None:
    y = np.array([1.0, 0.0])
    found = metric_values("binary", y, np.array([0.5, 0.49]), threshold=0.5)
    assert found["accuracy"] == 1.0  # a score at the threshold predicts 1


# ---------------------------------------------------------------------------- the gate


def _holdout(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A binary holdout: labels drawn from true probabilities, and a noisy copy of those."""
    rng = np.random.default_rng(seed)
    truth = rng.beta(2, 3, n)
    label = (rng.random(n) < truth).astype(np.float64)
    noisy = np.clip(truth + rng.normal(0, 0.3, n), 0.001, 0.999)
    region = rng.choice(["north", "south"], n)
    return pd.DataFrame({"label": label, "region": region}), truth, noisy


QUICK = GateConfig(bootstrap=50, min_segment_rows=50)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    metric=st.sampled_from(["roc_auc", "log_loss", "accuracy", "f1"]),
)
def test_identical_scores_never_pass(seed: int, metric: str) -> None:
    holdout, _, noisy = _holdout(300, seed)
    result = evaluate_gate(
        holdout,
        noisy,
        noisy.copy(),
        task="binary",
        settings=GateConfig(metric=metric, bootstrap=50, confidence=0.0),
        segments=["region"],
    )
    assert not result.passed
    assert result.improvement == 0
    assert "not more than the margin 0" in result.reasons[0]
    assert all(check.change in (0, None) and check.ok for check in result.segments)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), metric=st.sampled_from(["rmse", "mae", "r2"]))
def test_identical_regression_scores_never_pass(seed: int, metric: str) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1, 200)
    scores = y + rng.normal(0, 0.5, 200)
    result = evaluate_gate(
        pd.DataFrame({"label": y}),
        scores,
        scores.copy(),
        task="regression",
        settings=GateConfig(metric=metric, bootstrap=50),
    )
    assert not result.passed
    assert result.improvement == 0


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    metric=st.sampled_from(["roc_auc", "log_loss", "accuracy", "recall", "precision"]),
)
def test_swapping_candidate_and_champion_flips_the_improvement(seed: int, metric: str) -> None:
    holdout, truth, noisy = _holdout(300, seed)
    gate = GateConfig(metric=metric, confidence=0.0)
    forward = evaluate_gate(holdout, truth, noisy, task="binary", settings=gate)
    backward = evaluate_gate(holdout, noisy, truth, task="binary", settings=gate)
    assert forward.improvement is not None
    assert backward.improvement is not None
    assert forward.improvement == pytest.approx(-backward.improvement)
    assert forward.candidate == backward.champion
    assert forward.champion == backward.candidate
    assert not (forward.passed and backward.passed)


def test_improvement_is_oriented_so_positive_means_better() -> None:
    holdout, truth, noisy = _holdout(3000, 7)
    for metric in ("log_loss", "roc_auc"):
        result = evaluate_gate(
            holdout, truth, noisy, task="binary", settings=GateConfig(metric=metric, confidence=0)
        )
        assert result.champion is not None
        candidate, champion = result.candidate[metric], result.champion[metric]
        assert candidate is not None
        assert champion is not None
        raw = candidate - champion
        expected = -raw if metric == "log_loss" else raw
        assert result.improvement == pytest.approx(expected)
        assert result.improvement > 0  # the true probabilities win on both
    y = np.linspace(0, 10, 400)
    frame = pd.DataFrame({"label": y})
    better = evaluate_gate(frame, y + 1, y + 2, task="regression", settings=GateConfig())
    assert better.metric == "rmse"
    assert better.improvement == pytest.approx(1.0)  # rmse 2 → 1
    assert better.passed


def test_a_clearly_better_candidate_passes_with_a_positive_lower_bound() -> None:
    holdout, truth, noisy = _holdout(4000, 0)
    result = evaluate_gate(
        holdout,
        truth,
        noisy,
        task="binary",
        settings=GateConfig(bootstrap=200, min_segment_rows=100),
        segments=["region"],
    )
    assert result.passed, result.reasons
    assert result.reasons == []
    assert result.rows == 4000
    assert result.improvement is not None
    assert result.improvement > 0.05
    assert result.lower_bound is not None
    assert 0 < result.lower_bound < result.improvement
    assert {check.value for check in result.segments} == {"north", "south"}
    assert all(check.ok and (check.change or 0) > 0 for check in result.segments)
    assert result.summary().startswith("passed: roc_auc")


def test_a_barely_better_candidate_on_a_tiny_holdout_fails_on_confidence() -> None:
    rng = np.random.default_rng(5)
    y = np.array([1.0] * 10 + [0.0] * 20)
    champion = rng.random(30)
    # the candidate swaps one positive with the negative just above it in the champion's
    # ranking: it orders exactly one more of the 10·20 pairs correctly
    order = np.argsort(champion)
    i = next(i for i in range(29) if y[order[i]] == 1 and y[order[i + 1]] == 0)
    low, high = order[i], order[i + 1]
    candidate = champion.copy()
    candidate[low], candidate[high] = champion[high], champion[low]
    holdout = pd.DataFrame({"label": y})
    gate = GateConfig(bootstrap=200, confidence=0.9)
    result = evaluate_gate(holdout, candidate, champion, task="binary", settings=gate)
    assert result.improvement == pytest.approx(1 / 200)
    assert not result.passed
    assert result.lower_bound is not None
    assert result.lower_bound <= 0
    assert "lower bound" in result.reasons[0]
    # without the bootstrap the same improvement is enough: the confidence is what refused it
    plain = evaluate_gate(
        holdout, candidate, champion, task="binary", settings=GateConfig(confidence=0.0)
    )
    assert plain.passed
    assert plain.lower_bound is None


def test_a_margin_must_be_exceeded() -> None:
    y = np.linspace(0, 10, 400)
    frame = pd.DataFrame({"label": y})
    at_margin = evaluate_gate(
        frame, y + 1.5, y + 2, task="regression", settings=GateConfig(margin=0.5, confidence=0)
    )
    assert at_margin.improvement == pytest.approx(0.5)
    assert not at_margin.passed  # improvement must be above the margin, not equal to it
    beyond = evaluate_gate(
        frame, y + 1.0, y + 2, task="regression", settings=GateConfig(margin=0.5, confidence=0)
    )
    assert beyond.passed


def test_a_segment_regressing_beyond_tolerance_fails_and_is_named() -> None:
    holdout, truth, noisy = _holdout(4000, 1)
    rng = np.random.default_rng(11)
    very_noisy = np.clip(truth + rng.normal(0, 0.8, 4000), 0.001, 0.999)
    north = np.arange(4000) < 1000
    holdout = holdout.assign(region=np.where(north, "north", "south"))
    # better overall (true probabilities against very noisy ones), worse on north
    candidate = np.where(north, noisy, truth)
    champion = np.where(north, truth, very_noisy)
    gate = GateConfig(confidence=0.0, min_segment_rows=100, segment_tolerance=0.02)
    result = evaluate_gate(
        holdout, candidate, champion, task="binary", settings=gate, segments=["region"]
    )
    assert result.improvement is not None
    assert result.improvement > 0.05
    assert not result.passed
    by_value = {check.value: check for check in result.segments}
    assert by_value["north"].rows == 1000
    assert not by_value["north"].ok
    assert by_value["north"].change is not None
    assert by_value["north"].change < -0.02
    assert by_value["south"].ok
    assert result.reasons == [
        f"roc_auc regresses beyond 0.02 on region=north {by_value['north'].change:+.4f}"
    ]
    # a tolerance wider than the regression lets the overall improvement decide
    wide = GateConfig(confidence=0.0, min_segment_rows=100, segment_tolerance=0.5)
    assert evaluate_gate(
        holdout, candidate, champion, task="binary", settings=wide, segments=["region"]
    ).passed


def test_a_segment_below_min_segment_rows_is_not_judged() -> None:
    holdout, truth, noisy = _holdout(4000, 2)
    region = holdout["region"].to_numpy().copy()
    region[:60] = "tiny"
    holdout = holdout.assign(region=region)
    tiny = region == "tiny"
    candidate = truth.copy()
    candidate[tiny] = 1 - truth[tiny]  # terrible, but on 60 rows only
    gate = GateConfig(bootstrap=100, min_segment_rows=100)
    result = evaluate_gate(
        holdout, candidate, noisy, task="binary", settings=gate, segments=["region"]
    )
    assert result.passed, result.reasons
    assert {check.value for check in result.segments} == {"north", "south"}
    judged = GateConfig(bootstrap=100, min_segment_rows=50)
    strict = evaluate_gate(
        holdout, candidate, noisy, task="binary", settings=judged, segments=["region"]
    )
    assert not strict.passed
    assert any("region=tiny" in reason for reason in strict.reasons)


def test_a_one_class_segment_is_not_judged_on_ranking_metrics() -> None:
    holdout, truth, noisy = _holdout(2000, 3)
    label = holdout["label"].to_numpy()
    holdout = holdout.assign(kind=np.where(label == 1, "pos", "neg"))
    gate = GateConfig(confidence=0.0, min_segment_rows=10)
    result = evaluate_gate(holdout, truth, noisy, task="binary", settings=gate, segments=["kind"])
    assert result.segments == []  # AUC is undefined inside a single-class segment
    by_accuracy = evaluate_gate(
        holdout,
        truth,
        noisy,
        task="binary",
        settings=GateConfig(metric="accuracy", confidence=0.0, min_segment_rows=10),
        segments=["kind"],
    )
    assert {check.value for check in by_accuracy.segments} == {"pos", "neg"}


def test_missing_segment_values_form_their_own_segment_and_unknown_columns_are_skipped() -> None:
    holdout, truth, noisy = _holdout(1000, 4)
    region = holdout["region"].astype(object).to_numpy().copy()
    region[:400] = None
    holdout = holdout.assign(region=region)
    gate = GateConfig(confidence=0.0, min_segment_rows=50)
    result = evaluate_gate(
        holdout, truth, noisy, task="binary", settings=gate, segments=["region", "nope"]
    )
    assert "(missing)" in {check.value for check in result.segments}
    assert {check.column for check in result.segments} == {"region"}
    assert sum(check.rows for check in result.segments) == 1000


def test_floors_apply_with_or_without_a_champion() -> None:
    holdout, truth, noisy = _holdout(2000, 5)
    auc = roc_auc(holdout["label"].to_numpy(), truth)
    assert auc is not None
    high = GateConfig(floors={"roc_auc": round(auc + 0.05, 2)}, confidence=0.0)
    failed = evaluate_gate(holdout, truth, noisy, task="binary", settings=high)
    assert not failed.passed  # better than the champion, but under the floor
    assert failed.improvement is not None
    assert failed.improvement > 0
    assert failed.floors["roc_auc"] == {
        "value": pytest.approx(auc),
        "limit": round(auc + 0.05, 2),
        "kind": "floor",
        "ok": False,
    }
    assert f"below floor {round(auc + 0.05, 2):g}" in failed.reasons[0]
    low = GateConfig(floors={"roc_auc": round(auc - 0.05, 2)}, confidence=0.0)
    assert evaluate_gate(holdout, truth, noisy, task="binary", settings=low).passed


def test_error_metrics_are_ceilings() -> None:
    y = np.linspace(0, 100, 500)
    frame = pd.DataFrame({"label": y})
    tight = GateConfig(floors={"rmse": 1.0, "r2": 0.5}, confidence=0.0)
    over = evaluate_gate(frame, y + 2.0, y + 3.0, task="regression", settings=tight)
    assert not over.passed
    assert over.floors["rmse"]["kind"] == "ceiling"
    assert over.floors["rmse"]["ok"] is False
    assert over.floors["r2"] == {
        "value": pytest.approx(over.candidate["r2"]),
        "limit": 0.5,
        "kind": "floor",
        "ok": True,
    }
    assert "rmse 2.0000 above ceiling 1" in over.reasons[0]
    under = evaluate_gate(frame, y + 0.5, y + 3.0, task="regression", settings=tight)
    assert under.passed
    exactly = evaluate_gate(
        frame, y + 1.0, y + 3.0, task="regression", settings=GateConfig(floors={"rmse": 1.0})
    )
    assert exactly.floors["rmse"]["ok"]  # a value at the ceiling is within it


def test_without_a_champion_only_floors_apply() -> None:
    holdout, _, _ = _holdout(500, 6)
    rng = np.random.default_rng(0)
    guess = rng.random(500)  # no skill at all
    first = evaluate_gate(holdout, guess, None, task="binary", settings=QUICK, segments=["region"])
    assert first.passed
    assert first.champion is None
    assert first.improvement is None
    assert first.lower_bound is None
    assert first.segments == []
    assert "no champion" in first.summary()
    floored = GateConfig(floors={"roc_auc": 0.7, "accuracy": 0.0})
    refused = evaluate_gate(holdout, guess, None, task="binary", settings=floored)
    assert not refused.passed
    assert len(refused.reasons) == 1
    assert refused.reasons[0].startswith("roc_auc")
    assert refused.floors["accuracy"]["ok"]


def test_a_floor_on_an_undefined_metric_fails() -> None:
    holdout = pd.DataFrame({"label": np.zeros(50)})
    result = evaluate_gate(
        holdout,
        np.full(50, 0.2),
        None,
        task="binary",
        settings=GateConfig(floors={"roc_auc": 0.6}),
    )
    assert not result.passed
    assert result.floors["roc_auc"]["value"] is None
    assert "roc_auc n/a below floor 0.6" in result.reasons[0]


def test_gate_metrics_names() -> None:
    holdout, truth, noisy = _holdout(500, 8)
    result = evaluate_gate(holdout, truth, noisy, task="binary", settings=QUICK)
    names = gate_metrics(result)
    expected = {
        *(f"holdout_candidate_{m}" for m in BINARY_METRICS),
        *(f"holdout_champion_{m}" for m in BINARY_METRICS),
        "holdout_improvement_roc_auc",
    }
    assert set(names) == expected
    assert names["holdout_candidate_log_loss"] == result.candidate["log_loss"]
    assert result.champion is not None
    assert names["holdout_champion_roc_auc"] == result.champion["roc_auc"]
    assert names["holdout_improvement_roc_auc"] == result.improvement
    # undefined values are left out; no champion means no champion_ or improvement_ names
    silent = np.full(500, 0.1)  # predicts no positive: precision undefined
    first = gate_metrics(evaluate_gate(holdout, silent, None, task="binary", settings=QUICK))
    assert set(first) == {f"holdout_candidate_{m}" for m in BINARY_METRICS} - {
        "holdout_candidate_precision"
    }
    y = np.linspace(0, 1, 100)
    regression = evaluate_gate(
        pd.DataFrame({"label": y}), y, y + 1, task="regression", settings=GateConfig()
    )
    assert "holdout_improvement_rmse" in gate_metrics(regression)


def test_results_serialise_to_plain_data() -> None:
    holdout, truth, noisy = _holdout(400, 9)
    result = evaluate_gate(
        holdout, truth, noisy, task="binary", settings=QUICK, segments=["region"]
    )
    as_dict = result.to_dict()
    assert as_dict["metric"] == "roc_auc"
    assert as_dict["segments"][0]["column"] == "region"
    assert set(as_dict) >= {"passed", "candidate", "champion", "improvement", "reasons"}
