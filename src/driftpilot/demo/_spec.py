"""What a week of the churn scenario looks like: the feature catalogue and the week specs.

The catalogue (names, kinds, levels, reference probabilities and standard deviations) is data,
so the generator, the label rule and the parameter checks all read the same table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from driftpilot.errors import ConfigError

__all__ = [
    "BROKEN_MODES",
    "FEATURES",
    "LEVELS",
    "PROBABILITIES",
    "REFERENCE_STD",
    "SegmentConcept",
    "WeekSpec",
    "whole_number",
]

FEATURES: dict[str, str] = {
    "tenure": "numeric",
    "monthly_usage": "numeric",
    "plan": "categorical",
    "support_calls": "numeric",
    "region": "categorical",
    "payment_delay": "numeric",
    "contract": "categorical",
    "age": "numeric",
    "monthly_charge": "numeric",
    "num_products": "numeric",
    "autopay": "boolean",
    "last_login_days": "numeric",
}

# Levels of the non-numeric features, in code order, with their stationary probabilities.
LEVELS: dict[str, tuple[str, ...]] = {
    "plan": ("basic", "standard", "premium", "family"),
    "region": ("north", "south", "east", "west", "central"),
    "contract": ("monthly", "annual", "two_year"),
}
PROBABILITIES: dict[str, tuple[float, ...]] = {
    "plan": (0.40, 0.30, 0.12, 0.18),
    "region": (0.28, 0.16, 0.22, 0.20, 0.14),
    "contract": (0.55, 0.25, 0.20),
    "autopay": (0.40, 0.60),  # (False, True)
}

# Standard deviation of each numeric feature in stationary weeks (nulls left out), measured on
# 10,000,000 rows and rounded; a covariate shift of size s moves a feature by s times this.
REFERENCE_STD: dict[str, float] = {
    "tenure": 19.60,
    "monthly_usage": 15.92,
    "support_calls": 1.200,
    "payment_delay": 4.716,
    "age": 13.61,
    "monthly_charge": 23.40,
    "num_products": 0.9165,
    "last_login_days": 6.000,
}

BROKEN_MODES: tuple[str, ...] = ("nulls", "strings")


def _is_number(value: object) -> TypeGuard[float]:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def _share(value: object, name: str) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"expected a share between 0 and 1, got {value!r}",
            field=name,
            hint="give a fraction such as 0.3",
        )
    return float(value)


def _mapping(value: object, name: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"expected a mapping of feature name to setting, got {type(value).__name__}",
            field=name,
            hint="pass a dict such as {'monthly_usage': 1.0}",
        )
    return value


def _known_feature(name: object, where: str) -> str:
    if name not in FEATURES:
        raise ConfigError(
            f"expected one of the scenario's features ({', '.join(FEATURES)}), got {name!r}",
            field=where,
            hint="use one of the listed feature names",
        )
    return str(name)


def whole_number(value: object, name: str, minimum: int) -> int:
    """``value`` as an int; a ConfigError naming ``name`` unless it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(
            f"expected an integer >= {minimum}, got {value!r}",
            field=name,
            hint=f"pass a whole number of at least {minimum}",
        )
    return int(value)


@dataclass(frozen=True)
class SegmentConcept:
    """Within a sub-population the churn rule changes (concept drift).

    Inside the segment (rows where ``column == value``) the tenure and usage terms of the
    churn rule flip sign, scaled by ``strength``: the terms are multiplied by
    ``1 - 2 * strength``. Only labels change; the features' distribution does not.

    Examples
    --------
    >>> SegmentConcept(value="north", strength=0.5).value
    'north'
    """

    column: str = "region"
    value: str = "south"
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.column not in LEVELS:
            raise ConfigError(
                f"expected a categorical feature ({', '.join(LEVELS)}), got {self.column!r}",
                field="concept.column",
                hint="segment by one of the listed columns",
            )
        levels = LEVELS[self.column]
        if self.value not in levels:
            raise ConfigError(
                f"expected a level of {self.column!r} ({', '.join(levels)}), got {self.value!r}",
                field="concept.value",
                hint="use one of the listed levels",
            )
        _share(self.strength, "concept.strength")


