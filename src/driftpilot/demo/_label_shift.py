"""Label shift: a week whose churn rate is set, with P(x | churn) kept."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from driftpilot.demo._features import draw_features
from driftpilot.demo._rule import churn_logit, sigmoid
from driftpilot.demo._spec import FEATURES, WeekSpec
from driftpilot.errors import ConfigError

__all__ = ["draw_label_shifted"]

_NATURAL_RATE = 0.2  # only sizes the first pool
_MAX_POOL_FACTOR = 50  # a label-shifted week draws at most this many times its rows


def draw_label_shifted(
    rng: np.random.Generator, n: int, spec: WeekSpec
) -> tuple[dict[str, NDArray[np.generic]], NDArray[np.bool_]]:
    """Draw pools of rows until each class has enough, then keep the first rows of each class.

    Rows are i.i.d., so the first ``k`` rows of a class are a random sample of it: P(x | y)
    is kept while the positive share becomes exactly ``round(n * churn_rate) / n``.
    """
    rate = float(spec.churn_rate or 0.0)
    short = {True: round(n * rate), False: n - round(n * rate)}
    observed, drawn, positives = _NATURAL_RATE, 0, 0
    kept: list[tuple[dict[str, NDArray[np.generic]], NDArray[np.bool_]]] = []
    while short[True] > 0 or short[False] > 0:
        size = 64 + math.ceil(
            1.2 * max(short[True] / max(observed, 1e-3), short[False] / max(1 - observed, 1e-3))
        )
        if drawn + size > _MAX_POOL_FACTOR * n + 10_000:
            raise ConfigError(
                f"expected a churn_rate reachable from this week's natural churn rate "
                f"(about {observed:.4f}) within {_MAX_POOL_FACTOR} times the week's rows, "
                f"got {rate}",
                field="churn_rate",
                hint="choose a churn_rate closer to the natural rate or soften the other shifts",
            )
        values = draw_features(rng, size, spec.covariate_shift)
        churn = rng.random(size) < sigmoid(churn_logit(values, spec.concept))
        # Keeping the first rows of each class pool by pool equals keeping them overall.
        keep = (churn & (np.cumsum(churn) <= short[True])) | (
            ~churn & (np.cumsum(~churn) <= short[False])
        )
        kept.append(({name: column[keep] for name, column in values.items()}, churn[keep]))
        taken = int(churn[keep].sum())
        short[True] -= taken
        short[False] -= int(keep.sum()) - taken
        drawn += size
        positives += int(churn.sum())
        observed = positives / drawn
    values = {name: np.concatenate([part[0][name] for part in kept]) for name in FEATURES}
    return values, np.concatenate([part[1] for part in kept])
