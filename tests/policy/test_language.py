"""The policy language: parsing, errors with positions, and load-time checks of every name."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftpilot.config import parse_config
from driftpilot.errors import ConfigError
from driftpilot.policy.language import (
    Call,
    Combine,
    Compare,
    PolicySyntaxError,
    parse_condition,
    parse_rule,
)


def test_the_field_guide_rule_parses_into_a_tree():
    node, action = parse_rule("psi(monthly_usage) > 0.2 or auc_drop > 0.05 → retrain")
    assert action == "retrain"
    assert node == Combine(
        1,
        (
            Compare(
                Call("psi", ("monthly_usage",), (), "psi(monthly_usage)"),
                ">",
                0.2,
                "psi(monthly_usage) > 0.2",
            ),
            Compare(Call("auc_drop", (), (), "auc_drop"), ">", 0.05, "auc_drop > 0.05"),
        ),
        "psi(monthly_usage) > 0.2 or auc_drop > 0.05",
    )


def test_forms():
    assert parse_condition("accuracy < 85%").threshold == pytest.approx(0.85)
    assert parse_condition("psi(*) > calibrated").threshold is None
    segment = parse_condition("recall_drop(region=*, baseline=champion) > 0.1").call
    assert segment.options == (("region", "*"), ("baseline", "champion"))
    quoted = parse_condition("psi('monthly usage') > 0.2").call
    assert quoted.args == ("monthly usage",)
    k_of = parse_condition("2 of (a > 1, b > 1, detector(adwin))")
    assert isinstance(k_of, Combine)
    assert (k_of.need, len(k_of.items)) == (2, 3)
    nested = parse_condition("a > 1 and (b > 1 or c > 1)")
    assert isinstance(nested, Combine)
    assert nested.need == 2
    assert parse_condition("all(a > 1, b > 1)").need == 2
    assert parse_condition("any(a > 1, b > 1)").need == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy <", "expected a number or 'calibrated' at position 11"),
        ("accuracy < 0.85 and", "expected a metric, a trigger name or '(' at position 20"),
        ("(accuracy < 0.85", "expected ')' at position 17"),
        ("4 of (a > 1, b > 1)", "a count of at most 2"),
        ("accuracy ; 1", "expected a name, a number, an operator or a bracket at position 10"),
        ("", "expected a condition"),
        ("accuracy < 0.8 accuracy", "'and', 'or', an arrow or the end"),
    ],
)
def test_syntax_errors_show_where(text, expected):
    with pytest.raises(PolicySyntaxError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(text)


@given(st.text(alphabet="abc_()*,=<>-→ 0123.%'andorf", max_size=40))
def test_any_text_parses_or_gets_a_syntax_error(text):
    with contextlib.suppress(PolicySyntaxError):
        parse_rule(text)


def _load(rules, **sections):
    data = {"model": {"task": "binary"}, "policy": {"rules": rules}, **sections}
    return parse_config(data)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "acuracy < 0.85",
            "unknown metric 'acuracy' (did you mean 'accuracy'?); valid metrics: accuracy",
        ),
        ("accuracy < 1.5", "always holds: accuracy lies in [0, 1]"),
        ("accuracy > 1", "can never hold: accuracy lies in [0, 1]"),
        ("psi(x) < 0", "can never hold: psi lies in [0, ∞]"),
        ("mae > 3", "'mae' is a regression metric but model.task is binary"),
        ("kpi(revenue) < 3", "NAME one of the KPIs in monitor.kpis: none are configured"),
        ("recall(country=*) < 0.5", "'country' is not a segment column"),
        ("accuracy > calibrated", "flags values below it; use '<'"),
        ("positive_rate > calibrated", "has no calibrated threshold"),
        ("psi > 0.2", "expected psi(FEATURE)"),
        (
            "detector(adwn)",
            "expected detector(NAME) with NAME one of adwin, page_hinkley, ddm, any",
        ),
        ("accuracy", "needs a comparison"),
        ("error_rate > 0.1", "needs the serving log of failed requests"),
        ("accuracy < 0.8 -> page", "unknown action 'page'"),
        ("recall_drop(region=*, baseline=reference) > 0.1", "the reference has no per-segment"),
    ],
)
def test_rules_are_checked_at_load(rule, message):
    with pytest.raises(ConfigError) as caught:
        _load({"r": rule}, monitor={"segments": ["region"]})
    assert "policy.rules.r" in str(caught.value)
    assert message in str(caught.value)


def test_features_are_checked_when_declared():
    with pytest.raises(ConfigError, match=r"unknown feature 'tenur' \(did you mean 'tenure'\?\)"):
        _load(
            {"r": "psi(tenur) > 0.2"}, model={"task": "binary", "features": {"tenure": "numeric"}}
        )


def test_rule_shapes():
    config = _load(
        {
            "a": "accuracy < 0.85",
            "b": {"when": "accuracy < 0.9 -> retrain", "persistence": 3, "cooldown": "7d"},
            "c": {"when": "accuracy < 0.9", "persistence": {"count": 2, "of": 5}, "cooldown": 2},
        }
    )
    rules = config.policy.rules
    assert rules["a"].action == "alert"
    assert rules["b"].action == "retrain"
    assert rules["b"].persistence.describe() == "3 windows in a row"
    assert rules["c"].persistence.describe() == "2 of the last 5 windows"
    with pytest.raises(ConfigError, match="'of' \\(2\\) must be at least 'count' \\(3\\)"):
        _load({"r": {"when": "accuracy < 0.9", "persistence": {"count": 3, "of": 2}}})
    with pytest.raises(ConfigError, match="a duration such as '12h'"):
        _load({"r": {"when": "accuracy < 0.9", "cooldown": "soon"}})
    with pytest.raises(ConfigError, match="ends with '-> retrain' but action is 'alert'"):
        _load({"r": {"when": "accuracy < 0.9 -> retrain", "action": "alert"}})


def test_triggers_are_named_conditions():
    config = parse_config(
        {
            "policy": {
                "triggers": {"usage_drift": "psi(usage) > 0.2"},
                "rules": {"r": "usage_drift and auc_drop > 0.02"},
            }
        }
    )
    assert "usage_drift" in config.policy.triggers
    with pytest.raises(ConfigError, match="trigger name 'accuracy' is a metric's name"):
        parse_config({"policy": {"triggers": {"accuracy": "accuracy < 0.5"}}})
    with pytest.raises(ConfigError, match=r"unknown metric 'usage_drif'.*triggers: usage_drift"):
        parse_config(
            {
                "policy": {
                    "triggers": {"usage_drift": "psi(usage) > 0.2"},
                    "rules": {"r": "usage_drif"},
                }
            }
        )


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    with pytest.raises(PolicySyntaxError, match="at most 50 levels of nesting"):
        parse_rule("(" * 400 + "accuracy < 0.8" + ")" * 400)
    assert parse_rule("(" * 20 + "accuracy < 0.8" + ")" * 20)[0].threshold == 0.8


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("chi2(x) > calibrated", "chi2 has no calibrated threshold"),
        ("accuracy(region=north, region=south) < 0.8", "each option may be given once"),
    ],
)
def test_rules_that_would_never_fire_are_refused(rule, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _load({"r": rule}, monitor={"segments": ["region"]})


def test_kpi_drops_take_no_reference_baseline():
    kpi = {"numerator": {"count": True, "over": ["tp"]}}
    with pytest.raises(ConfigError, match="KPI drops always compare with the champion"):
        _load({"r": "kpi_drop(k, baseline=reference) > 0.1"}, monitor={"kpis": {"k": kpi}})


def test_schedule_durations():
    assert parse_config({"schedule": {"grace": "0s"}}).schedule.grace == "0s"
    with pytest.raises(ConfigError, match=r"schedule\.retry: expected a duration above zero"):
        parse_config({"schedule": {"retry": "0s"}})
