"""The model commands from the CLI, the policy's retrain action, window metrics in MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from driftpilot.cli import app
from driftpilot.demo.churn import ChurnScenario, story
from driftpilot.registry.client import Registry
from driftpilot.registry.monitoring import log_windows, read_metrics, window_values

from .conftest import CHURN_CONFIG, log_weeks, new_workspace

POLICY = """\
policy:
  rules:
    performance_drop: auc_drop > calibrated -> retrain
alerts:
  sinks: [{type: jsonl, path: alerts.jsonl}]
"""

runner = CliRunner()


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> dict:
    """A deployment registered from the CLI, six weeks logged, labels through week 8."""
    root = tmp_path_factory.mktemp("cli") / "ws"
    space = new_workspace(root, mlflow_template, CHURN_CONFIG + POLICY)
    scenario = ChurnScenario(seed=11, rows_per_week=6000)
    specs = story()
    data = root.parent / "training.parquet"
    pd.concat([scenario.week(i, specs[i]) for i in range(4)]).to_parquet(data, index=False)
    code, out = _cli("register", "--data", str(data), "-w", str(root))
    assert code == 0, out
    assert "version 1 → alias champion" in out
    closes = log_weeks(space, scenario, range(4, 10))
    return {"root": root, "space": space, "closes": closes, "data": data}


def test_register_records_the_training_data_and_lists_in_models(deployed: dict) -> None:
    code, out = _cli("models", "-w", str(deployed["root"]), "--format", "json")
    assert code == 0, out
    listed = json.loads(out)
    first = listed["versions"][0]
    assert first["aliases"] == ["champion"]
    assert first["tags"]["driftpilot.training_data"] == str(deployed["data"].resolve())
    assert listed["uri"].startswith("sqlite:///")
    code, out = _cli("models", "-w", str(deployed["root"]))
    assert code == 0
    assert "champion" in out


def test_the_policy_retrains_once_per_incident(deployed: dict) -> None:
    from driftpilot.policy.cycle import run_cycle

    space, close = deployed["space"], deployed["closes"][9]
    registry = Registry(space)
    before = len(registry.versions())
    first = run_cycle(space, now=close)
    assert not first.errors, first.errors
    assert [r.version.tag("decision") for r in first.retrains] != []
    done = first.retrains[0]
    opening = next(d for d in first.outcome.decisions if d.id == done.version.tag("decision"))
    assert opening.rule == "performance_drop"
    assert opening.acted  # keyed by the decision that opened the incident
    assert done.version.tag("parent") == "1"
    assert done.alias == "challenger"
    again = run_cycle(space, now=close)
    assert again.retrains == []
    assert len(registry.versions()) == before + 1
    code, out = _cli("check", "-w", str(deployed["root"]), "--format", "json", "--no-notify")
    body = json.loads(out)
    assert code == 2  # the incident is still open: alert
    assert body["retrains"] == []
    assert body["errors"] == []
    # window values went to the champion's monitoring run, one step per window
    metrics = read_metrics(registry, "1")
    assert [p.step for p in metrics["rows"]] == list(range(6))
    assert all(p.value == 6000 for p in metrics["rows"])


def test_retrain_command_for_a_decision_is_idempotent(deployed: dict) -> None:
    from driftpilot.policy.store import decision_rows

    root = str(deployed["root"])
    rows = [json.loads(r["decision"]) for r in decision_rows(deployed["space"], ["decision"])]
    opened = next(d for d in rows if d["rule"] == "performance_drop" and d["acted"])
    versions = len(Registry(deployed["space"]).versions())
    code, out = _cli("retrain", "--decision", opened["id"][:6], "-w", root, "--format", "json")
    assert code == 0, out
    body = json.loads(out)
    assert body["existing"] is True
    assert len(Registry(deployed["space"]).versions()) == versions


def test_manual_retrain_prints_the_comparison(deployed: dict) -> None:
    as_of = deployed["closes"][9].isoformat()
    code, out = _cli(
        "retrain", "--reason", "weekly refresh", "--as-of", as_of, "-w", str(deployed["root"])
    )
    bad = _cli("retrain", "--as-of", "yesterday", "-w", str(deployed["root"]))
    assert bad[0] == 3
    assert "--as-of: expected an ISO 8601 time" in bad[1]
    assert code in (0, 1), out  # 1: the candidate did not pass the gate
    assert "holdout (" in out
    assert "champion v1" in out
    assert "roc_auc region=" in out  # the segments with enough rows


def test_blending_with_the_original_training_data(deployed: dict) -> None:
    import yaml

    from driftpilot.config import parse_config
    from driftpilot.retrain.pipeline import retrain
    from driftpilot.workspace import Workspace

    data = yaml.safe_load(CHURN_CONFIG)
    data["retrain"]["blend"] = {"source": "training", "share": 0.5}
    space = Workspace(deployed["root"], parse_config(data))
    result = retrain(space, reason="blend", now=deployed["closes"][9])
    # 6,000 labeled rows of week 8 in the window: as many rows again from the training month
    assert result.training["blended"] == 6000
    assert result.training["train"] == 6000 + 4080
    assert result.version.tag("training_data") == str(deployed["data"].resolve())


def test_metrics_command_lists_window_values(deployed: dict) -> None:
    root = str(deployed["root"])
    code, out = _cli("metrics", "-w", root, "--metric", "performance.*", "--format", "json")
    assert code == 0, out
    found = json.loads(out)
    assert found["version"] == "1"
    assert set(found["metrics"]) >= {"performance.roc_auc", "performance.accuracy"}
    assert not any(k.startswith("drift.") for k in found["metrics"])
    code, out = _cli("metrics", "-w", root, "--last", "3")
    assert code == 0
    assert "drift.monthly_usage.psi" in out
    assert "w5" in out
    assert "w2" not in out  # --last 3 of steps 0–5
    code, out = _cli("metrics", "-w", root, "--version", "99")
    assert code == 3
    assert "has no version '99'" in out


def test_a_recomputed_window_logs_a_new_revision_that_reads_back_as_latest(
    deployed: dict,
) -> None:
    from driftpilot.monitor.report import history

    space = deployed["space"]
    registry = Registry(space)
    reports = history(space)
    last = reports[-1]
    changed = last.model_copy(update={"rows": last.rows + 1})
    log_windows(registry, reports, [changed], champion="1")
    log_windows(registry, reports, [last], champion="1")
    points = read_metrics(registry, "1")
    step = len(reports) - 1
    rows = {p.step: p for p in points["rows"]}
    revision = {p.step: p.value for p in points["revision"]}
    assert rows[step].value == last.rows  # the last one logged wins, not the larger one
    assert revision[step] >= 2
    assert rows[step].timestamp == int(last.window_end.timestamp() * 1000) + int(revision[step])


def test_window_values_are_flat_and_named_for_mlflow(deployed: dict) -> None:
    from driftpilot.monitor.report import history

    report = history(deployed["space"])[-2]
    values = window_values(report)
    assert values["rows"] == report.rows
    assert values["performance.roc_auc"] == pytest.approx(report.performance["roc_auc"])
    south = report.performance["by_segment"]["region"]["south"]["recall"]
    assert values["segment.region.south.recall"] == pytest.approx(south)
    assert values["drift.monthly_usage.psi"] == pytest.approx(
        report.features["monthly_usage"].statistics["psi"]
    )
    assert values["drifted.monthly_usage"] in (0.0, 1.0)
    assert all(isinstance(v, float) and v == v for v in values.values())


def test_import_an_existing_mlflow_model_by_uri(tmp_path: Path, mlflow_template: Path) -> None:
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    scenario = ChurnScenario(seed=5, rows_per_week=1500)
    frame = pd.concat([scenario.week(i) for i in range(4)], ignore_index=True)
    numeric = ["tenure", "monthly_usage", "support_calls", "age"]
    config = CHURN_CONFIG.replace(
        "model: {name: churn, task: binary}",
        "model:\n  name: churn\n  task: binary\n  features: {"
        + ", ".join(f"{n}: numeric" for n in numeric)
        + "}",
    )
    space = new_workspace(tmp_path / "ws", mlflow_template, config)
    model = LogisticRegression(max_iter=1000).fit(frame[numeric].fillna(0), frame["churn"])
    saved = tmp_path / "external-model"
    mlflow.sklearn.save_model(model, str(saved))
    data = tmp_path / "reference.parquet"
    frame.dropna(subset=numeric).to_parquet(data, index=False)
    code, out = _cli(
        "register", "--model-uri", str(saved), "--data", str(data), "-w", str(space.root)
    )
    assert code == 0, out
    registry = Registry(space)
    assert registry.alias("champion") == "1"
    loaded = registry.load("1")
    assert loaded.flavor == "sklearn"
    rows = frame.dropna(subset=numeric).head(50)
    assert loaded.score(rows) == pytest.approx(model.predict_proba(rows[numeric])[:, 1])
    assert space.reference().performance is not None
    code, out = _cli(
        "register",
        "--model-uri",
        str(tmp_path / "nothing"),
        "--data",
        str(data),
        "-w",
        str(space.root),
        "--force",
    )
    assert code == 3
    assert "error:" in out
