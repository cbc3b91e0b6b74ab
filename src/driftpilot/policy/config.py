"""The ``policy`` section of driftpilot.yaml, checked when it loads.

::

    policy:
      triggers:                       # named conditions, reusable in rules
        usage_drift: psi(monthly_usage) > 0.2
      rules:
        retrain_on_drift: psi(monthly_usage) > 0.2 or auc_drop > 0.05 -> retrain
        accuracy_floor:
          when: accuracy < 0.85
          severity: alert             # or warn
          action: alert               # or retrain
          persistence: {count: 2, of: 3}   # 2 of the last 3 windows (an integer N: N in a row)
          cooldown: 7d                # or a number of windows
          min_rows: 1000
          min_labels: 200

Without ``rules`` the default policy applies (:func:`default_rules`). Every name in a
condition is checked against the metric catalog, the model's task, the configured KPIs and
segments, and (when the model's features are declared) the features; thresholds outside a
metric's range are refused.
"""

from __future__ import annotations

import difflib
import math
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftpilot.policy.language import (
    Call,
    Combine,
    Compare,
    Node,
    PolicySyntaxError,
    calls_of,
    parse_condition,
    parse_rule,
)
from driftpilot.policy.metrics import ALIASES, CATALOG, NOT_YET, MetricSpec, canonical

__all__ = [
    "Persistence",
    "PolicyConfig",
    "RuleConfig",
    "check_condition",
    "default_rules",
    "feature_store_rule",
    "parse_duration",
]

DETECTOR_NAMES = ("adwin", "page_hinkley", "ddm", "any")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"expected a number of windows or a duration such as '12h', '7d' or '2w', got {text!r}"
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


class Persistence(_Strict):
    """The condition must hold in ``count`` of the last ``of`` windows (``of`` = ``count``:
    ``count`` windows in a row)."""

    count: int = Field(1, ge=1, le=100)
    of: int | None = Field(None, ge=1, le=100)

    @model_validator(mode="after")
    def _fits(self) -> Persistence:
        if self.of is not None and self.of < self.count:
            raise ValueError(f"'of' ({self.of}) must be at least 'count' ({self.count})")
        return self

    @property
    def last(self) -> int:
        return self.of or self.count

    def describe(self) -> str:
        if self.last == 1:
            return "this window"
        if self.last == self.count:
            return f"{self.count} windows in a row"
        return f"{self.count} of the last {self.last} windows"


class RuleConfig(_Strict):
    when: str = Field(description="The condition, in the policy language")
    action: Literal["alert", "retrain"] = "alert"
    severity: Literal["warn", "alert"] = "alert"
    persistence: Persistence = Field(default_factory=Persistence)
    cooldown: int | str = Field(0, description="Windows (or a duration) before it acts again")
    min_rows: int = Field(0, ge=0, description="Smaller windows are not judged")
    min_labels: int = Field(100, ge=1, description="Labeled rows a realized metric needs")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        """A rule may be one line: ``condition -> action``."""
        if isinstance(data, str):
            data = {"when": data}
        if isinstance(data, dict) and isinstance(data.get("when"), str):
            try:
                _, action = parse_rule(data["when"])
            except PolicySyntaxError:
                return data  # reported by the field validator, with its position
            if action is not None:
                if "action" in data and data["action"] != action:
                    raise ValueError(
                        f"the condition ends with '-> {action}' but action is "
                        f"{data['action']!r}; keep one of them"
                    )
                data = {**data, "action": action}
        if isinstance(data, dict) and isinstance(data.get("persistence"), int):
            data = {**data, "persistence": {"count": data["persistence"]}}
        return data

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str) -> str:
        _, action = parse_rule(value)
        if action is not None and action not in ("alert", "retrain"):
            raise ValueError(
                f"unknown action {action!r} after the arrow; valid actions: alert, retrain"
            )
        return value

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 0:
                raise ValueError("expected 0 or more windows")
            return value
        parse_duration(value)
        return value

    @property
    def condition(self) -> Node:
        return parse_rule(self.when)[0]

    def cooldown_span(self) -> int | timedelta:
        return self.cooldown if isinstance(self.cooldown, int) else parse_duration(self.cooldown)


class PolicyConfig(_Strict):
    triggers: dict[str, str] = Field(default_factory=dict, description="Named conditions")
    rules: dict[str, RuleConfig] | None = Field(
        None, description="The rules (default: driftpilot's default policy)"
    )
    k: float = Field(3.0, gt=0, description="Calibrated thresholds: k standard deviations")
    baseline_windows: int = Field(
        4, ge=1, le=100, description="The champion's baseline: its first N labeled windows"
    )
    open_windows: bool = Field(False, description="Also decide on windows not closed yet")
    catch_up: int = Field(
        3, ge=1, description="Incident events of the last N windows are still sent when missed"
    )

    @field_validator("triggers")
    @classmethod
    def _triggers_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"trigger name {name!r}: use letters, digits and '_'")
            if canonical(name) in CATALOG:
                raise ValueError(f"trigger name {name!r} is a metric's name; pick another")
            try:
                parse_condition(text)
            except PolicySyntaxError as exc:
                raise ValueError(f"trigger {name!r}: {exc}") from None
        return value


