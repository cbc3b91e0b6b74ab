"""Sending an incident message to the configured alert sinks.

:func:`deliver` sends one :class:`Alert` to every sink and returns one :class:`Delivery` per
sink. It never raises: a sink that fails (bad or missing URL, refused connection, timeout,
HTTP error, unwritable file) gives ``ok=False`` with the reason, and the other sinks still get
the alert. HTTP sinks retry timeouts, connection errors, HTTP 429 and 5xx up to ``retries``
extra times, waiting ``backoff_s · 2**attempt`` seconds (or the server's ``Retry-After``), at
most 30 s per wait. A retried POST may arrive twice; receivers can de-duplicate on
``incident_id`` and ``status``.

    >>> from datetime import UTC, datetime
    >>> alert = Alert(
    ...     incident_id="inc-1", rule="usage_drift", severity="alert", status="open",
    ...     action="alert", summary="psi(usage) = 0.31 > 0.2", evidence={"psi": 0.31},
    ...     window_key="2026-02-02", at=datetime(2026, 2, 2, 6, tzinfo=UTC),
    ... )
    >>> alert.title()
    '[ALERT] usage_drift: psi(usage) = 0.31 > 0.2'
    >>> deliver(alert, [LogSink(type="log")], root=Path("."))
    [Delivery(sink='log warning', ok=True, attempts=1, error=None)]
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from driftpilot.alerts.config import JsonlSink, LogSink, Sink, SlackSink, WebhookSink

if TYPE_CHECKING:
    import httpx

__all__ = ["Alert", "Delivery", "deliver", "sink_label", "slack_message"]

logger = logging.getLogger("driftpilot.alerts")

MAX_WAIT_S = 30.0  # longest wait between two attempts, whatever backoff or Retry-After ask
_SLACK_TEXT = 3000  # Block Kit limit for a section's text
_SLACK_FIELD = 300  # a field may hold 2000 characters; a short list reads better
_SLACK_FIELDS = 10  # Block Kit limit for a section's fields


@dataclass(frozen=True)
class Alert:
    """One incident message: an incident opened or resolved by a policy rule."""

    incident_id: str
    rule: str
    severity: Literal["warn", "alert"]
    status: Literal["open", "resolved"]
    action: str
    summary: str
    evidence: dict[str, Any]
    window_key: str
    at: datetime

    def title(self) -> str:
        """``[ALERT] rule: summary``, ``[WARN] …`` or ``[RESOLVED] …``, on one line."""
        tag = "RESOLVED" if self.status == "resolved" else self.severity.upper()
        return " ".join(f"[{tag}] {self.rule}: {self.summary}".split())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``at`` in ISO 8601 UTC (naive is taken as UTC), NaN and ±inf as null."""
        at = self.at.replace(tzinfo=UTC) if self.at.tzinfo is None else self.at.astimezone(UTC)
        return {
            "incident_id": self.incident_id,
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "action": self.action,
            "title": self.title(),
            "summary": self.summary,
            "evidence": _json_safe(self.evidence),
            "window_key": self.window_key,
            "at": at.isoformat(),
        }


@dataclass(frozen=True)
class Delivery:
    """What became of one alert at one sink."""

    sink: str
    ok: bool
    attempts: int
    error: str | None = None


