"""`driftpilot check`, `explain`, `run`, the textfile and /metrics on a logged workspace."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from driftpilot.cli import app
from driftpilot.policy import cycle
from driftpilot.policy.cycle import next_close, run_cycle, run_schedule
from driftpilot.policy.store import sent_rows
from driftpilot.serve.app import create_app
from driftpilot.workspace import Workspace
from tests.monitor.test_job import log_week, logged_week, make_workspace, weeks

POLICY = """
policy:
  rules:
    floor: accuracy < 0.99 -> retrain
    never: {when: "accuracy < 0.01", severity: warn}
schedule: {textfile: metrics/driftpilot.prom}
alerts:
  sinks:
    - {type: jsonl, path: alerts.jsonl}
"""


def _workspace(root, extra: str = POLICY) -> Workspace:
    space = make_workspace(root)
    with open(space.config_path, "a") as config:
        config.write(extra)
    space = Workspace.open(root)
    s, specs = weeks()
    for i in range(4, 7):
        log_week(space, logged_week(s, specs, i), labels=True)
    return space


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    space = _workspace(root)
    result = CliRunner().invoke(app, ["check", "-w", str(root)])
    return space, result


def test_check_exits_with_the_level_and_prints_the_decisions(checked) -> None:
    _, result = checked
    assert result.exit_code == 2, result.output
    assert "floor" in result.output
    assert "sent: [ALERT] floor: retrain requested" in result.output
    assert "level: alert (exit 2)" in result.output


def test_one_message_per_incident_across_runs(checked) -> None:
    space, _ = checked
    lines = (space.root / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 1
    message = json.loads(lines[0])
    assert message["status"] == "open"
    assert message["rule"] == "floor"
    assert message["action"] == "retrain"
    assert message["evidence"]["triggers"][0]["met"] is True
    again = CliRunner().invoke(app, ["check", "-w", str(space.root)])
    assert again.exit_code == 2
    assert len((space.root / "alerts.jsonl").read_text().splitlines()) == 1


def test_explain_prints_the_evidence(checked) -> None:
    space, _ = checked
    result = CliRunner().invoke(
        app, ["check", "-w", str(space.root), "--format", "json", "--no-notify"]
    )
    body = json.loads(result.stdout)
    decision = next(d for d in body["decisions"] if d["rule"] == "floor")
    explained = CliRunner().invoke(app, ["explain", decision["id"][:6], "-w", str(space.root)])
    assert explained.exit_code == 0, explained.output
    assert f"decision {decision['id']}: rule floor" in explained.output
    assert "✔ accuracy < 0.99" in explained.output
    assert "(threshold 0.99)" in explained.output
    missing = CliRunner().invoke(app, ["explain", "ffffffffffff", "-w", str(space.root)])
    assert missing.exit_code == 3
    assert "is not a stored decision" in missing.output


def test_textfile_and_metrics_endpoint_show_rule_states(checked) -> None:
    space, _ = checked
    text = (space.root / "metrics" / "driftpilot.prom").read_text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    active = {s.labels["rule"]: s.value for s in families["driftpilot_rule_active"].samples}
    assert active == {"floor": 1.0, "never": 0.0}
    assert families["driftpilot_policy_level"].samples[0].value == 2.0
    assert families["driftpilot_window_rows"].samples[0].value == 3000
    performance = {
        (s.labels["metric"], s.labels["segment"]): s.value
        for s in families["driftpilot_performance"].samples
    }
    assert 0.5 < performance[("accuracy", "")] < 1.0
    assert any(segment.startswith("region=") for _, segment in performance)
    with TestClient(create_app(space)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "driftpilot_rule_active" in response.text


def test_a_failing_sink_never_stops_the_cycle_and_is_retried(tmp_path) -> None:
    closed = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    extra = POLICY.replace(
        "- {type: jsonl, path: alerts.jsonl}",
        f"- {{type: webhook, url: '{closed}', retries: 0, timeout_s: 0.5}}",
    )
    space = _workspace(tmp_path, extra)
    first = run_cycle(space)
    assert first.outcome.level == "alert"
    assert [s.ok for s in first.sent] == [False]
    assert sent_rows(space) == []  # not recorded: the next run tries again
    assert [s.ok for s in run_cycle(space).sent] == [False]


def test_scheduler_retries_a_failing_cycle_and_lives_on(tmp_path, monkeypatch) -> None:
    space = _workspace(tmp_path)
    calls: list[str] = []
    real = cycle.run_cycle

    def flaky(workspace, **kwargs):
        calls.append("call")
        if len(calls) == 1:
            raise RuntimeError("the disk hiccuped")
        return real(workspace, **kwargs)

    monkeypatch.setattr(cycle, "run_cycle", flaky)
    stop = threading.Event()
    retry = space.config.schedule.model_copy(update={"retry": "0.1s", "interval": "0.1s"})
    space = Workspace(space.root, space.config.model_copy(update={"schedule": retry}))
    good = run_schedule(space, stop=stop, cycles=3, handle_signals=False)
    assert calls == ["call"] * 3
    assert good == 2


def test_next_close_of_each_window_kind() -> None:
    now = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday
    assert next_close(now, "hour") == datetime(2026, 3, 4, 16, tzinfo=UTC)
    assert next_close(now, "day") == datetime(2026, 3, 5, tzinfo=UTC)
    assert next_close(now, "week") == datetime(2026, 3, 9, tzinfo=UTC)  # Monday
    assert next_close(now, "month") == datetime(2026, 4, 1, tzinfo=UTC)
    assert next_close(now, "rows") is None


def test_run_stops_gracefully_on_sigterm(tmp_path) -> None:
    space = _workspace(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "driftpilot", "run", "-w", str(space.root)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (space.root / "metrics" / "driftpilot.prom").exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "cycle done" in err
    assert "scheduler stopped after 1 good cycles" in err


def test_check_exits_3_when_the_cycle_itself_fails(tmp_path) -> None:
    space = _workspace(
        tmp_path, POLICY.replace("metrics/driftpilot.prom", "driftpilot.yaml/x.prom")
    )
    result = CliRunner().invoke(app, ["check", "-w", str(space.root)])
    assert result.exit_code == 3
    assert "the policy cycle failed" in result.output
