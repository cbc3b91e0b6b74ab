import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp, kstwo

from driftpilot.stats import ks_binned, ks_pvalue


def binned(
    reference: np.ndarray, current: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts with an underflow and overflow bin, bins [e_i, e_i+1)."""
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    return np.histogram(reference, full)[0], np.histogram(current, full)[0]


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3, 1.0])
def test_scipy_statistic_lies_within_the_stated_bounds(shift: float) -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, 20_000)
    current = rng.normal(shift, 1.2, 15_000)
    edges = np.quantile(reference, np.linspace(0, 1, 101))  # 100 equal-mass bins
    ref_counts, cur_counts = binned(reference, current, edges)
    result = ks_binned(ref_counts, cur_counts)
    exact = ks_2samp(reference, current).statistic
    assert result.statistic - 1e-12 <= exact <= result.upper + 1e-12
    # the stated bound: the gap is at most the largest bin share of either sample
    largest = max((ref_counts / ref_counts.sum()).max(), (cur_counts / cur_counts.sum()).max())
    assert result.upper - result.statistic <= largest + 1e-12
    assert abs(result.statistic - exact) <= 0.02


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), m=st.integers(5, 300))
def test_bounds_hold_for_small_samples_with_ties(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 8, n).astype(float)  # many ties
    current = rng.integers(0, 10, m).astype(float)
    edges = np.unique(reference)
    ref_counts, cur_counts = binned(reference, current, edges)
    result = ks_binned(ref_counts, cur_counts)
    exact = ks_2samp(reference, current, method="asymp").statistic
    assert result.statistic - 1e-12 <= exact <= result.upper + 1e-12


def test_exact_when_every_value_has_its_own_bin() -> None:
    reference = np.array([1.0, 2, 2, 3, 5])
    current = np.array([2.0, 3, 3, 4, 6, 6])
    edges = np.unique(np.concatenate([reference, current]))
    ref_counts, cur_counts = binned(reference, current, edges)
    assert ks_binned(ref_counts, cur_counts).statistic == pytest.approx(
        ks_2samp(reference, current).statistic
    )


@pytest.mark.parametrize(
    ("d", "n", "m"),
    [(0.3, 20, 25), (0.1, 200, 300), (0.02, 5000, 8000), (0.005, 1e6, 1e6), (0.5, 12, 12)],
)
def test_pvalue_agrees_with_scipy_kstwo(d: float, n: float, m: float) -> None:
    en = n * m / (n + m)
    assert ks_pvalue(d, n, m) == pytest.approx(kstwo.sf(d, round(en)), abs=0.01)


@given(p=st.lists(st.integers(0, 50), min_size=3, max_size=12))
def test_zero_for_identical_and_symmetric(p: list[int]) -> None:
    counts = np.asarray(p, float)
    if counts.sum() == 0:
        counts[0] = 1
    assert ks_binned(counts, counts).statistic == 0.0
    other = counts[::-1] + 1
    assert ks_binned(counts, other).statistic == pytest.approx(ks_binned(other, counts).statistic)
    assert 0 <= ks_binned(counts, other).pvalue <= 1


counts_lists = st.lists(st.integers(0, 200), min_size=2, max_size=15).filter(lambda c: sum(c) > 0)


@given(counts_lists, counts_lists, st.integers(2, 50))
def test_properties_on_any_counts(a: list[int], b: list[int], scale: int) -> None:
    size = min(len(a), len(b))
    ref, cur = np.asarray(a[:size], float), np.asarray(b[:size], float)
    if ref.sum() == 0 or cur.sum() == 0:
        return
    result = ks_binned(ref, cur)
    assert 0 <= result.statistic <= result.upper <= 1
    assert 0 <= result.pvalue <= 1
    swapped = ks_binned(cur, ref)
    assert swapped.statistic == pytest.approx(result.statistic)
    assert swapped.upper == pytest.approx(result.upper)
    assert ks_binned(ref * scale, cur).statistic == pytest.approx(result.statistic)
    assert ks_binned(ref, ref).statistic == 0
