"""Effects of a policy outcome: incident messages to the alert sinks, once each.

The ledger of sent messages (the workspace's ``alerts/`` table) is the truth about what
people were told. Each cycle compares it, rule by rule, with the decisions:

- the ledger holds an open incident of the rule: it is resolved once the rule is no longer
  active on its latest window (or the rule left the policy); while the rule stays active
  nothing is sent — late labels can move an incident's first window, and that is still the
  same incident, not a second one;
- nothing is open and the rule is firing on its latest window: the incident is announced
  (again, if it had been resolved and its windows turned bad once more as labels arrived);
- nothing is open and the rule is quiet: incidents that opened and closed within the last
  ``policy.catch_up`` windows, after the last window the ledger knows of for the rule, are
  announced with their resolution (a cycle that ran late does not hide them; one over a
  long history does not flood the channel).

A message is recorded once at least one sink took it, so a failing sink never blocks the
others and a message every sink refused is tried again next cycle. A ``retrain`` action is
announced like an alert, and :func:`retrain_requests` names the decisions a cycle retrains
for: one per incident of a ``retrain`` rule that is firing on the latest window, keyed by the
decision that opened it (as the ledger knows it, so late labels that move the incident's start
do not ask for a second retrain).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftpilot.policy.decide import CHECK_PREFIX
from driftpilot.policy.store import record_sent, sent_rows

if TYPE_CHECKING:
    from driftpilot.alerts.sinks import Alert, Delivery
    from driftpilot.policy.decide import Decision, Outcome
    from driftpilot.workspace import Workspace

__all__ = ["Sent", "incident_alerts", "notify", "retrain_requests"]


@dataclass(frozen=True)
class Sent:
    alert: Alert
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return any(d.ok for d in self.deliveries)


@dataclass
class _RuleLedger:
    open: str | None = None  # the incident people were told is open
    last_window: str | None = None  # the latest window a message was about
    events: set[str] = field(default_factory=set)


def _ledgers(rows: Sequence[dict[str, Any]]) -> dict[str, _RuleLedger]:
    """Per rule, from the sent messages in the order they were sent."""
    out: dict[str, _RuleLedger] = defaultdict(_RuleLedger)
    for row in sorted(rows, key=lambda r: (r["sent_at"], r["event"])):
        ledger = out[row["rule"]]
        ledger.events.add(row["event"])
        ledger.open = row["incident"] if row["status"] == "open" else None
        ledger.last_window = row["window_key"]
    return out


def incident_alerts(
    outcome: Outcome,
    now: datetime,
    *,
    catch_up: int,
    sent: Sequence[dict[str, Any]] = (),
) -> list[tuple[str, Alert]]:
    """``(event id, alert)`` still to send, given the ledger rows ``sent``."""
    # windows and feature checks are two series: catching up counts within each
    lanes: dict[bool, list[str]] = {False: [], True: []}
    by_rule: dict[str, list[Decision]] = defaultdict(list)
    for decision in outcome.decisions:
        lane = lanes[decision.window_key.startswith(CHECK_PREFIX)]
        if not lane or lane[-1] != decision.window_key:
            lane.append(decision.window_key)
        by_rule[decision.rule].append(decision)
    position = {key: i for lane in lanes.values() for i, key in enumerate(lane)}
    recent = {key: len(lane) - catch_up for lane in lanes.values() for key in lane}
    ledgers = _ledgers(sent)
    out: list[tuple[str, Alert]] = []
    for rule, ledger in ledgers.items():  # rules that left the policy with an incident open
        if ledger.open is not None and rule not in by_rule:
            alert = _alert(None, ledger.open, "resolved", now, rule=rule)
            out.append((_new_event(ledger.open, "resolved", ledger), alert))
    for rule, decisions in by_rule.items():
        ledger = ledgers.get(rule, _RuleLedger())
        last = decisions[-1]
        if ledger.open is not None:
            if last.status not in ("firing", "cooldown"):
                out.append(_resolved(ledger.open, last, now, ledger))
            continue
        if last.status == "firing" and last.incident is not None:
            out.append(
                (
                    _new_event(last.incident, "open", ledger),
                    _alert(last, last.incident, "open", now),
                )
            )
            continue
        known = position.get(ledger.last_window or "", -1)
        for decision in decisions:
            incident = decision.incident
            at = position[decision.window_key]
            if not decision.acted or incident is None or at < recent[decision.window_key]:
                continue
            if at <= known and _same_lane(decision.window_key, ledger.last_window):
                continue
            out.append(
                (_new_event(incident, "open", ledger), _alert(decision, incident, "open", now))
            )
            closing = next((d for d in decisions if d.resolved == incident), None)
            if closing is not None:
                out.append(_resolved(incident, closing, now, ledger))
    return out


def _same_lane(key: str, other: str | None) -> bool:
    return other is not None and key.startswith(CHECK_PREFIX) == other.startswith(CHECK_PREFIX)


def _new_event(incident: str, status: str, ledger: _RuleLedger) -> str:
    """An event id not in the ledger (an incident announced again gets ``#2``, ``#3``…)."""
    event, n = f"{incident}|{status}", 1
    while event in ledger.events:
        n += 1
        event = f"{incident}|{status}#{n}"
    return event


def _resolved(
    incident: str, decision: Decision, now: datetime, ledger: _RuleLedger
) -> tuple[str, Alert]:
    return _new_event(incident, "resolved", ledger), _alert(decision, incident, "resolved", now)


def _alert(
    decision: Decision | None, incident: str, status: str, now: datetime, *, rule: str = ""
) -> Alert:
    from driftpilot.alerts.sinks import Alert

    if decision is None:  # the rule left the policy: its open incident is closed
        return Alert(
            incident_id=incident,
            rule=rule,
            severity="warn",
            status="resolved",
            action="alert",
            summary=f"{rule} is no longer in the policy; its incident is closed",
            evidence={},
            window_key="",
            at=now,
        )
    if status == "resolved":
        summary = f"{decision.rule} cleared at window {decision.window_key}"
    elif decision.action == "retrain":
        summary = f"retrain requested: {decision.summary}"
    else:
        summary = decision.summary
    return Alert(
        incident_id=incident,
        rule=decision.rule,
        severity=decision.severity,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        action=decision.action,
        summary=summary,
        evidence=_evidence(decision),
        window_key=decision.window_key,
        at=now,
    )


def _evidence(decision: Decision) -> dict[str, Any]:
    return {
        "decision_id": decision.id,
        "condition": decision.when,
        "window": decision.window_key,
        "persistence": decision.persistence,
        "triggers": [e.to_dict() for e in decision.evidence],
    }


def notify(
    workspace: Workspace,
    outcome: Outcome,
    now: datetime,
    *,
    deliver: Callable[..., Sequence[Delivery]] | None = None,
) -> list[Sent]:
    """Send the incident messages not sent yet; never raises because a sink failed."""
    from driftpilot.alerts.sinks import deliver as deliver_to_sinks

    send = deliver or deliver_to_sinks
    config = workspace.config
    results, recorded, unsent = [], [], set()
    found = incident_alerts(
        outcome, now, catch_up=config.policy.catch_up, sent=sent_rows(workspace)
    )
    for order, (event, alert) in enumerate(found):
        if alert.incident_id in unsent:
            continue  # its opening was not delivered: no resolution without it
        deliveries = list(send(alert, config.alerts.sinks, root=workspace.root))
        sent = Sent(alert, deliveries)
        results.append(sent)
        if not sent.ok:
            unsent.add(alert.incident_id)
        else:
            recorded.append(
                {
                    "event": event,
                    "incident": alert.incident_id,
                    "status": alert.status,
                    "rule": alert.rule,
                    "window_key": alert.window_key,
                    "sent_at": now + timedelta(microseconds=order),  # keeps the order
                    "deliveries": json.dumps([d.__dict__ for d in deliveries]),
                }
            )
    record_sent(workspace, recorded)
    return results


def retrain_requests(outcome: Outcome, sent: Sequence[dict[str, Any]] = ()) -> list[Decision]:
    """The opening decision of each firing incident whose rule's action is ``retrain``."""
    ledgers = _ledgers(sent)
    out: list[Decision] = []
    for decision in outcome.latest():
        if decision.action != "retrain" or decision.status != "firing":
            continue
        incident = ledgers[decision.rule].open if decision.rule in ledgers else None
        incident = incident or decision.incident
        opened = incident.split("@", 1)[1] if incident and "@" in incident else None
        opening = next(
            (d for d in outcome.decisions if d.rule == decision.rule and d.window_key == opened),
            decision,
        )
        out.append(opening)
    return out
