"""Feature-store rules: judged on the cycle's checks (pure, no Feast), with persistence,
resolution, Prometheus gauges, and the configuration errors a user can make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from driftpilot.config import parse_config
from driftpilot.errors import ConfigError
from driftpilot.features.check import FeatureCheck
from driftpilot.features.freshness import value_status, view_health
from driftpilot.policy.decide import decide

START = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)
ALLOWED = 2 * DAY


def check(at: datetime, materialized: datetime, skew: float = 0.0) -> FeatureCheck:
    health = view_health(
        "customer_usage_v2", "v2", [materialized.timestamp()] * 5, materialized, at, ALLOWED
    )
    rates = {"monthly_usage": {"view": "customer_usage_v2", "rate": skew, "compared": 200,
                               "mismatched": int(skew * 200), "examples": []}}  # fmt: skip
    return FeatureCheck(at, {"customer_usage_v2": health}, rates)


def config(rules: str, features: bool = True):
    text = ("features: {repo: features}\n" if features else "") + f"policy:\n  rules:\n{rules}"
    import yaml

    return parse_config(yaml.safe_load(text))


RULES = (
    "    stale: stale_feature_views >= 1\n"
    "    old: {when: 'feature_age_hours(*) > 72', severity: warn}\n"
    "    skewed: {when: 'feature_skew(monthly_usage) > 0.01', persistence: {count: 2}}\n"
)


def test_a_week_without_materialization_opens_an_incident_that_resolves_when_fresh() -> None:
    materialized = START
    checks = []
    for day in range(10):  # materialization stops after day 1, resumes on day 8
        at = START + day * DAY
        if day <= 1 or day >= 8:
            materialized = at
        checks.append(check(at, materialized).as_report())
    outcome = decide([], config(RULES), START + 10 * DAY, checks=checks)
    stale = [d for d in outcome.decisions if d.rule == "stale"]
    assert [d.status for d in stale] == ["ok"] * 4 + ["firing"] * 4 + ["ok"] * 2
    assert [d.acted for d in stale].index(True) == 4  # day 3: 2 days since the last run
    assert stale[8].resolved == stale[4].incident
    assert stale[4].window_key.startswith("features@")
    old = [d for d in outcome.decisions if d.rule == "old"]
    assert [d.held for d in old] == [False] * 5 + [True] * 3 + [False] * 2  # > 72 h from day 5
    evidence = stale[4].evidence[0]
    assert (evidence.value, evidence.where) == (1.0, "customer_usage_v2")


def test_skew_needs_its_persistence_and_the_level_counts_feature_rules() -> None:
    checks = [
        check(START + i * DAY, START + i * DAY, skew).as_report()
        for i, skew in enumerate([0.0, 0.05, 0.0, 0.05, 0.05])
    ]
    outcome = decide([], config(RULES), START + 5 * DAY, checks=checks)
    skewed = [d for d in outcome.decisions if d.rule == "skewed"]
    assert [d.status for d in skewed] == ["ok", "pending", "ok", "pending", "firing"]
    assert outcome.latest_check_key == checks[-1].window_key
    assert outcome.level == "alert"  # the latest check's open incident


def test_a_rule_mixing_feature_store_and_window_values_is_refused() -> None:
    with pytest.raises(ConfigError, match="not both"):
        config("    mixed: stale_feature_views >= 1 or drifted_features >= 1\n")
    with pytest.raises(ConfigError, match="no feature store"):
        config("    stale: stale_feature_views >= 1\n", features=False)
    with pytest.raises(ConfigError, match=r"feature_age_hours\(VIEW\)"):
        config("    old: feature_age_hours > 1\n")
    with pytest.raises(ConfigError, match="lies in"):
        config("    skewed: feature_skew(*) > 1.5\n")


def test_the_default_policy_alerts_on_stale_views_with_a_feature_store() -> None:
    from driftpilot.policy.decide import effective_rules

    with_store = effective_rules(parse_config({"features": {"repo": "features"}}))
    assert with_store["stale_features"].when == "stale_feature_views >= 1"
    assert "feature_skew" in with_store
    assert "stale_features" not in effective_rules(parse_config({}))


@given(
    age=st.floats(0, 30 * 86400),
    ttl=st.one_of(st.none(), st.floats(1, 30 * 86400)),
)
def test_a_value_is_stale_exactly_when_older_than_its_ttl(age: float, ttl: float | None) -> None:
    assume(ttl is None or abs(age - ttl) > 1e-3)  # float seconds at the boundary
    now = START
    status = value_status(
        now.timestamp() - age, None if ttl is None else timedelta(seconds=ttl), now
    )
    assert status == ("stale" if ttl is not None and age > ttl else "fresh")


@given(
    ages=st.lists(st.floats(0, 20 * 86400), min_size=1, max_size=20),
    done=st.floats(0, 20 * 86400),
    allowed=st.floats(3600, 5 * 86400),
)
def test_a_view_is_fresh_exactly_when_both_ages_are_allowed(ages, done, allowed) -> None:
    now = START
    stamps = [now.timestamp() - a for a in ages]
    health = view_health(
        "v", "v1", stamps, now - timedelta(seconds=done), now, timedelta(seconds=allowed)
    )
    newest = min(ages)
    assert health.value_age_seconds == pytest.approx(newest, abs=1e-3)
    fresh = newest <= allowed + 1e-6 and done <= allowed + 1e-6
    if abs(newest - allowed) > 1e-3 and abs(done - allowed) > 1e-3:
        assert (health.status == "fresh") == fresh
    assert health.status != "missing"


def test_never_materialized_and_no_online_values_are_missing() -> None:
    never = view_health("v", "v1", [0, 0], None, START, ALLOWED)
    assert never.status == "missing"
    assert any("never materialized" in r for r in never.reasons)
    empty = view_health("v", "v1", [0, 0, 0], START, START, ALLOWED)
    assert empty.status == "missing"
    assert "none of 3 recent entities has an online value" in empty.reasons


def test_the_latest_check_is_exported_to_prometheus(tmp_path) -> None:
    from driftpilot.features.check import store_check
    from driftpilot.policy.prometheus import exposition
    from driftpilot.policy.store import store_decisions
    from driftpilot.workspace import Workspace

    (tmp_path / "driftpilot.yaml").write_text(
        "features: {repo: features}\npolicy:\n  rules:\n" + RULES
    )
    space = Workspace.open(tmp_path)
    report = store_check(space, check(START + 7 * DAY, START, 0.25))
    outcome = decide([], space.config, START + 8 * DAY, checks=[report])
    store_decisions(space, outcome.decisions, START + 8 * DAY)
    text = exposition(space).decode()
    assert 'driftpilot_feature_view_stale{version="v2",view="customer_usage_v2"} 1.0' in text
    assert (
        'driftpilot_feature_materialization_age_seconds{view="customer_usage_v2"} 604800.0' in text
    )
    assert 'driftpilot_feature_skew{feature="monthly_usage",view="customer_usage_v2"} 0.25' in text
    assert 'driftpilot_rule_active{rule="stale",severity="alert"} 1.0' in text


def test_checks_of_one_hour_share_a_window_and_a_long_incident_opens_once(tmp_path) -> None:
    from driftpilot.features.check import recent_checks, store_check
    from driftpilot.workspace import Workspace

    (tmp_path / "driftpilot.yaml").write_text("features: {repo: features}\n")
    space = Workspace.open(tmp_path)
    hour = START + 5 * DAY
    store_check(space, check(hour + timedelta(minutes=5), START))
    store_check(space, check(hour + timedelta(minutes=50), START))
    (stored,) = recent_checks(space)
    assert stored.window_key == "features@" + hour.isoformat()
    assert stored.window == hour + timedelta(minutes=50)  # the later check replaced the first
    checks = [check(START + i * timedelta(hours=1), START).as_report() for i in range(24 * 9)]
    outcome = decide([], config(RULES), START + 10 * DAY, checks=checks)
    opened = [d for d in outcome.decisions if d.rule == "stale" and d.acted]
    assert len(opened) == 1  # stale from hour 49 on: one incident, announced once