@dataclass(frozen=True)
class WeekSpec:
    """What is different about one week; the default is a stationary (control) week.

    Parameters
    ----------
    covariate_shift
        Feature name to size. A numeric feature is generated as usual, then moved by
        ``size * REFERENCE_STD[feature]`` (any sign), rounded to the feature's precision and
        clipped to its valid range (tenure 0-72, age 18-90, num_products 1-5, usage >= 0.1 GB,
        charge >= 5, counts and days >= 0). A categorical or boolean feature takes
        ``size`` (in [0, 1]) times the probability of its most common level away from that
        level and gives it to its least common level (shared equally on a tie): plan
        basic -> premium, region north -> central, contract monthly -> two_year,
        autopay True -> False. Features generated from a shifted one follow it: tenure
        depends on contract; monthly_usage, support_calls and monthly_charge depend on plan.
        The churn rule is unchanged, so P(y) moves only through it.
    concept
        A :class:`SegmentConcept`, or None for the stationary rule.
    churn_rate
        Label shift: the week's positive share is exactly ``round(rows * churn_rate) / rows``,
        reached by drawing extra rows and keeping the first of each class, so P(x | y) holds.
    broken
        Feature name to ``"nulls"`` (the column's missing share becomes
        ``max(broken_share, usual share)``) or ``"strings"`` (the column arrives as text: numbers
        with units such as ``"12 months"`` or ``"34.5 GB"``, autopay as ``"yes"``/``"no"``, and
        ``broken_share`` of the rows junk such as ``"n/a"``). Breakage happens after labelling,
        so labels are those of the intact data.
    broken_share
        Share used by ``broken``, in [0, 1].

    Examples
    --------
    >>> WeekSpec(covariate_shift={"monthly_usage": 1.0}).churn_rate is None
    True
    """

    covariate_shift: Mapping[str, float] = field(default_factory=dict)
    concept: SegmentConcept | None = None
    churn_rate: float | None = None
    broken: Mapping[str, str] = field(default_factory=dict)
    broken_share: float = 0.3

    def __post_init__(self) -> None:
        shift: dict[str, float] = {}
        for name, size in _mapping(self.covariate_shift, "covariate_shift").items():
            where = f"covariate_shift.{name}"
            feature = _known_feature(name, "covariate_shift")
            if FEATURES[feature] == "numeric":
                if not _is_number(size) or not math.isfinite(size):
                    raise ConfigError(
                        f"expected a finite number of reference standard deviations, got {size!r}",
                        field=where,
                        hint="give a size such as 1.0 or -0.5",
                    )
                shift[feature] = float(size)
            else:
                shift[feature] = _share(size, where)
        broken: dict[str, str] = {}
        for name, mode in _mapping(self.broken, "broken").items():
            feature = _known_feature(name, "broken")
            if mode not in BROKEN_MODES:
                raise ConfigError(
                    f"expected one of {', '.join(BROKEN_MODES)}, got {mode!r}",
                    field=f"broken.{name}",
                    hint="use 'nulls' for missing values or 'strings' for a text column",
                )
            broken[feature] = mode
        if self.churn_rate is not None and (
            not _is_number(self.churn_rate) or not 0.0 < self.churn_rate < 1.0
        ):
            raise ConfigError(
                f"expected a share strictly between 0 and 1, got {self.churn_rate!r}",
                field="churn_rate",
                hint="give a positive share such as 0.35, or None to keep the natural rate",
            )
        if self.concept is not None and not isinstance(self.concept, SegmentConcept):
            raise ConfigError(
                f"expected a SegmentConcept or None, got {type(self.concept).__name__}",
                field="concept",
                hint="wrap the change in SegmentConcept(column=..., value=..., strength=...)",
            )
        _share(self.broken_share, "broken_share")
        # Frozen, so store validated copies: later edits of the caller's dicts cannot bypass checks.
        object.__setattr__(self, "covariate_shift", shift)
        object.__setattr__(self, "broken", broken)
