"""The ``alerts`` section of driftpilot.yaml: where incident messages go.

Each sink is chosen by its ``type``; a misspelt key or an unknown type is refused at load::

    alerts:
      sinks:
        - type: log                    # the driftpilot.alerts logger (the default sink)
          level: warning
        - type: jsonl                  # one JSON line per message, relative to the workspace
          path: alerts/alerts.jsonl
        - type: slack                  # a Slack-compatible incoming webhook
          url_env: SLACK_WEBHOOK_URL   # the URL is read from this variable when sending
        - type: webhook                # POST of the alert as JSON
          url: https://ops.example.com/hooks/driftpilot
          headers: {X-Team: ml}
          timeout_s: 5
          retries: 3                   # extra attempts on timeouts, connection errors, 429, 5xx
          backoff_s: 0.5               # waits 0.5 s, 1 s, 2 s … (at most 30 s)

This module imports only pydantic and the standard library: driftpilot.yaml is parsed when the
CLI starts, and sending (httpx) lives in :mod:`driftpilot.alerts.sinks`.

    >>> WebhookSink(type="webhook", url_env="OPS_HOOK").url_env
    'OPS_HOOK'
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AlertsConfig", "JsonlSink", "LogSink", "Sink", "SlackSink", "WebhookSink"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogSink(_Strict):
    """Log the alert's title on the ``driftpilot.alerts`` logger."""

    type: Literal["log"]
    level: Literal["warning", "error", "info"] = "warning"


class JsonlSink(_Strict):
    """Append each alert as one JSON line; a relative path is relative to the workspace root."""

    type: Literal["jsonl"]
    path: str = Field(min_length=1)


class _HttpSink(_Strict):
    """Fields shared by the webhook and Slack sinks."""

    url: str | None = Field(None, description="Endpoint; or use url_env to keep it out of YAML")
    url_env: str | None = Field(None, description="Environment variable holding the endpoint")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers")
    timeout_s: float = Field(5.0, gt=0, le=120, description="Per-attempt timeout in seconds")
    retries: int = Field(3, ge=0, le=10, description="Extra attempts after a retryable failure")
    backoff_s: float = Field(0.5, ge=0, le=60, description="First wait; doubles each retry")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ValueError(
                f"expected an http:// or https:// URL, got {_preview(url)!r}; "
                "write the full endpoint, e.g. https://hooks.example.com/driftpilot"
            )
        return url

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, name: str | None) -> str | None:
        if name is not None and not _ENV_NAME.match(name):
            raise ValueError(
                f"expected the name of an environment variable (letters, digits, _), got "
                f"{_preview(name)!r}; put the URL in that variable, or use 'url' for a literal URL"
            )
        return name

    @model_validator(mode="after")
    def _one_endpoint(self) -> _HttpSink:
        if (self.url is None) == (self.url_env is None):
            got = "both" if self.url is not None else "neither"
            raise ValueError(
                f"expected exactly one of 'url' or 'url_env', got {got}; set 'url' to the "
                "endpoint, or 'url_env' to the name of an environment variable holding it"
            )
        return self


class WebhookSink(_HttpSink):
    """POST the alert as JSON (:meth:`Alert.to_dict <driftpilot.alerts.sinks.Alert.to_dict>`)."""

    type: Literal["webhook"]


class SlackSink(_HttpSink):
    """POST a Block Kit message to a Slack-compatible incoming webhook."""

    type: Literal["slack"]


Sink = Annotated[LogSink | JsonlSink | WebhookSink | SlackSink, Field(discriminator="type")]


def _default_sinks() -> list[Sink]:
    return [LogSink(type="log")]


class AlertsConfig(_Strict):
    """Every incident message goes to every sink; without ``sinks`` it is only logged."""

    sinks: list[Sink] = Field(default_factory=_default_sinks)


def _preview(text: str) -> str:
    """Enough of a value to recognise it in an error, without echoing a secret in full."""
    return text if len(text) <= 12 else text[:12] + "…"
