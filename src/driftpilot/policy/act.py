"""Effects of a policy outcome: incident messages to the alert sinks, once each.

The ledger of sent messages (the workspace's ``alerts/`` table) is the truth about which
incidents people were told about. Each cycle compares it with the decisions:

- a rule firing on the latest window, or an incident that opened within the last
  ``policy.catch_up`` windows, is announced (``open``) unless the ledger already holds an
  open incident for that rule — late labels can move an incident's first window, and that
  is still the same incident, not a second one;
- an incident open in the ledger is resolved (``resolved``) once its rule is no longer
  active on the latest window it could be judged on.

A message is recorded once at least one sink took it, so a failing sink never blocks the
others and a message every sink refused is tried again next cycle. A ``retrain`` action is
announced like an alert and, until retraining is configured, only recorded.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from driftpilot.policy.store import record_sent, sent_ledger

if TYPE_CHECKING:
    from driftpilot.alerts.sinks import Alert, Delivery
    from driftpilot.policy.decide import Decision, Outcome
    from driftpilot.workspace import Workspace

__all__ = ["Sent", "incident_alerts", "notify"]


@dataclass(frozen=True)
class Sent:
    alert: Alert
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return any(d.ok for d in self.deliveries)


def incident_alerts(
    outcome: Outcome, now: datetime, *, catch_up: int, ledger: dict[str, str] | None = None
) -> list[tuple[str, Alert]]:
    """``(event id, alert)`` still to send; ``ledger`` maps incident ids to the last status
    sent (``open`` or ``resolved``)."""
    ledger = ledger or {}
    keys: list[str] = []
    by_rule: dict[str, list[Decision]] = defaultdict(list)
    for decision in outcome.decisions:
        if not keys or keys[-1] != decision.window_key:
            keys.append(decision.window_key)
        by_rule[decision.rule].append(decision)
    recent = set(keys[-catch_up:])
    open_rules = {i.rpartition("@")[0]: i for i, status in ledger.items() if status == "open"}
    out: list[tuple[str, Alert]] = []
    for rule, decisions in by_rule.items():
        last = decisions[-1]
        active = last.status in ("firing", "cooldown")
        if rule in open_rules:
            if not active:
                out.append(_resolved(open_rules[rule], last, now))
            continue
        for decision in decisions:
            incident = decision.incident
            if not decision.acted or incident is None or incident in ledger:
                continue
            if decision.window_key not in recent and incident != last.incident:
                continue  # long over: not worth a message now
            out.append((f"{incident}|open", _alert(decision, incident, "open", now)))
            closing = next((d for d in decisions if d.resolved == incident), None)
            if closing is not None:
                out.append(_resolved(incident, closing, now))
    return out


def _resolved(incident: str, decision: Decision, now: datetime) -> tuple[str, Alert]:
    return f"{incident}|resolved", _alert(decision, incident, "resolved", now)


def _alert(decision: Decision, incident: str, status: str, now: datetime) -> Alert:
    from driftpilot.alerts.sinks import Alert

    if status == "resolved":
        summary = f"{decision.rule} cleared at window {decision.window_key}"
    elif decision.action == "retrain":
        summary = f"retrain requested: {decision.summary}"
    else:
        summary = decision.summary
    return Alert(
        incident_id=incident,
        rule=decision.rule,
        severity=_severity(decision),
        status=status,  # type: ignore[arg-type]
        action=decision.action,
        summary=summary,
        evidence=_evidence(decision),
        window_key=decision.window_key,
        at=now,
    )


def _severity(decision: Decision) -> Any:
    return decision.severity


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
    ledger = sent_ledger(workspace)
    results, recorded, unsent = [], [], set()
    for event, alert in incident_alerts(
        outcome, now, catch_up=config.policy.catch_up, ledger=ledger
    ):
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
                    "sent_at": now,
                    "deliveries": json.dumps([d.__dict__ for d in deliveries]),
                }
            )
    record_sent(workspace, recorded)
    return results
