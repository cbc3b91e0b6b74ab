import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon

from driftpilot.errors import StatisticError
from driftpilot.stats import hellinger, js_distance, kl_divergence, linf, psi, total_variation

SYMMETRIC = [psi, js_distance, hellinger, total_variation, linf]
ALL = [*SYMMETRIC, kl_divergence]


def counts(size: int = 8) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, size, elements=st.integers(0, 1000).map(float)).filter(
        lambda a: a.sum() > 0
    )


def test_psi_hand_computed() -> None:
    # p = (.25, .25, .5), q = (.5, .25, .25): (.25)·ln 2 + 0 + (−.25)·ln(.5) = 0.5·ln 2
    assert psi([25, 25, 50], [50, 25, 25]) == pytest.approx(0.5 * math.log(2), rel=1e-12)


def test_psi_empty_bin_uses_the_explicit_floor() -> None:
    # q = (1, 0), p = (.5, .5): the empty current bin is floored at eps
    eps = 1e-4
    expected = (1 - 0.5) * math.log(1 / 0.5) + (eps - 0.5) * math.log(eps / 0.5)
    assert psi([1, 1], [2, 0], eps=eps) == pytest.approx(expected, rel=1e-12)


def test_hellinger_hand_computed() -> None:
    # p = (.5, .5), q = (1, 0): sqrt(½·((√.5 − 1)² + (√.5)²)) = sqrt(1 − √.5)
    assert hellinger([1, 1], [1, 0]) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)), rel=1e-12)


def test_total_variation_and_linf_hand_computed() -> None:
    assert total_variation([1, 1, 2], [2, 1, 1]) == pytest.approx(0.25)
    assert linf([1, 1, 2], [2, 1, 1]) == pytest.approx(0.25)


def test_kl_matches_scipy_entropy_without_empty_bins() -> None:
    from scipy.stats import entropy

    p, q = np.array([10.0, 20, 30, 40]), np.array([25.0, 25, 25, 25])
    assert kl_divergence(p, q) == pytest.approx(entropy(q / q.sum(), p / p.sum()), rel=1e-12)


@given(counts(), counts())
def test_js_distance_equals_scipy(p: np.ndarray, q: np.ndarray) -> None:
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-7)


@pytest.mark.parametrize("stat", ALL)
@given(p=counts(), q=counts())
def test_non_negative_and_finite(stat, p: np.ndarray, q: np.ndarray) -> None:
    value = stat(p, q)
    assert value >= 0
    assert math.isfinite(value)


@pytest.mark.parametrize("stat", ALL)
@given(p=counts())
def test_zero_for_identical(stat, p: np.ndarray) -> None:
    assert stat(p, p) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("stat", SYMMETRIC)
@given(p=counts(), q=counts())
def test_symmetric(stat, p: np.ndarray, q: np.ndarray) -> None:
    assert stat(p, q) == pytest.approx(stat(q, p), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("stat", ALL)
@given(p=counts(), q=counts(), scale=st.integers(2, 1000))
def test_unchanged_when_counts_are_scaled(stat, p: np.ndarray, q: np.ndarray, scale: int) -> None:
    assert stat(p * scale, q) == pytest.approx(stat(p, q), rel=1e-9, abs=1e-12)
    assert stat(p, q * scale) == pytest.approx(stat(p, q), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("stat", [js_distance, hellinger, total_variation, linf])
@given(p=counts(), q=counts())
def test_bounded_by_one(stat, p: np.ndarray, q: np.ndarray) -> None:
    assert stat(p, q) <= 1 + 1e-12


def test_rows_of_a_matrix_are_separate_windows() -> None:
    ref = np.array([10.0, 20, 30])
    cur = np.array([[10.0, 20, 30], [30, 20, 10]])
    values = psi(ref, cur)
    assert values.shape == (2,)
    assert values[0] == pytest.approx(0.0)
    assert values[1] == pytest.approx(psi(ref, cur[1]))


@pytest.mark.parametrize(
    ("ref", "cur", "message"),
    [
        ([1, 2], [1, 2, 3], "bins"),
        ([0, 0], [1, 2], "reference has no values"),
        ([1, 2], [0, 0], "current has no values"),
        ([1, -2], [1, 2], "non-negative"),
        ([1, float("nan")], [1, 2], "finite"),
    ],
)
def test_bad_counts_are_refused_with_a_reason(ref, cur, message: str) -> None:
    with pytest.raises(StatisticError, match=message):
        psi(ref, cur)
