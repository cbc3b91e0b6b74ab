"""Which method and threshold decide each feature's drift verdict.

Rules layer from general to specific: ``drift.default``, then the feature's type
(``drift.numeric`` / ``categorical`` / ``boolean``), then ``drift.features.NAME``. A layer that
names a new method starts from that method's own default threshold; a layer that only sets a
threshold (or ``calibrated``, or ``k``) keeps the method it inherits.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from driftpilot.config import DEFAULT_THRESHOLDS, METHODS, DriftConfig, DriftRule
from driftpilot.errors import ConfigError
from driftpilot.profile.model import Profile
from driftpilot.schema import FeatureType
from driftpilot.stats.calibration import calibrated_threshold

__all__ = ["ResolvedRule", "resolve_rules", "rule_for_type"]


@dataclass(frozen=True)
class ResolvedRule:
    method: str
    threshold: float
    calibrated: bool
    k: float
    origin: str = "drift.default"  # the setting that chose the method

    @property
    def below(self) -> bool:
        """True when the score must fall below the threshold (p-values) to mean drift."""
        return METHODS[self.method][0] == "below"

    def effective(
        self,
        calibration: dict[str, tuple[float, float]] | None,
        *,
        n_current: float,
        n_reference: float,
        n_chunk: float,
    ) -> tuple[float, str]:
        """The threshold to apply and where it came from (``fixed`` or ``calibrated``)."""
        if self.below or not self.calibrated or not calibration or self.method not in calibration:
            return self.threshold, "fixed"
        mean, std = calibration[self.method]
        value = calibrated_threshold(
            mean,
            std,
            k=self.k,
            statistic=self.method,
            n_current=n_current,
            n_reference=n_reference,
            n_chunk=n_chunk,
        )
        return (value, "calibrated") if value > self.threshold else (self.threshold, "fixed")


def _apply(
    base: ResolvedRule, layer: DriftRule | None, default_k: float, origin: str
) -> ResolvedRule:
    if layer is None:
        return base
    if layer.method is not None and layer.method != base.method:
        method = layer.method
        threshold = layer.threshold if layer.threshold is not None else DEFAULT_THRESHOLDS[method]
        calibrated = (
            layer.calibrated if layer.calibrated is not None else METHODS[method][0] == "above"
        )
        return ResolvedRule(method, threshold, calibrated, layer.k or default_k, origin)
    return ResolvedRule(
        base.method,
        layer.threshold if layer.threshold is not None else base.threshold,
        layer.calibrated if layer.calibrated is not None else base.calibrated,
        layer.k or base.k,
        base.origin,
    )


def _typed(config: DriftConfig, kind: FeatureType) -> ResolvedRule:
    start = ResolvedRule("psi", DEFAULT_THRESHOLDS["psi"], True, config.k)
    base = _apply(start, config.default, config.k, "drift.default")
    by_type = {
        FeatureType.NUMERIC: config.numeric,
        FeatureType.CATEGORICAL: config.categorical,
        FeatureType.BOOLEAN: config.boolean,
    }
    return _apply(base, by_type[kind], config.k, f"drift.{kind.value}")


def rule_for_type(config: DriftConfig, kind: FeatureType) -> ResolvedRule:
    """The rule a feature of this type gets without a feature-specific setting (PSI where the
    configured method does not apply to the type)."""
    rule = _typed(config, kind)
    if kind not in METHODS[rule.method][1]:
        return ResolvedRule("psi", DEFAULT_THRESHOLDS["psi"], True, config.k, rule.origin)
    return rule


def resolve_rules(config: DriftConfig, profile: Profile) -> dict[str, ResolvedRule]:
    """One rule per profiled feature; unknown feature names and misfit methods are refused."""
    names = list(profile.features)
    for name in config.features:
        if name not in profile.features:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{name!r} is not a feature of the reference profile",
                field=f"drift.features.{name}",
                hint=f"{hint}features: {', '.join(names)}",
            )
    typed = {kind: _typed(config, kind) for kind in FeatureType}
    rules: dict[str, ResolvedRule] = {}
    for name, feature in profile.features.items():
        kind = FeatureType(feature.type)
        rule = _apply(typed[kind], config.features.get(name), config.k, f"drift.features.{name}")
        if kind not in METHODS[rule.method][1]:
            fitting = sorted(m for m, (_, kinds) in METHODS.items() if kind in kinds)
            hint = f"methods for {kind.value} features: {', '.join(fitting)}"
            if rule.origin == "drift.default":
                hint = f"add drift.{kind.value} with one of the {hint}"
            raise ConfigError(
                f"method {rule.method!r} does not apply to {kind.value} feature {name!r}",
                field=rule.origin,
                hint=hint,
            )
        rules[name] = rule
    return rules
