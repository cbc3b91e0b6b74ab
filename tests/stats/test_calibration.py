import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftpilot.stats import calibrated_threshold


def test_a_window_as_large_as_a_chunk_keeps_mean_plus_k_std() -> None:
    value = calibrated_threshold(
        0.1, 0.02, k=3, statistic="ks", n_current=1000, n_reference=1e12, n_chunk=1000
    )
    assert value == pytest.approx(0.16)


def test_smaller_windows_scale_up_by_noise_ratio() -> None:
    base = dict(mean=0.01, std=0.0, k=3, n_reference=1e12, n_chunk=10_000)
    assert calibrated_threshold(**base, statistic="psi", n_current=1000) == pytest.approx(0.1)
    assert calibrated_threshold(**base, statistic="ks", n_current=2500) == pytest.approx(0.02)


@given(n=st.integers(1, 10**7), chunk=st.integers(1, 10**6))
def test_never_below_the_chunk_threshold(n: int, chunk: int) -> None:
    assert (
        calibrated_threshold(
            0.05, 0.01, k=2, statistic="psi", n_current=n, n_reference=1e7, n_chunk=chunk
        )
        >= 0.07 - 1e-12
    )
