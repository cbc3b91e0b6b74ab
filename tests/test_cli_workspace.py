"""The workspace commands, end to end through the command line."""

import json

import orjson
import pandas as pd
from typer.testing import CliRunner

from driftpilot.cli import ERROR_EXIT, app
from driftpilot.demo import ChurnScenario, story

runner = CliRunner()
CONFIG = """columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn}
monitor: {window: week}
"""


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_init_profile_ingest_monitor_report_compact(tmp_path) -> None:
    ws = tmp_path / "ws"
    assert run("init", str(ws)).exit_code == 0
    (ws / "driftpilot.yaml").write_text(CONFIG)
    s, specs = ChurnScenario(seed=2, rows_per_week=1000), story()
    reference = s.weeks(specs[:4])
    reference["score"] = s.churn_probability(reference)
    reference.to_parquet(tmp_path / "ref.parquet", index=False)
    result = run("profile", str(tmp_path / "ref.parquet"), "-w", str(ws))
    assert result.exit_code == 0, result.output
    assert (ws / "reference.json").is_file()
    weeks = []
    for i in (4, 6):
        week = s.week(i, specs[i])
        week["score"] = s.churn_probability(week)
        week["prediction_id"] = [f"w{i}-{k}" for k in range(len(week))]
        weeks.append(week)
    preds = [w.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"}) for w in weeks]
    preds[0].to_parquet(tmp_path / "week4.parquet", index=False)
    preds[1].to_csv(tmp_path / "week6.csv", index=False)
    result = run(
        "ingest",
        "predictions",
        str(tmp_path / "week4.parquet"),
        str(tmp_path / "week6.csv"),
        "-w",
        str(ws),
    )
    assert result.exit_code == 0, result.output
    assert "logged 2,000 predictions" in result.output
    lines = [
        orjson.dumps({"prediction_id": pid, "label": int(y)}).decode()
        for w in weeks
        for pid, y in zip(w["prediction_id"], w["churn"], strict=True)
    ]
    (tmp_path / "labels.jsonl").write_text("\n".join(lines))
    assert run("ingest", "labels", str(tmp_path / "labels.jsonl"), "-w", str(ws)).exit_code == 0
    result = run("monitor", "-w", str(ws))
    assert result.exit_code == 0, result.output
    assert "2 windows computed, 0 unchanged" in result.output
    assert "monthly_usage" in result.output
    assert "1 windows computed" not in run("monitor", "-w", str(ws)).output
    history = json.loads(run("report", "--format", "json", "-w", str(ws)).stdout)
    assert [h["rows"] for h in history] == [1000, 1000]
    assert history[1]["dataset"]["drifted_features"] == ["monthly_usage"]
    assert 0.8 < history[0]["performance"]["roc_auc"] < 1
    result = run("log", "compact", "--retention-hours", "0", "-w", str(ws))
    assert result.exit_code == 0, result.output
    assert "predictions: 2 files compacted into 1" in result.output


def test_ingest_refuses_a_bad_file_and_names_the_problem(tmp_path) -> None:
    ws = tmp_path / "ws"
    run("init", str(ws))
    (ws / "driftpilot.yaml").write_text("model:\n  features: {tenure: numeric}\n")
    pd.DataFrame({"tenure": ["twelve"], "score": [0.2]}).to_csv(tmp_path / "bad.csv", index=False)
    result = run("ingest", "predictions", str(tmp_path / "bad.csv"), "-w", str(ws))
    assert result.exit_code == ERROR_EXIT
    assert (
        "predictions[0].features.tenure: expected a number or null, got 'twelve'" in result.output
    )
    result = run("ingest", "predictions", str(tmp_path / "missing.parquet"), "-w", str(ws))
    assert result.exit_code == ERROR_EXIT
    assert "no such file" in result.output


def test_monitor_without_a_reference_says_what_to_do(tmp_path) -> None:
    run("init", str(tmp_path))
    result = run("monitor", "-w", str(tmp_path))
    assert result.exit_code == ERROR_EXIT
    assert "driftpilot profile DATA -w" in result.output
