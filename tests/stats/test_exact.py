import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import ks_2samp, wasserstein_distance

from driftpilot.errors import StatisticError
from driftpilot.stats import ks_exact, wasserstein_exact

samples = arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e6, 1e6))


@settings(max_examples=80, deadline=None)
@given(samples, samples)
def test_equal_to_scipy(ref: np.ndarray, cur: np.ndarray) -> None:
    result = ks_exact(ref, cur)
    expected = ks_2samp(ref, cur, method="exact")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    assert wasserstein_exact(ref, cur) == pytest.approx(
        wasserstein_distance(ref, cur), rel=1e-9, abs=1e-6
    )


@given(samples)
def test_zero_for_identical_and_symmetric(values: np.ndarray) -> None:
    other = values + 1.0
    assert ks_exact(values, values).statistic == 0
    assert wasserstein_exact(values, values) == 0
    assert ks_exact(values, other).statistic == ks_exact(other, values).statistic
    assert wasserstein_exact(values, other) == pytest.approx(wasserstein_exact(other, values))


def test_large_samples_use_the_asymptotic_pvalue() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(0, 1, 6000), rng.normal(0.1, 1, 6000)
    result = ks_exact(ref, cur)
    assert result.statistic == pytest.approx(ks_2samp(ref, cur).statistic)
    assert result.pvalue == pytest.approx(ks_2samp(ref, cur, method="asymp").pvalue, abs=0.01)


def test_non_finite_values_are_ignored_and_empty_is_refused() -> None:
    assert ks_exact([1.0, np.nan, 2.0], [1.0, 2.0, np.inf]).statistic == 0
    with pytest.raises(StatisticError, match="current has no finite values"):
        ks_exact([1.0], [np.nan])
