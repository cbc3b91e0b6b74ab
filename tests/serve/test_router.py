"""Routing properties: sticky, monotone in the weight, the observed share matches the weight,
shadow sampling independent of the canary cohort."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.serve.router import assign, bucket, in_shadow

keys = st.text(min_size=1, max_size=40)
weights = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
salts = st.text(min_size=1, max_size=30)


@given(keys, weights, salts)
def test_routing_is_sticky(key: str, weight: float, salt: str) -> None:
    assert assign(key, weight, salt) == assign(key, weight, salt)
    assert 0.0 <= bucket(key, salt) < 1.0


@given(keys, weights, weights, salts)
def test_widening_keeps_the_canary_cohort(key: str, a: float, b: float, salt: str) -> None:
    low, high = sorted((a, b))
    if assign(key, low, salt) == "canary":
        assert assign(key, high, salt) == "canary"


@settings(max_examples=40, deadline=None)
@given(weights, salts)
def test_the_observed_share_matches_the_weight(weight: float, salt: str) -> None:
    from scipy.stats import binom

    n = 4000
    k = sum(assign(f"entity-{i}", weight, salt) == "canary" for i in range(n))
    # the count is Binomial(n, weight): neither tail may be this improbable (exact, so it
    # holds for weights near 0 and 1 too; a false failure about once in 500,000 runs)
    assert binom.cdf(k, n, weight) > 1e-6
    assert binom.sf(k - 1, n, weight) > 1e-6


def test_bounds_and_a_new_cohort_per_canary() -> None:
    ids = [f"c{i}" for i in range(2000)]
    assert all(assign(i, 0.0, "s") == "champion" for i in ids)
    assert all(assign(i, 1.0, "s") == "canary" for i in ids)
    one = {i for i in ids if assign(i, 0.5, "canary-1") == "canary"}
    two = {i for i in ids if assign(i, 0.5, "canary-2") == "canary"}
    overlap = len(one & two) / len(ids)
    assert abs(overlap - 0.25) < 0.05  # independent cohorts overlap by 0.5 × 0.5


def test_shadow_sampling_is_independent_of_the_cohort() -> None:
    ids = [f"c{i}" for i in range(4000)]
    cohort = {i for i in ids if assign(i, 0.5, "s") == "canary"}
    sampled = {i for i in ids if in_shadow(i, 0.5, "s")}
    assert abs(len(sampled) / len(ids) - 0.5) < 0.04
    assert abs(len(cohort & sampled) / len(ids) - 0.25) < 0.04
    assert not any(in_shadow(i, 0.0, "s") for i in ids)