def default_rules(
    task: str, segments: list[str], *, feature_store: bool = False
) -> dict[str, RuleConfig]:
    """driftpilot's default policy: performance first, drift and quality as warnings; with a
    feature store, stale feature views alert and online/offline skew warns.

    Every threshold is calibrated from the reference (k standard deviations of the value over
    reference chunks, widened for small windows), so the policy stays quiet on stationary data
    at any window size.
    """
    rules: dict[str, RuleConfig] = {}
    if task == "binary":
        rules["performance_drop"] = RuleConfig(
            when="auc_drop > calibrated or accuracy_drop > calibrated", min_labels=200
        )
        for column in segments:
            rules[f"segment_drop_{column}"] = RuleConfig(
                when=f"recall_drop({column}=*) > calibrated"
                f" or accuracy_drop({column}=*) > calibrated",
                min_labels=200,
            )
        rules["estimated_performance_drop"] = RuleConfig(
            when="estimated_auc_drop > calibrated", severity="warn"
        )
    else:
        rules["performance_drop"] = RuleConfig(
            when="mae_rise > calibrated or rmse_rise > calibrated", min_labels=200
        )
        for column in segments:
            rules[f"segment_drop_{column}"] = RuleConfig(
                when=f"mae_rise({column}=*) > calibrated", min_labels=200
            )
    rules["data_drift"] = RuleConfig(when="drifted_features >= 1", severity="warn")
    rules["output_drift"] = RuleConfig(when="drift(prediction) or drift(label)", severity="warn")
    rules["data_quality"] = RuleConfig(when="quality_issues >= 1")
    if feature_store:
        rules["stale_features"] = RuleConfig(when="stale_feature_views >= 1")
        rules["feature_skew"] = RuleConfig(when="feature_skew(*) > 0.01", severity="warn")
    return rules


# checks at load ---------------------------------------------------------------------------


def _valid_metric_names(task: str) -> list[str]:
    names = [n for n, s in CATALOG.items() if s.task in (None, task)]
    return sorted(names + [a for a, n in ALIASES.items() if CATALOG[n].task in (None, task)])


def check_condition(
    node: Node,
    *,
    where: str,
    task: str,
    kpis: list[str],
    segments: list[str],
    features: list[str] | None,
    triggers: list[str],
) -> None:
    """Raise ``ValueError`` naming ``where`` for the first unknown name or impossible threshold."""
    for call in calls_of(node):
        spec = _spec(call, where, task, triggers)
        if spec is None:
            continue  # a trigger name
        _check_arguments(call, spec, where, kpis, segments, features)
    _check_comparisons(node, where, triggers)


