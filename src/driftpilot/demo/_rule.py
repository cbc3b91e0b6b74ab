"""The known churn rule: P(churn = 1 | x) = sigmoid(logit(x)).

The formula is written out for users in ``ChurnScenario.churn_probability``; a test evaluates
that written formula independently and compares it with this code, so keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from driftpilot.demo._spec import LEVELS, SegmentConcept

__all__ = ["INTERCEPT", "TYPICAL", "churn_logit", "sigmoid"]

INTERCEPT = -5.12
TYPICAL: dict[str, float] = {
    "tenure": 14.0,
    "monthly_usage": 13.0,
    "support_calls": 1.0,
    "payment_delay": 0.0,
    "age": 44.0,
    "monthly_charge": 47.0,
    "num_products": 2.0,
    "last_login_days": 4.0,
}
_MONTHLY, _TWO_YEAR = LEVELS["contract"].index("monthly"), LEVELS["contract"].index("two_year")
_SOUTH = LEVELS["region"].index("south")

Float = NDArray[np.float64]


def sigmoid(logit: Float) -> Float:
    """Logistic function, computed without overflow for large ``|logit|``."""
    return np.exp(-np.logaddexp(0.0, -logit))


def _filled(values: Mapping[str, NDArray[np.generic]], name: str) -> Float:
    column = np.asarray(values[name], dtype=np.float64)
    return np.where(np.isnan(column), TYPICAL[name], column)


def churn_logit(
    values: Mapping[str, NDArray[np.generic]], concept: SegmentConcept | None = None
) -> Float:
    """Logit of churn for feature arrays (categorical features as level codes, autopay bool)."""
    contract = np.asarray(values["contract"])
    tenure_term = -0.12 * (_filled(values, "tenure") - 24.0)
    usage_term = -0.75 * np.log(np.maximum(_filled(values, "monthly_usage"), 0.1) / 12.0)
    logit = (
        INTERCEPT
        + 1.8 * (contract == _MONTHLY)
        - 1.5 * (contract == _TWO_YEAR)
        + tenure_term
        + usage_term
        + 0.6 * (_filled(values, "support_calls") - 1.0)
        + 0.15 * _filled(values, "payment_delay")
        + 1.0 * ~np.asarray(values["autopay"], dtype=bool)
        - 0.45 * (_filled(values, "num_products") - 2.0)
        + 0.06 * (_filled(values, "last_login_days") - 6.0)
        - 0.015 * (_filled(values, "age") - 44.0)
        + 0.015 * (_filled(values, "monthly_charge") - 50.0)
        - 0.5 * (np.asarray(values["region"]) == _SOUTH)
    )
    if concept is not None and concept.strength > 0:
        codes = np.asarray(values[concept.column])
        inside = codes == LEVELS[concept.column].index(concept.value)
        change = 2.0 * concept.strength * (tenure_term + usage_term)
        logit = logit - np.where(inside, change, 0.0)
    return np.asarray(logit, dtype=np.float64)
