import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from driftpilot.stats import chi2_test


@given(
    st.lists(st.integers(0, 500), min_size=2, max_size=10).flatmap(
        lambda a: st.tuples(
            st.just(a), st.lists(st.integers(0, 500), min_size=len(a), max_size=len(a))
        )
    )
)
def test_equals_scipy_chi2_contingency(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = np.asarray(pair[0], float), np.asarray(pair[1], float)
    if ref.sum() == 0 or cur.sum() == 0:
        return
    result = chi2_test(ref, cur)
    keep = (ref + cur) > 0
    if keep.sum() < 2:
        assert (result.statistic, result.dof, result.pvalue) == (0.0, 0, 1.0)
        return
    stat, pvalue, dof, _ = chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False)
    assert result.statistic == pytest.approx(stat, rel=1e-9, abs=1e-9)
    assert result.dof == dof
    assert result.pvalue == pytest.approx(pvalue, rel=1e-6, abs=1e-12)


def test_identical_proportions_give_zero_and_pvalue_one() -> None:
    result = chi2_test([10, 20, 30], [20, 40, 60])
    assert result.statistic == pytest.approx(0.0)
    assert result.pvalue == pytest.approx(1.0)


@given(st.lists(st.integers(1, 400), min_size=2, max_size=10), st.integers(2, 30))
def test_properties(counts: list[int], factor: int) -> None:
    ref = np.asarray(counts, float)
    proportional = chi2_test(ref, ref * factor)
    assert proportional.statistic == pytest.approx(0.0, abs=1e-9)
    assert proportional.pvalue == pytest.approx(1.0)
    other = chi2_test(ref, ref[::-1])
    assert other.statistic >= 0
    assert 0 <= other.pvalue <= 1
    assert other.dof == len(counts) - 1
    assert chi2_test(ref[::-1], ref).statistic == pytest.approx(other.statistic)
