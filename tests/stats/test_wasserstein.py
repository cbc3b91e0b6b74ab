import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from driftpilot.errors import StatisticError
from driftpilot.stats import wasserstein_binned


def binned(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and sums in (underflow, [e_i, e_i+1) …, [e_last-1, e_last], overflow)."""
    index = np.searchsorted(edges, values, side="right")  # 0 = below edges[0]
    index = np.where(values == edges[-1], edges.size - 1, index)
    size = edges.size + 1
    return np.bincount(index, minlength=size), np.bincount(index, weights=values, minlength=size)


@pytest.mark.parametrize(
    ("shift", "scale"), [(0.0, 1.0), (0.1, 1.0), (1.0, 1.0), (0.0, 2.0), (3.0, 0.5)]
)
def test_close_to_scipy_on_raw_data(shift: float, scale: float) -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(0, 1, 50_000)
    current = rng.normal(shift, scale, 30_000)
    edges = np.quantile(reference, np.linspace(0, 1, 101))
    edges[0], edges[-1] = reference.min(), reference.max()
    distance = wasserstein_binned(edges, *binned(reference, edges), *binned(current, edges))
    exact = wasserstein_distance(reference, current)
    # documented tolerance: exact unless the CDFs cross inside a bin; 1 % of a std or 2 %
    assert distance == pytest.approx(exact, rel=0.02, abs=0.01)
    assert distance <= exact + 1e-9  # never an overestimate


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 200), m=st.integers(2, 200))
def test_exact_when_every_value_is_a_bin_edge(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 20, n).astype(float)
    current = rng.integers(-5, 25, m).astype(float)
    # every value sits on a bin edge, so the CDFs are constant inside bins: no crossing
    edges = np.unique(np.concatenate([reference, current]))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    distance = wasserstein_binned(edges, *binned(reference, edges), *binned(current, edges))
    assert distance == pytest.approx(wasserstein_distance(reference, current), rel=1e-9, abs=1e-9)


@given(st.lists(st.integers(0, 30), min_size=4, max_size=4), st.integers(2, 50))
def test_properties(counts: list[int], factor: int) -> None:
    edges = np.array([0.0, 1.0, 2.0])
    c = np.array([0, counts[0] + 1, counts[1], 0], float)
    s = c * np.array([0, 0.5, 1.5, 0])
    other = np.array([counts[2], 1, counts[3], 2], float)
    o_sums = other * np.array([-1.0, 0.5, 1.5, 3.0])
    assert wasserstein_binned(edges, c, s, c, s) == 0
    forward = wasserstein_binned(edges, c, s, other, o_sums)
    assert forward >= 0
    assert forward == pytest.approx(wasserstein_binned(edges, other, o_sums, c, s))
    assert forward == pytest.approx(
        wasserstein_binned(edges, c * factor, s * factor, other, o_sums)
    )


def test_shapes_are_checked() -> None:
    with pytest.raises(StatisticError, match="expected 4 counts"):
        wasserstein_binned([0, 1, 2], [1, 1, 1], [0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), bins=st.integers(1, 30), factor=st.integers(2, 20))
def test_properties_on_random_layouts(seed: int, bins: int, factor: int) -> None:
    rng = np.random.default_rng(seed)
    edges = np.cumsum(rng.uniform(0.1, 3, bins + 1)) - 5

    def sample() -> tuple[np.ndarray, np.ndarray]:
        values = rng.uniform(edges[0] - 2, edges[-1] + 2, rng.integers(1, 80))
        return binned(values, edges)

    (a, sa), (b, sb) = sample(), sample()
    forward = wasserstein_binned(edges, a, sa, b, sb)
    assert forward >= 0
    assert np.isfinite(forward)
    assert wasserstein_binned(edges, a, sa, a, sa) == 0
    assert forward == pytest.approx(wasserstein_binned(edges, b, sb, a, sa), abs=1e-9)
    assert forward == pytest.approx(
        wasserstein_binned(edges, a * factor, sa * factor, b, sb), rel=1e-9, abs=1e-9
    )
