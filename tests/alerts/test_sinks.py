"""Alert sinks against real HTTP servers on 127.0.0.1: bodies, retries, timeouts, isolation."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from driftpilot.alerts import (
    Alert,
    AlertsConfig,
    JsonlSink,
    LogSink,
    SlackSink,
    WebhookSink,
    deliver,
    sink_label,
)

AT = datetime(2026, 2, 2, 6, 30, tzinfo=UTC)


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        incident_id="inc-7",
        rule="usage_drift",
        severity="alert",
        status="open",
        action="retrain",
        summary="psi(usage) = 0.31 > 0.2 in 2 of 3 windows",
        evidence={"psi": 0.31, "threshold": 0.2, "triggers": [{"name": "usage", "value": 0.31}]},
        window_key="2026-02-02",
        at=AT,
    )
    return replace(alert, **changes)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Server(ThreadingHTTPServer):
    """Answers POSTs with ``replies`` in turn (the last one repeats) and records each request."""

    daemon_threads = True

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()  # ends slow replies at teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook?token=secret"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closes the socket under a slow reply


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
            )
            index = min(len(self.server.requests), len(self.server.replies)) - 1
        reply = self.server.replies[index]
        if reply.delay:
            self.server.released.wait(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(*replies: Reply) -> Server:
        server = Server(list(replies) or [Reply()])
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.released.set()
        server.shutdown()
        server.server_close()


class Waits(list[float]):
    """Stands in for ``time.sleep`` and records the waits asked for."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def webhook(url: str, **changes: Any) -> WebhookSink:
    return WebhookSink(type="webhook", url=url, **changes)


