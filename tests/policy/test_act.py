"""Incident messages: one per incident and one when it resolves, whatever the cycles see."""

from __future__ import annotations

from datetime import timedelta

from driftpilot.policy.act import incident_alerts
from driftpilot.policy.decide import decide
from tests.policy.reports import NOW, config, report


def _outcome(flags, labels=None, rule="r"):
    labels = labels or [True] * len(flags)
    history = [
        report(i, accuracy=(0.7 if bad else 0.9) if has else None, labeled=10_000 if has else 0)
        for i, (bad, has) in enumerate(zip(flags, labels, strict=True))
    ]
    return history, decide(history, config({rule: "accuracy < 0.8"}), NOW)


def events(outcome, sent=(), catch_up=3):
    return [e for e, _ in incident_alerts(outcome, NOW, catch_up=catch_up, sent=sent)]


def ledger(outcome, sent=(), start=0):
    """The ledger rows a cycle that delivered everything would record."""
    rows = list(sent)
    found = incident_alerts(outcome, NOW, catch_up=3, sent=sent)
    for i, (event, alert) in enumerate(found):
        rows.append(
            {"event": event, "incident": alert.incident_id, "status": alert.status,
             "rule": alert.rule, "window_key": alert.window_key,
             "sent_at": NOW + timedelta(seconds=start + i)}
        )  # fmt: skip
    return rows


def test_a_long_running_incident_is_announced_even_past_the_catch_up():
    history, outcome = _outcome([0, 1, 1, 1, 1, 1])
    assert events(outcome) == [f"r@{history[1].window_key}|open"]
    assert events(outcome, ledger(outcome)) == []


def test_an_incident_seen_whole_within_the_catch_up_gets_both_messages():
    history, outcome = _outcome([0, 0, 0, 1, 0])
    incident = f"r@{history[3].window_key}"
    assert events(outcome) == [f"{incident}|open", f"{incident}|resolved"]
    assert events(outcome, ledger(outcome)) == []
    _, old = _outcome([1, 0, 0, 0, 0, 0])  # long over: not worth a message now
    assert events(old) == []


def test_late_labels_that_move_an_incident_do_not_make_a_second_one():
    # first cycle: window 1 had no labels, so the incident opened at window 2
    history, before = _outcome([0, 1, 1], labels=[True, False, True])
    sent = ledger(before)
    assert [r["event"] for r in sent] == [f"r@{history[2].window_key}|open"]
    _, after = _outcome([0, 1, 1])  # window 1's labels arrive: the incident starts there now
    assert after.decisions[1].acted
    assert events(after, sent) == []
    _, cleared = _outcome([0, 1, 1, 0])  # it clears: the incident people know of is resolved
    assert events(cleared, sent) == [f"r@{history[2].window_key}|resolved"]


def test_an_episode_told_whole_is_not_told_again_when_its_start_moves():
    _, first = _outcome([0, 1, 1, 0], labels=[True, False, True, True])
    sent = ledger(first)
    assert [r["status"] for r in sent] == ["open", "resolved"]
    _, second = _outcome([0, 1, 1, 0])
    assert events(second, sent) == []


def test_a_resolved_incident_firing_again_is_announced_again():
    history, bad = _outcome([0, 1])
    sent = ledger(bad)
    _, cleared = _outcome([0, 1, 0], labels=[True, True, True])
    sent = ledger(cleared, sent, start=10)
    assert [r["status"] for r in sent] == ["open", "resolved"]
    # the "good" window's late labels turn out bad: the same incident, firing again
    _, again = _outcome([0, 1, 1])
    assert events(again, sent) == [f"r@{history[1].window_key}|open#2"]


def test_a_window_waiting_for_labels_resolves_nothing():
    _, outcome = _outcome([1, 1, 0], labels=[True, True, False])
    assert outcome.decisions[-1].status == "firing"
    assert events(outcome, ledger(_outcome([1])[1])) == []


def test_a_rule_that_left_the_policy_gets_its_incident_closed():
    _, old = _outcome([0, 1], rule="old")
    sent = ledger(old)
    _, renamed = _outcome([0, 1], rule="new")
    found = incident_alerts(renamed, NOW, catch_up=3, sent=sent)
    assert [(a.rule, a.status) for _, a in found] == [("old", "resolved"), ("new", "open")]
    assert "no longer in the policy" in found[0][1].summary


def test_feature_checks_do_not_push_a_window_incident_out_of_the_catch_up():
    from driftpilot.config import parse_config
    from driftpilot.features.check import FeatureCheck
    from driftpilot.features.freshness import view_health

    history = [
        report(i, accuracy=0.7 if i == 3 else 0.9, labeled=10_000) for i in range(5)
    ]  # an incident opens at window 3 and resolves at window 4
    checks = []
    for i in range(12):  # hourly checks after the windows, all fresh
        at = NOW - timedelta(hours=12 - i)
        health = view_health("v", "v1", [at.timestamp()], at, at, timedelta(days=2))
        checks.append(FeatureCheck(at, {"v": health}, {}).as_report())
    settings = parse_config(
        {
            "features": {"repo": "features"},
            "policy": {"rules": {"r": "accuracy < 0.8", "stale": "stale_feature_views >= 1"}},
        }
    )
    outcome = decide(history, settings, NOW, checks=checks)
    incident = f"r@{history[3].window_key}"
    assert events(outcome) == [f"{incident}|open", f"{incident}|resolved"]
