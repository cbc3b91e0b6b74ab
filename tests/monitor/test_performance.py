"""Performance from the engine's sufficient statistics equals scikit-learn on the raw rows."""

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics

from driftpilot.engine.backend import Engine
from driftpilot.engine.results import split_rows
from driftpilot.monitor.performance import (
    BinaryStats,
    RegressionStats,
    _score_bin,
    auc,
    bin_count,
    binary_metrics,
    binary_query,
    coarse_groups,
    regression_metrics,
    regression_query,
)

BINS = 1000


def binary_stats(frame: pd.DataFrame) -> BinaryStats:
    engine = Engine.create()
    table = engine.table(frame)
    rows = engine.execute(binary_query(table, {}, bins=BINS))
    ((_, group),) = split_rows(rows, []).items()
    return BinaryStats.from_group(group, BINS)


def scored(n: int, seed: int, unlabeled: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 5, n)
    label = (rng.random(n) < score).astype(float)
    label[rng.random(n) < unlabeled] = np.nan
    return pd.DataFrame(
        {"score": score, "label": label, "prediction": (score >= 0.5).astype(float)}
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_scikit_learn(seed: int) -> None:
    frame = scored(20_000, seed, unlabeled=0.3)
    got = binary_metrics(binary_stats(frame))
    known = frame.dropna()
    y, p, yhat = known["label"], known["score"], known["prediction"]
    assert got["labeled"] == len(known)
    assert got["accuracy"] == metrics.accuracy_score(y, yhat)  # counts: exactly
    assert got["precision"] == metrics.precision_score(y, yhat)
    assert got["recall"] == metrics.recall_score(y, yhat)
    assert got["f1"] == pytest.approx(metrics.f1_score(y, yhat), abs=1e-15)
    exact = metrics.roc_auc_score(y, p)
    assert abs(got["roc_auc"] - exact) <= min(1e-3, got["roc_auc_error_bound"])
    assert got["log_loss"] == pytest.approx(metrics.log_loss(y, p), rel=1e-9)
    assert got["brier"] == pytest.approx(metrics.brier_score_loss(y, p), rel=1e-9)
    table = got["calibration"]
    assert sum(row["rows"] for row in table) == len(known)
    prob_true, prob_pred = __import__("sklearn.calibration", fromlist=["x"]).calibration_curve(
        y, p, n_bins=10
    )
    assert [round(r["observed_rate"], 9) for r in table] == pytest.approx(list(prob_true), abs=1e-9)
    assert [r["mean_score"] for r in table] == pytest.approx(list(prob_pred), abs=1e-9)


@pytest.mark.parametrize(("a", "b"), [(0.5, 60), (1, 200), (60, 0.5), (1, 20)])
def test_auc_stays_exact_for_scores_crowded_near_0_or_1(a: float, b: float) -> None:
    """A rare event (scores around 0.5 % or 99.5 %) still spreads over many bins."""
    rng = np.random.default_rng(7)
    score = rng.beta(a, b, 50_000)
    label = (rng.random(score.size) < score).astype(float)
    frame = pd.DataFrame({"score": score, "label": label, "prediction": (score >= 0.5) * 1.0})
    got = binary_metrics(binary_stats(frame))
    exact = metrics.roc_auc_score(label, score)
    assert abs(got["roc_auc"] - exact) <= min(1e-3, got["roc_auc_error_bound"])
    assert got["roc_auc_error_bound"] < 2e-3  # the worst case (every tie in a bin misordered)


@functools.cache
def _engine() -> Engine:
    return Engine.create()


@given(st.lists(st.floats(0, 1), min_size=1, max_size=200))
@settings(max_examples=30, deadline=None)
def test_score_bins_are_ordered_like_the_scores(scores: list[float]) -> None:
    engine = _engine()  # one connection for every example: the query is what is tested
    table = engine.table(pd.DataFrame({"score": scores}))
    found = engine.execute(table.select(table.score, bin=_score_bin(table.score, BINS)))
    pairs = sorted(zip(found["score"].to_pylist(), found["bin"].to_pylist(), strict=True))
    bins = [b for _, b in pairs]
    assert bins == sorted(bins)  # monotone: ties inside a bin are the only approximation
    assert all(0 <= b < bin_count(BINS) for b in bins)


@pytest.mark.parametrize("coarse", [2, 5, 10, 20, 7])
def test_each_bin_lies_in_the_calibration_range_of_its_scores(coarse: int) -> None:
    scores = np.concatenate([np.linspace(1e-7, 1 - 1e-7, 200_001), [0.0, 1.0]])
    engine = Engine.create()
    table = engine.table(pd.DataFrame({"score": scores}))
    found = engine.execute(table.select(table.score, bin=_score_bin(table.score, BINS)))
    got = coarse_groups(BINS, coarse)[found["bin"].to_numpy()]
    expected = np.minimum(np.floor(found["score"].to_numpy() * coarse), coarse - 1)
    wrong = np.mean(got != expected)
    # elsewhere only rows within one bin of a range boundary may land beside it
    assert wrong == 0 if 100 % coarse == 0 and coarse <= 10 else wrong < coarse / BINS


def test_undefined_metrics_are_none() -> None:
    frame = pd.DataFrame({"score": [0.2, 0.3], "label": [0.0, 0.0], "prediction": [0.0, 0.0]})
    got = binary_metrics(binary_stats(frame))
    assert got["roc_auc"] is None and got["precision"] is None and got["recall"] is None  # noqa: PT018
    assert got["accuracy"] == 1.0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=30),
    st.lists(st.integers(0, 30), min_size=1, max_size=30),
)
def test_auc_properties(pos: list[int], neg: list[int]) -> None:
    size = min(len(pos), len(neg))
    p, n = np.asarray(pos[:size], float), np.asarray(neg[:size], float)
    found = auc(p, n)
    if p.sum() == 0 or n.sum() == 0:
        assert found is None
        return
    value, bound = found
    assert 0 <= value <= 1
    assert 0 <= bound <= 0.5
    assert auc(n, p)[0] == pytest.approx(1 - value)  # swapping classes mirrors the curve
    assert auc(p, p)[0] == pytest.approx(0.5)


def test_regression_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.lognormal(3, 1, 30_000)
    prediction = y * rng.normal(1, 0.1, y.size) + rng.normal(0, 2, y.size)
    label = y.copy()
    label[:5000] = np.nan
    engine = Engine.create()
    table = engine.table(pd.DataFrame({"label": label, "prediction": prediction}))
    rows = engine.execute(regression_query(table, {}, center=0.0))
    stats = RegressionStats.from_group(split_rows(rows, [])[()])
    got = regression_metrics(stats)
    yt, yp = y[5000:], prediction[5000:]
    assert got["labeled"] == 25_000
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(yt, yp), rel=1e-9)
    assert got["rmse"] == pytest.approx(metrics.root_mean_squared_error(yt, yp), rel=1e-9)
    assert got["mape"] == pytest.approx(metrics.mean_absolute_percentage_error(yt, yp), rel=1e-9)
    assert got["r2"] == pytest.approx(metrics.r2_score(yt, yp), rel=1e-9)
