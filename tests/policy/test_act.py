"""Incident messages: one per incident and one when it resolves, whatever the cycles see."""

from __future__ import annotations

from driftpilot.policy.act import incident_alerts
from driftpilot.policy.decide import decide
from tests.policy.reports import NOW, config, report


def _outcome(flags, labels=None):
    labels = labels or [True] * len(flags)
    history = [
        report(i, accuracy=(0.7 if bad else 0.9) if has else None, labeled=10_000 if has else 0)
        for i, (bad, has) in enumerate(zip(flags, labels, strict=True))
    ]
    return history, decide(history, config({"r": "accuracy < 0.8"}), NOW)


def events(outcome, ledger=None, catch_up=3):
    return [e for e, _ in incident_alerts(outcome, NOW, catch_up=catch_up, ledger=ledger)]


def test_a_long_running_incident_is_announced_even_past_the_catch_up():
    history, outcome = _outcome([0, 1, 1, 1, 1, 1])
    assert events(outcome) == [f"r@{history[1].window_key}|open"]


def test_an_incident_seen_whole_within_the_catch_up_gets_both_messages():
    history, outcome = _outcome([0, 0, 0, 1, 0])
    incident = f"r@{history[3].window_key}"
    assert events(outcome) == [f"{incident}|open", f"{incident}|resolved"]
    assert events(outcome, {incident: "resolved"}) == []
    # and one long over is not worth a message
    _, old = _outcome([1, 0, 0, 0, 0, 0])
    assert events(old) == []


def test_the_ledger_keeps_one_incident_when_late_labels_move_its_start():
    # first cycle: window 1 had no labels, the incident opened at window 2
    history, before = _outcome([0, 1, 1], labels=[True, False, True])
    (opened,) = events(before)
    assert opened == f"r@{history[2].window_key}|open"
    ledger = {opened.partition("|")[0]: "open"}
    # window 1's labels arrive: the incident now starts there; no second opening
    _, after = _outcome([0, 1, 1])
    assert after.decisions[1].acted
    assert events(after, ledger) == []
    # it clears: the incident people were told about is the one resolved
    _, cleared = _outcome([0, 1, 1, 0])
    assert events(cleared, ledger) == [f"r@{history[2].window_key}|resolved"]


def test_a_window_waiting_for_labels_resolves_nothing():
    history, outcome = _outcome([1, 1, 0], labels=[True, True, False])
    ledger = {f"r@{history[0].window_key}": "open"}
    assert outcome.decisions[-1].status == "firing"
    assert events(outcome, ledger) == []