def deliver(
    alert: Alert,
    sinks: Sequence[Sink],
    *,
    root: Path,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Send ``alert`` to every sink; one :class:`Delivery` per sink, in order. Never raises."""
    out = []
    with _http_client(client, any(isinstance(s, WebhookSink | SlackSink) for s in sinks)) as http:
        for sink in sinks:
            try:
                delivery = _send(alert, sink, root=root, http=http, sleep=sleep)
            except Exception as exc:  # a sink must never stop the others
                delivery = Delivery(sink_label(sink), False, 1, f"{type(exc).__name__}: {exc}")
            if not delivery.ok:
                logger.warning(
                    "alert %s not delivered to %s after %d attempt(s): %s",
                    alert.incident_id,
                    delivery.sink,
                    delivery.attempts,
                    delivery.error,
                )
            out.append(delivery)
    return out


def sink_label(sink: Sink) -> str:
    """A readable name for a sink that carries no secret (no query string, no credentials)."""
    if isinstance(sink, LogSink):
        return f"log {sink.level}"
    if isinstance(sink, JsonlSink):
        return f"jsonl {sink.path}"
    if sink.url_env is not None:
        return f"{sink.type} (env {sink.url_env})"
    parts = urlsplit(sink.url or "")
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    # A Slack webhook's path is its secret, so only the host is shown.
    path = "/…" if isinstance(sink, SlackSink) and parts.path not in ("", "/") else parts.path
    return f"{sink.type} {parts.scheme}://{host}{path}"


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Block Kit message: the title and summary, the evidence as fields, then the context."""
    title = alert.title()
    blocks: list[dict[str, Any]] = [
        _section(f"*{_escape(title)}*"),
    ]
    evidence = _json_safe(alert.evidence)
    fields = [
        _mrkdwn(_clip(f"*{_escape(str(k))}*\n{_escape(_compact(v))}", _SLACK_FIELD))
        for k, v in list(evidence.items())[:_SLACK_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    context = (
        f"{alert.status} · {alert.severity} · action {alert.action} · "
        f"window {alert.window_key} · incident {alert.incident_id}"
    )
    blocks.append({"type": "context", "elements": [_mrkdwn(_clip(_escape(context), 2000))]})
    return {"text": _clip(title, _SLACK_TEXT), "blocks": blocks}


def _send(
    alert: Alert,
    sink: Sink,
    *,
    root: Path,
    http: httpx.Client | None,
    sleep: Callable[[float], None],
) -> Delivery:
    label = sink_label(sink)
    if isinstance(sink, LogSink):
        level = logging.getLevelNamesMapping()[sink.level.upper()]
        logger.log(level, "%s", alert.title(), extra={"alert": alert.to_dict()})
        return Delivery(label, True, 1)
    if isinstance(sink, JsonlSink):
        return Delivery(label, *_append(alert, root / Path(sink.path).expanduser()))
    body = slack_message(alert) if isinstance(sink, SlackSink) else alert.to_dict()
    if sink.url is not None:
        url = sink.url
    else:
        url = os.environ.get(sink.url_env or "", "").strip()
        if not url.lower().startswith(("http://", "https://")):
            found = "is not set" if not url else "does not hold an http:// or https:// URL"
            error = f"environment variable {sink.url_env} {found}; export it with the endpoint URL"
            return Delivery(label, False, 0, error)
    if http is None:  # unreachable: deliver opens a client whenever an HTTP sink is present
        return Delivery(label, False, 0, "no HTTP client")
    return Delivery(label, *_post(http, url, body, sink, sleep))


def _append(alert: Alert, path: Path) -> tuple[bool, int, str | None]:
    line = json.dumps(alert.to_dict(), ensure_ascii=False, allow_nan=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return False, 1, f"cannot append to {path}: {reason}; check the path is a writable file"
    return True, 1, None


def _post(
    http: httpx.Client,
    url: str,
    body: dict[str, Any],
    sink: WebhookSink | SlackSink,
    sleep: Callable[[float], None],
) -> tuple[bool, int, str | None]:
    import httpx

    content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "driftpilot", **sink.headers}
    error = ""
    for attempt in range(sink.retries + 1):
        retry_after = None
        try:
            response = http.post(url, content=content, headers=headers, timeout=sink.timeout_s)
        except httpx.TimeoutException as exc:
            error = f"timed out after {sink.timeout_s:g} s ({type(exc).__name__})"
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            error = f"connection failed ({type(exc).__name__}: {exc})"
        except httpx.HTTPError as exc:  # invalid URL, unsupported protocol: retrying cannot help
            return False, attempt + 1, f"request failed ({type(exc).__name__}: {exc})"
        else:
            if response.is_success:
                return True, attempt + 1, None
            error = f"HTTP {response.status_code} {response.reason_phrase}{_snippet(response)}"
            if response.status_code != 429 and response.status_code < 500:
                if response.is_redirect:
                    error += "; point the sink at the final URL"
                return False, attempt + 1, error
            retry_after = _retry_after(response.headers.get("Retry-After"))
        if attempt < sink.retries:
            wait = retry_after if retry_after is not None else sink.backoff_s * 2**attempt
            sleep(min(wait, MAX_WAIT_S))
    return False, sink.retries + 1, error


@contextmanager
def _http_client(given: httpx.Client | None, needed: bool) -> Iterator[httpx.Client | None]:
    if given is not None or not needed:
        yield given
        return
    import httpx

    with httpx.Client() as client:
        yield client


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _snippet(response: httpx.Response) -> str:
    try:
        text = " ".join(response.text.split())
    except Exception:  # an undecodable body says nothing useful
        return ""
    return f": {_clip(text, 200)}" if text else ""


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _json_safe(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _escape(text: str) -> str:
    """Slack mrkdwn gives &, < and > a meaning; escape them as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_clip(text, _SLACK_TEXT))}
