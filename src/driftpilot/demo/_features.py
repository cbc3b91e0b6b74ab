"""Drawing the features of one week, vectorised.

Every feature is a transform of standard draws (uniform or normal) taken in one fixed order
whatever the week's spec, so a shifted week uses the same random numbers as its stationary twin
and differs from it only where the shift acts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from driftpilot.demo._spec import PROBABILITIES, REFERENCE_STD

__all__ = ["NUMERIC_RANGE", "draw_features", "shifted_probabilities"]

# low, high, decimals (0 = integer-valued): values are rounded and clipped to these after a shift.
NUMERIC_RANGE: dict[str, tuple[float, float, int]] = {
    "tenure": (0.0, 72.0, 0),
    "monthly_usage": (0.1, math.inf, 1),
    "support_calls": (0.0, math.inf, 0),
    "payment_delay": (0.0, math.inf, 0),
    "age": (18.0, 90.0, 0),
    "monthly_charge": (5.0, math.inf, 2),
    "num_products": (1.0, 5.0, 0),
    "last_login_days": (0.0, math.inf, 1),
}

TENURE_SHAPE = 1.3  # Weibull, months; scale by contract: monthly, annual, two_year
TENURE_SCALE = np.array([12.0, 32.0, 48.0])
USAGE_MEDIAN = np.array([8.0, 14.0, 30.0, 22.0])  # GB by plan: basic, standard, premium, family
USAGE_SIGMA = 0.6
SUPPORT_RATE = np.array([1.6, 1.3, 0.9, 1.4])  # Poisson mean by plan
CHARGE_BASE = np.array([25.0, 50.0, 90.0, 70.0])  # by plan, plus normal noise
CHARGE_NOISE = 6.0
DELAY_ZERO, DELAY_MEAN, DELAY_NULL = 0.65, 6.0, 0.03
AGE_MEAN, AGE_SD, AGE_NULL = 44.0, 14.0, 0.02
PRODUCTS_TRIALS, PRODUCTS_P = 4, 0.3  # num_products = 1 + Binomial(4, 0.3)
LOGIN_MEAN = 6.0

Float = NDArray[np.float64]
Codes = NDArray[np.int8]


def shifted_probabilities(probabilities: tuple[float, ...], size: float) -> NDArray[np.float64]:
    """Move ``size`` times the most common level's probability to the least common level(s)."""
    p = np.asarray(probabilities, dtype=np.float64)
    most = int(np.argmax(p))
    least = np.flatnonzero(p == p.min())
    moved = size * p[most]
    p[most] -= moved
    p[least] += moved / least.size
    return p


def _levels(uniform: Float, probabilities: NDArray[np.float64]) -> Codes:
    edges = np.cumsum(probabilities)[:-1]
    return np.searchsorted(edges, uniform, side="right").astype(np.int8)


def _poisson_by_group(uniform: Float, groups: Codes, rates: Float) -> Float:
    """Inverse-CDF Poisson draws, so the draw count does not depend on the rates."""
    ks = np.arange(64)
    log_pmf = ks * np.log(rates[:, None]) - rates[:, None] - np.cumsum(np.log(np.maximum(ks, 1)))
    cdf = np.cumsum(np.exp(log_pmf), axis=1)
    counts = np.empty(uniform.size, dtype=np.float64)
    for group in range(rates.size):
        rows = groups == group
        counts[rows] = np.searchsorted(cdf[group], uniform[rows], side="right")
    return counts


def _products(uniform: Float) -> Float:
    k = np.arange(PRODUCTS_TRIALS + 1)
    pmf = np.array([math.comb(PRODUCTS_TRIALS, int(i)) for i in k]) * (
        PRODUCTS_P**k * (1 - PRODUCTS_P) ** (PRODUCTS_TRIALS - k)
    )
    counts = np.searchsorted(np.cumsum(pmf)[:-1], uniform, side="right")
    return 1.0 + counts.astype(np.float64)


def _move(name: str, values: Float, size: float) -> Float:
    low, high, decimals = NUMERIC_RANGE[name]
    moved = np.round(values + size * REFERENCE_STD[name], decimals)
    return np.clip(moved, low, high).astype(np.float64)


def draw_features(
    rng: np.random.Generator, n: int, shift: Mapping[str, float]
) -> dict[str, NDArray[np.generic]]:
    """Draw ``n`` rows of features; categorical features come back as int8 level codes.

    ``shift`` is a validated :attr:`WeekSpec.covariate_shift`. The order of the draws below
    is part of the scenario's definition: changing it changes every generated data set.
    """

    def categorical(name: str) -> Codes:
        return _levels(
            rng.random(n), shifted_probabilities(PROBABILITIES[name], shift.get(name, 0))
        )

    contract = categorical("contract")
    tenure = np.floor(TENURE_SCALE[contract] * (-np.log1p(-rng.random(n))) ** (1 / TENURE_SHAPE))
    plan = categorical("plan")
    usage = np.round(USAGE_MEDIAN[plan] * np.exp(USAGE_SIGMA * rng.standard_normal(n)), 1)
    support = _poisson_by_group(rng.random(n), plan, SUPPORT_RATE)
    region = categorical("region")
    late = rng.random(n) >= DELAY_ZERO
    delay = np.maximum(1.0, np.ceil(-DELAY_MEAN * np.log1p(-rng.random(n)))) * late
    delay_missing = rng.random(n) < DELAY_NULL
    age = np.rint(AGE_MEAN + AGE_SD * rng.standard_normal(n))
    age_missing = rng.random(n) < AGE_NULL
    charge = np.round(CHARGE_BASE[plan] + CHARGE_NOISE * rng.standard_normal(n), 2)
    products = _products(rng.random(n))
    autopay = categorical("autopay") == 1
    login = np.round(-LOGIN_MEAN * np.log1p(-rng.random(n)), 1)

    numeric: dict[str, Float] = {
        "tenure": tenure,
        "monthly_usage": usage,
        "support_calls": support,
        "payment_delay": delay,
        "age": age,
        "monthly_charge": charge,
        "num_products": products,
        "last_login_days": login,
    }
    for name, values in numeric.items():
        low, high, _ = NUMERIC_RANGE[name]
        values = np.clip(values, low, high)
        if shift.get(name, 0.0) != 0.0:
            values = _move(name, values, shift[name])
        numeric[name] = values.astype(np.float64)
    numeric["payment_delay"][delay_missing] = np.nan
    numeric["age"][age_missing] = np.nan
    return {
        "tenure": numeric["tenure"],
        "monthly_usage": numeric["monthly_usage"],
        "plan": plan,
        "support_calls": numeric["support_calls"],
        "region": region,
        "payment_delay": numeric["payment_delay"],
        "contract": contract,
        "age": numeric["age"],
        "monthly_charge": numeric["monthly_charge"],
        "num_products": numeric["num_products"],
        "autopay": autopay,
        "last_login_days": numeric["last_login_days"],
    }