def _spec(call: Call, where: str, task: str, triggers: list[str]) -> MetricSpec | None:
    name = canonical(call.name)
    if call.name in triggers and not call.args and not call.options:
        return None
    if call.name in NOT_YET:
        raise ValueError(f"{where}: {call.name!r} needs {NOT_YET[call.name]}, not available yet")
    spec = CATALOG.get(name)
    if spec is None:
        valid = _valid_metric_names(task)
        close = difflib.get_close_matches(call.name, valid + triggers, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        extra = f"; triggers: {', '.join(triggers)}" if triggers else ""
        raise ValueError(
            f"{where}: unknown metric {call.name!r}{hint}; valid metrics: {', '.join(valid)}{extra}"
        )
    if spec.task is not None and spec.task != task:
        raise ValueError(
            f"{where}: {call.name!r} is a {spec.task} metric but model.task is {task}; "
            f"valid metrics: {', '.join(_valid_metric_names(task))}"
        )
    return spec


def _check_arguments(
    call: Call,
    spec: MetricSpec,
    where: str,
    kpis: list[str],
    segments: list[str],
    features: list[str] | None,
) -> None:
    text = call.text or call.name
    options = dict(call.options)
    baseline = options.pop("baseline", None)
    if baseline is not None and spec.kind != "drop":
        raise ValueError(
            f"{where}: {text}: only a performance drop or rise takes baseline= "
            "(KPI drops always compare with the champion's baseline)"
        )
    if len({key for key, _ in call.options}) < len(call.options):
        raise ValueError(f"{where}: {text}: each option may be given once")
    if baseline not in (None, "reference", "champion"):
        raise ValueError(
            f"{where}: {text}: baseline must be reference or champion, got {baseline!r}"
        )
    if spec.kind in ("kpi", "kpi_drop", "estimated_kpi"):
        if len(call.args) != 1 or options or call.args[0] not in kpis:
            raise ValueError(
                f"{where}: {text}: expected {spec.name}(NAME) with NAME one of the KPIs in "
                f"monitor.kpis: {', '.join(kpis) or 'none are configured'}"
            )
        return
    if spec.kind == "detector" and spec.flag:
        if len(call.args) != 1 or call.args[0] not in DETECTOR_NAMES or options:
            raise ValueError(
                f"{where}: {text}: expected detector(NAME) with NAME one of "
                f"{', '.join(DETECTOR_NAMES)}"
            )
        return
    if spec.view:
        if len(call.args) != 1 or options:
            raise ValueError(
                f"{where}: {text}: expected {spec.name}(VIEW), with a feature view's name or * "
                "(any view)"
            )
        return
    if spec.feature:
        if len(call.args) != 1 or options:
            raise ValueError(
                f"{where}: {text}: expected {spec.name}(FEATURE), with a feature name, * "
                "(any feature), prediction or label"
            )
        feature = call.args[0]
        known = [*(features or []), "*", "prediction", "label"]
        if features is not None and feature not in known:
            close = difflib.get_close_matches(feature, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{where}: {text}: unknown feature {feature!r}{hint}; valid: {', '.join(known)}"
            )
        return
    if call.args:
        raise ValueError(f"{where}: {text}: {spec.name} takes no feature argument")
    if options and not spec.segments:
        raise ValueError(f"{where}: {text}: {spec.name} is not reported per segment")
    if spec.kind == "drop" and baseline == "reference" and options:
        raise ValueError(
            f"{where}: {text}: the reference has no per-segment performance; "
            "per-segment drops compare with the champion's baseline (baseline=champion)"
        )
    for column in options:
        if column not in segments:
            raise ValueError(
                f"{where}: {text}: {column!r} is not a segment column; segments in "
                f"monitor.segments: {', '.join(segments) or 'none are configured'}"
            )
    if len(options) > 1:
        raise ValueError(f"{where}: {text}: give one segment column")


def feature_store_rule(node: Node, triggers: dict[str, Node], where: str) -> bool:
    """Whether ``node`` tests feature-store checks (True) or windows (False); a condition
    testing both is refused: the two are judged on different series."""
    kinds = set()
    for call in calls_of(node):
        if call.name in triggers and not call.args and not call.options:
            kinds.add(feature_store_rule(triggers[call.name], triggers, where))
            continue
        spec = CATALOG.get(canonical(call.name))
        if spec is not None:
            kinds.add(spec.kind == "feature_store")
    if len(kinds) > 1:
        raise ValueError(
            f"{where}: a condition tests either feature-store values (stale_feature_views, "
            "feature_age_hours, materialization_age_hours, feature_skew) or window values, "
            "not both: they are judged at different times; split it into two rules"
        )
    return kinds == {True}


def _check_comparisons(node: Node, where: str, triggers: list[str]) -> None:
    if isinstance(node, Combine):
        for item in node.items:
            _check_comparisons(item, where, triggers)
        return
    if isinstance(node, Call):
        spec = CATALOG.get(canonical(node.name))
        if spec is not None and not spec.flag:
            raise ValueError(
                f"{where}: {node.text or node.name} needs a comparison, such as "
                f"'{node.text or node.name} > 0.1'"
            )
        return
    spec = CATALOG.get(canonical(node.call.name))
    if spec is None:  # a trigger compared with a number
        raise ValueError(f"{where}: {node.text}: a trigger is a condition; use its name alone")
    if node.threshold is None:
        wanted = spec.calibrated
        if wanted is None:
            raise ValueError(
                f"{where}: {node.text}: {spec.name} has no calibrated threshold; give a number"
            )
        good = (">", ">=") if wanted == "above" else ("<", "<=")
        if node.op not in good:
            raise ValueError(
                f"{where}: {node.text}: a calibrated threshold of {spec.name} flags values "
                f"{'above' if wanted == 'above' else 'below'} it; use {good[0]!r}"
            )
        return
    _check_range(node, spec, where)


def _check_range(node: Compare, spec: MetricSpec, where: str) -> None:
    low, high, value, op = spec.low, spec.high, node.threshold, node.op
    if value is None:  # calibrated: checked by the caller
        return
    never = (
        (op == ">" and value >= high)
        or (op == ">=" and value > high)
        or (op == "<" and value <= low)
        or (op == "<=" and value < low)
    )
    always = (
        (op == ">" and value < low)
        or (op == ">=" and value <= low)
        or (op == "<" and value > high)
        or (op == "<=" and value >= high)
    )
    outside = not (low <= value <= high) and op in ("==", "!=")
    if never or always or outside or not math.isfinite(value):
        span = f"[{_fmt(low)}, {_fmt(high)}]"
        what = "can never hold" if never or outside else "always holds"
        raise ValueError(
            f"{where}: {node.text}: {what}: {spec.name} lies in {span}; pick a threshold inside it"
        )


def _fmt(value: float) -> str:
    return "∞" if value == math.inf else ("-∞" if value == -math.inf else f"{value:g}")
