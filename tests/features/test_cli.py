"""driftpilot features apply|materialize|status|get|drift, from a fresh `init --features`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from driftpilot.cli import app
from driftpilot.features.demo_repo import write_view_rows
from tests.features.conftest import rows

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_the_feature_commands_from_init_to_drift(tmp_path) -> None:
    root = tmp_path / "ws"
    made = run("init", str(root), "--features")
    assert made.exit_code == 0, made.output
    assert (root / "features" / "definitions.py").is_file()
    source = rows()
    write_view_rows(root / "features", source, "weeks-00-01")
    applied = run("features", "apply", "-w", str(root))
    assert applied.exit_code == 0, applied.output
    assert "customer_usage_v2 (v2): monthly_usage" in applied.output
    wrong = run("features", "materialize", "-w", str(root), "--view", "customer_usage_v3")
    assert wrong.exit_code == 3
    assert "no feature views ['customer_usage_v3']" in wrong.output
    done = run("features", "materialize", "-w", str(root), "--at", "2026-01-19T00:00")
    assert done.exit_code == 0, done.output
    assert "customer_profile_v1: 2025-12-20T00:00:00+00:00 → 2026-01-19T00:00:00+00:00" in (
        done.output
    )
    fresh = run("features", "status", "-w", str(root), "--at", "2026-01-19T06:00")
    assert fresh.exit_code == 0, fresh.output
    assert "fresh" in fresh.output
    stale = run("features", "status", "-w", str(root), "--at", "2026-01-26", "--format", "json")
    assert stale.exit_code == 2
    assert sorted(json.loads(stale.output)["stale_views"]) == [
        "customer_profile_v1",
        "customer_usage_v2",
    ]
    entity = str(source.customer_id.iloc[-1])
    got = run("features", "get", entity, "--feature", "tenure", "-w", str(root))
    assert got.exit_code == 0, got.output
    tenure = json.loads(got.output)["entities"][0]["features"]["tenure"]
    assert tenure["value"] == source.tenure.iloc[-1]
    bad_time = run("features", "status", "-w", str(root), "--at", "yesterday")
    assert bad_time.exit_code == 3
    assert "--at: expected an ISO date" in bad_time.output
