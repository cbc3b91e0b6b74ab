"""Alert sinks: where the policy engine's incident messages go.

:mod:`driftpilot.alerts.config` holds the ``alerts`` section of driftpilot.yaml (pydantic only);
:mod:`driftpilot.alerts.sinks` sends an :class:`Alert` to every sink with :func:`deliver`.
Neither imports httpx until a message is actually posted.
"""

from driftpilot.alerts.config import AlertsConfig, JsonlSink, LogSink, Sink, SlackSink, WebhookSink
from driftpilot.alerts.sinks import Alert, Delivery, deliver, sink_label, slack_message

__all__ = [
    "Alert",
    "AlertsConfig",
    "Delivery",
    "JsonlSink",
    "LogSink",
    "Sink",
    "SlackSink",
    "WebhookSink",
    "deliver",
    "sink_label",
    "slack_message",
]