def test_webhook_posts_the_alert_as_json(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(Reply(200))
    sink = webhook(server.url, headers={"X-Team": "ml"})
    [delivery] = deliver(make_alert(), [sink], root=tmp_path)
    assert delivery.ok, delivery.error
    assert (delivery.attempts, delivery.error) == (1, None)
    assert delivery.sink == f"webhook http://127.0.0.1:{server.server_port}/hook"  # no token
    [request] = server.requests
    assert request["path"] == "/hook?token=secret"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Team"] == "ml"
    body = request["json"]
    assert body == make_alert().to_dict()
    assert body["incident_id"] == "inc-7"
    assert body["status"] == "open"
    assert body["action"] == "retrain"
    assert body["at"] == "2026-02-02T06:30:00+00:00"
    assert body["evidence"]["triggers"] == [{"name": "usage", "value": 0.31}]


def test_slack_body_is_valid_block_kit(
    serve: Callable[..., Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(Reply(200))
    monkeypatch.setenv("SLACK_URL", server.url)
    sink = SlackSink(type="slack", url_env="SLACK_URL")
    evidence = {f"metric_{i}": i / 10 for i in range(15)} | {"note": "a < b & c" + "x" * 5000}
    alert = make_alert(summary="s" * 4000, evidence=evidence)
    [delivery] = deliver(alert, [sink], root=tmp_path)
    assert delivery.ok, delivery.error
    assert delivery.sink == "slack (env SLACK_URL)"
    body = server.requests[0]["json"]
    assert body["text"].startswith("[ALERT] usage_drift: sss")
    assert len(body["text"]) <= 3000
    head, fields, context = body["blocks"]
    assert head["type"] == "section"
    assert head["text"]["type"] == "mrkdwn"
    assert len(head["text"]["text"]) <= 3000
    assert fields["type"] == "section"
    assert 1 <= len(fields["fields"]) <= 10
    assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in fields["fields"])
    assert fields["fields"][0]["text"] == "*metric_0*\n0.0"
    assert context["type"] == "context"
    assert "inc-7" in context["elements"][0]["text"]


def test_slack_message_escapes_mrkdwn_and_skips_empty_evidence(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(Reply(200))
    sink = SlackSink(type="slack", url=server.url)
    alert = make_alert(summary="auc < 0.8 & falling", evidence={}, status="resolved")
    [delivery] = deliver(alert, [sink], root=tmp_path)
    assert delivery.ok, delivery.error
    body = server.requests[0]["json"]
    assert body["text"] == "[RESOLVED] usage_drift: auc < 0.8 & falling"
    assert [b["type"] for b in body["blocks"]] == ["section", "context"]
    assert "auc &lt; 0.8 &amp; falling" in body["blocks"][0]["text"]["text"]


def test_slow_server_times_out_after_every_attempt(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(Reply(200, delay=5))
    sink = webhook(server.url, timeout_s=0.2, retries=2, backoff_s=0.1)
    waits = Waits()
    started = time.monotonic()
    [delivery] = deliver(make_alert(), [sink], root=tmp_path, sleep=waits)
    elapsed = time.monotonic() - started
    assert not delivery.ok
    assert delivery.attempts == 3
    assert "timed out after 0.2 s" in (delivery.error or "")
    assert waits == [0.1, 0.2]
    assert elapsed < 2.0


def test_server_errors_are_retried_until_success(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(Reply(500), Reply(503), Reply(200))
    waits = Waits()
    [delivery] = deliver(make_alert(), [webhook(server.url)], root=tmp_path, sleep=waits)
    assert delivery.ok, delivery.error
    assert delivery.attempts == 3
    assert len(server.requests) == 3
    assert waits == [0.5, 1.0]  # backoff_s · 2**attempt


def test_a_failing_sink_does_not_stop_the_others(
    serve: Callable[..., Server], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken, working = serve(Reply(500)), serve(Reply(200))
    sinks = [
        webhook(broken.url, retries=2),
        JsonlSink(type="jsonl", path="out/alerts.jsonl"),
        webhook(working.url),
        LogSink(type="log"),
    ]
    deliveries = deliver(make_alert(), sinks, root=tmp_path, sleep=Waits())
    assert [d.ok for d in deliveries] == [False, True, True, True]
    assert deliveries[0].attempts == 3
    assert (deliveries[0].error or "").startswith("HTTP 500 Internal Server Error")
    assert len(broken.requests) == 3
    assert len(working.requests) == 1
    assert len((tmp_path / "out/alerts.jsonl").read_text().splitlines()) == 1
    assert any("not delivered" in r.getMessage() for r in caplog.records)


def test_client_errors_are_not_retried(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(Reply(404))
    waits = Waits()
    [delivery] = deliver(make_alert(), [webhook(server.url)], root=tmp_path, sleep=waits)
    assert not delivery.ok
    assert delivery.attempts == 1
    assert (delivery.error or "").startswith("HTTP 404 Not Found")
    assert len(server.requests) == 1
    assert waits == []


def test_retry_after_is_honoured_and_capped(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(
        Reply(429, {"Retry-After": "7"}),
        Reply(429, {"Retry-After": "3600"}),
        Reply(200),
    )
    waits = Waits()
    [delivery] = deliver(make_alert(), [webhook(server.url)], root=tmp_path, sleep=waits)
    assert delivery.ok, delivery.error
    assert delivery.attempts == 3
    assert waits == [7.0, 30.0]


def test_backoff_is_capped_at_30_seconds(serve: Callable[..., Server], tmp_path: Path) -> None:
    server = serve(Reply(503))
    waits = Waits()
    sink = webhook(server.url, retries=2, backoff_s=20)
    [delivery] = deliver(make_alert(), [sink], root=tmp_path, sleep=waits)
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert waits == [20.0, 30.0]


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    sink = webhook(f"http://127.0.0.1:{port}/hook", retries=1)
    waits = Waits()
    [delivery] = deliver(make_alert(), [sink], root=tmp_path, sleep=waits)
    assert not delivery.ok
    assert delivery.attempts == 2
    assert "connection failed (ConnectError" in (delivery.error or "")
    assert waits == [0.5]


@pytest.mark.parametrize("value", [None, "", "not-a-url"])
def test_url_env_unset_or_wrong_names_the_variable(
    value: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("DP_TEST_HOOK", raising=False)
    else:
        monkeypatch.setenv("DP_TEST_HOOK", value)
    sinks = [
        SlackSink(type="slack", url_env="DP_TEST_HOOK"),
        JsonlSink(type="jsonl", path="a.jsonl"),
    ]
    missing, written = deliver(make_alert(), sinks, root=tmp_path)
    assert not missing.ok
    assert missing.attempts == 0
    assert "environment variable DP_TEST_HOOK" in (missing.error or "")
    assert written.ok


def test_unexpected_failure_is_reported_not_raised(tmp_path: Path) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("transport bug")

    with httpx.Client(transport=httpx.MockTransport(explode)) as client:
        [delivery] = deliver(
            make_alert(), [webhook("https://example.invalid/x")], root=tmp_path, client=client
        )
    assert not delivery.ok
    assert delivery.error == "RuntimeError: transport bug"


def test_jsonl_appends_one_line_per_alert(tmp_path: Path) -> None:
    sink = JsonlSink(type="jsonl", path="deep/er/alerts.jsonl")
    first = make_alert()
    second = make_alert(status="resolved", evidence={"psi": math.nan, "at": AT})
    assert deliver(first, [sink], root=tmp_path)[0].ok
    [delivery] = deliver(second, [sink], root=tmp_path)
    assert delivery.ok, delivery.error
    assert delivery.sink == "jsonl deep/er/alerts.jsonl"
    lines = (tmp_path / "deep/er/alerts.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [first.to_dict(), second.to_dict()]
    assert json.loads(lines[1])["evidence"] == {"psi": None, "at": "2026-02-02T06:30:00+00:00"}


def test_jsonl_unwritable_path_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    [delivery] = deliver(make_alert(), [JsonlSink(type="jsonl", path="taken")], root=tmp_path)
    assert not delivery.ok
    assert (delivery.error or "").startswith(f"cannot append to {tmp_path / 'taken'}")


def test_log_sink_logs_the_title_at_its_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="driftpilot.alerts")
    [delivery] = deliver(
        make_alert(severity="warn"), [LogSink(type="log", level="error")], root=tmp_path
    )
    assert delivery.ok
    [record] = caplog.records
    assert record.name == "driftpilot.alerts"
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "[WARN] usage_drift: psi(usage) = 0.31 > 0.2 in 2 of 3 windows"


def test_to_dict_is_json_safe_and_utc() -> None:
    naive = make_alert(at=datetime(2026, 2, 2, 6, 30), summary="two\nlines")
    data = naive.to_dict()
    assert data["at"] == "2026-02-02T06:30:00+00:00"
    assert data["title"] == "[ALERT] usage_drift: two lines"
    json.dumps(data, allow_nan=False)


def test_sink_labels_hide_secrets() -> None:
    assert sink_label(webhook("https://user:pw@ops.example.com:8443/h?k=s")) == (
        "webhook https://ops.example.com:8443/h"
    )
    slack = SlackSink(type="slack", url="https://hooks.slack.com/services/T0/B0/XYZ")
    assert sink_label(slack) == "slack https://hooks.slack.com/…"
    assert sink_label(LogSink(type="log", level="info")) == "log info"


def test_default_config_logs() -> None:
    assert AlertsConfig().sinks == [LogSink(type="log")]
    config = AlertsConfig.model_validate(
        {"sinks": [{"type": "slack", "url_env": "SLACK_URL"}, {"type": "jsonl", "path": "a"}]}
    )
    assert isinstance(config.sinks[0], SlackSink)
    assert config.sinks[0].retries == 3


@pytest.mark.parametrize(
    ("sink", "expected"),
    [
        ({"type": "webhook", "url": "https://a.b/c", "url_env": "HOOK"}, "exactly one of 'url'"),
        ({"type": "slack"}, "exactly one of 'url' or 'url_env', got neither"),
        ({"type": "webhook", "url": "ftp://a.b/c"}, "sinks.0.webhook.url\n"),
        ({"type": "webhook", "url": "ftp://a.b/c"}, "expected an http:// or https:// URL"),
        ({"type": "webhook", "url_env": "https://a.b"}, "sinks.0.webhook.url_env\n"),
        ({"type": "email", "to": "ops@example.com"}, "'log', 'jsonl', 'webhook', 'slack'"),
        ({"type": "webhook", "url": "https://a.b", "timout_s": 3}, "timout_s"),
        ({"type": "webhook", "url": "https://a.b", "retries": 11}, "sinks.0.webhook.retries"),
        ({"type": "webhook", "url": "https://a.b", "timeout_s": 0}, "sinks.0.webhook.timeout_s"),
    ],
)
def test_config_errors_name_the_field(sink: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        AlertsConfig.model_validate({"sinks": [sink]})
    assert expected in str(info.value)


# the contract every sink keeps ---------------------------------------------------------------

SINK_TYPES = ["log", "jsonl", "webhook", "slack"]


def _sink(kind: str, where: str | Path) -> Any:
    if kind == "log":
        return LogSink(type="log")
    if kind == "jsonl":
        return JsonlSink(type="jsonl", path=str(where))
    model = WebhookSink if kind == "webhook" else SlackSink
    return model(type=kind, url=str(where), retries=0, timeout_s=0.5)


@pytest.mark.parametrize("kind", SINK_TYPES)
def test_contract_a_working_sink_takes_the_alert_once(
    kind: str, serve: Callable[..., Server], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve()
    where = server.url if kind in ("webhook", "slack") else tmp_path / "alerts.jsonl"
    with caplog.at_level(logging.INFO, logger="driftpilot.alerts"):
        (delivery,) = deliver(make_alert(), [_sink(kind, where)], root=tmp_path, sleep=Waits())
    assert delivery.ok, delivery.error
    assert delivery.attempts == 1
    assert delivery.error is None
    received = {
        "log": lambda: [r for r in caplog.records if "usage_drift" in r.getMessage()],
        "jsonl": lambda: (tmp_path / "alerts.jsonl").read_text().splitlines(),
        "webhook": lambda: server.requests,
        "slack": lambda: server.requests,
    }[kind]()
    assert len(received) == 1


@pytest.mark.parametrize("kind", ["jsonl", "webhook", "slack"])
def test_contract_a_broken_sink_reports_and_never_raises(kind: str, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    blocked = tmp_path / "file"
    blocked.write_text("")
    where = closed if kind in ("webhook", "slack") else blocked / "alerts.jsonl"
    sinks = [_sink(kind, where), LogSink(type="log")]
    broken, logged = deliver(make_alert(), sinks, root=tmp_path, sleep=Waits())
    assert not broken.ok
    assert broken.error
    assert broken.sink == sink_label(sinks[0])
    assert logged.ok  # the next sink still got the alert
