"""Effects of a policy outcome: incident messages to the alert sinks, once each.

An incident that opened (or resolved) in one of the last ``policy.catch_up`` judged windows and
was not announced yet is sent to every sink; it is recorded as sent when at least one sink
took it, so a failing sink never blocks the others and a run where every sink failed tries
again next time. Older events are not sent (a first run over a long history does not flood the
channel with incidents long gone). A ``retrain`` action is announced like an alert and, until
retraining is configured, only recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from driftpilot.policy.store import record_sent, sent_events

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


def incident_alerts(outcome: Outcome, now: datetime, *, catch_up: int) -> list[tuple[str, Alert]]:
    """``(event id, alert)`` for incidents opened or resolved in the last ``catch_up`` windows."""
    from driftpilot.alerts.sinks import Alert

    keys: list[str] = []
    for decision in outcome.decisions:
        if not keys or keys[-1] != decision.window_key:
            keys.append(decision.window_key)
    recent = set(keys[-catch_up:])
    out = []
    for decision in outcome.actions:
        if decision.window_key not in recent:
            continue
        if decision.resolved:
            out.append(
                (
                    f"{decision.resolved}|resolved",
                    Alert(
                        incident_id=decision.resolved,
                        rule=decision.rule,
                        severity=_severity(decision),
                        status="resolved",
                        action=decision.action,
                        summary=f"{decision.rule} cleared at window {decision.window_key}",
                        evidence=_evidence(decision),
                        window_key=decision.window_key,
                        at=now,
                    ),
                )
            )
        if decision.acted and decision.incident:
            verb = "retrain requested" if decision.action == "retrain" else "alert"
            out.append(
                (
                    f"{decision.incident}|open",
                    Alert(
                        incident_id=decision.incident,
                        rule=decision.rule,
                        severity=_severity(decision),
                        status="open",
                        action=decision.action,
                        summary=f"{verb}: {decision.summary}",
                        evidence=_evidence(decision),
                        window_key=decision.window_key,
                        at=now,
                    ),
                )
            )
    return out


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
    done = sent_events(workspace)
    results, recorded = [], []
    for event, alert in incident_alerts(outcome, now, catch_up=config.policy.catch_up):
        if event in done:
            continue
        deliveries = list(send(alert, config.alerts.sinks, root=workspace.root))
        sent = Sent(alert, deliveries)
        results.append(sent)
        if sent.ok:
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
