"""Register, retrain, gate, aliases and lineage against a real MLflow store (SQLite)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from driftpilot.config import parse_config
from driftpilot.demo.churn import ChurnScenario
from driftpilot.errors import ConfigError, RegistryError, TrainingError
from driftpilot.profile.model import Profile
from driftpilot.registry.client import TAGS, Registry
from driftpilot.retrain.pipeline import promote_version, register, retrain
from driftpilot.workspace import Workspace

from .conftest import CHURN_CONFIG, Deployment, new_workspace


def _with(space: Workspace, extra: str) -> Workspace:
    """The same workspace folder under a different driftpilot.yaml."""
    import yaml

    data = yaml.safe_load(CHURN_CONFIG)
    for key, value in yaml.safe_load(extra).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return Workspace(space.root, parse_config(data))


def test_register_bootstraps_the_champion_with_its_reference(churn: Deployment) -> None:
    registry = Registry(churn.workspace)
    first = registry.version("1")
    assert registry.alias("champion") == "1"
    assert first.tag("decision") == "register"
    assert first.tag("gate") == "passed"
    assert len(first.tag("fingerprint") or "") == 64
    assert int(first.tag("rows") or 0) == len(churn.training)
    # the reference travels with the model: the version's artifact is the workspace's file
    artifact = Profile.load(registry.reference_file("1", churn.workspace.root / "tmp-ref"))
    local = churn.workspace.reference()
    assert artifact.model_dump(exclude={"created_at"}) == local.model_dump(exclude={"created_at"})
    # the reference is the held-out last 20 % of the training month, scored out of sample
    assert local.rows == round(0.2 * len(churn.training))
    assert local.performance is not None
    assert 0.85 < local.performance.metrics["roc_auc"] < 0.95


def test_a_second_register_needs_force(churn: Deployment) -> None:
    with pytest.raises(ConfigError, match="already has a champion"):
        register(churn.workspace, churn.training)


def test_retrained_model_beats_the_stale_champion_after_concept_drift(churn: Deployment) -> None:
    registry = Registry(churn.workspace)
    before = len(registry.versions())
    # at the close of week 9 the labels of week 8 are in: the south's churn rule has flipped
    result = retrain(churn.workspace, decision="south-concept", reason="test", now=churn.closes[9])
    gate = result.gate
    assert gate is not None
    assert gate.passed, gate.reasons
    assert result.alias == "challenger"
    assert registry.alias("challenger") == result.version.version
    assert registry.alias("champion") == "1"  # the canary moves the champion, not the retrain
    assert gate.champion is not None
    south = {c.value: c for c in gate.segments}["south"]
    assert south.champion is not None
    assert south.candidate is not None
    assert south.champion < 0.5 < 0.8 < south.candidate  # the stale rule ranks south backwards
    assert gate.improvement is not None
    assert gate.improvement > 0.02
    assert gate.lower_bound is not None
    assert gate.lower_bound > 0
    assert gate.candidate["roc_auc"] > gate.champion["roc_auc"] + 0.02  # type: ignore[operator]
    # the training set is the last 14 days' labeled rows: week 8 (week 9's labels are not in)
    assert result.training["rows"] == 8000
    assert result.training["holdout"] == 1600
    tags = result.version.tags
    assert tags[TAGS["decision"]] == "south-concept"
    assert tags[TAGS["parent"]] == "1"
    assert tags[TAGS["gate"]] == "passed"
    assert tags[TAGS["window_end"]].startswith(churn.closes[9].isoformat()[:10])
    # asking again for the same decision creates nothing
    again = retrain(churn.workspace, decision="south-concept", now=churn.closes[9])
    assert again.existing
    assert again.version.version == result.version.version
    assert len(registry.versions()) == before + 1


def test_a_candidate_that_does_not_beat_the_champion_gets_no_alias(churn: Deployment) -> None:
    registry = Registry(churn.workspace)
    challenger = registry.alias("challenger")
    # week 6's covariate shift leaves the rule unchanged: a model trained on it is no better
    result = retrain(churn.workspace, decision="usage-shift", now=churn.closes[7])
    assert result.gate is not None
    assert not result.gate.passed
    assert result.alias is None
    assert result.version.tag("gate") == "failed"
    assert "roc_auc" in (result.version.tag("gate_reason") or "")
    assert registry.alias("challenger") == challenger
    assert registry.alias("champion") == "1"
    comparison = registry.download(
        result.version, "driftpilot/gate.json", Path(churn.workspace.root / "tmp-gate")
    )
    assert json.loads(comparison.read_text())["passed"] is False


def test_a_trainer_that_raises_moves_no_alias_and_is_retried_a_few_times(
    churn: Deployment,
) -> None:
    (churn.workspace.root / "boom_trainer.py").write_text(
        "def train(data):\n    raise RuntimeError('out of memory on purpose')\n"
    )
    space = _with(churn.workspace, "retrain: {trainer: 'boom_trainer:train', max_attempts: 2}")
    registry = Registry(space)
    aliases = registry.aliases()
    versions = len(registry.versions())
    for _ in range(2):
        with pytest.raises(TrainingError, match=r"boom_trainer:train.*out of memory on purpose"):
            retrain(space, decision="boom", now=churn.closes[9])
    assert registry.failed_runs("boom") == 2
    with pytest.raises(TrainingError, match="failed 2 times; not trying again"):
        retrain(space, decision="boom", now=churn.closes[9])
    assert registry.aliases() == aliases
    assert len(registry.versions()) == versions


def test_too_few_labeled_rows_is_refused_before_training(churn: Deployment) -> None:
    space = _with(churn.workspace, "retrain: {min_rows: 100000}")
    with pytest.raises(Exception, match="needs at least 100,000 labeled rows") as caught:
        retrain(space, now=churn.closes[9])
    assert "retrain.min_rows" in str(caught.value)


def test_an_unreachable_server_is_a_clear_error_in_seconds(churn: Deployment) -> None:
    space = _with(
        churn.workspace, "registry: {tracking_uri: 'http://127.0.0.1:9', retries: 0, timeout: 2}"
    )
    started = time.monotonic()
    with pytest.raises(RegistryError, match=r"MLflow at http://127\.0\.0\.1:9 failed to") as err:
        retrain(space, decision="offline", now=churn.closes[9])
    assert time.monotonic() - started < 20
    assert "aliases move last" in str(err.value)
    with pytest.raises(RegistryError):
        register(space, churn.training, force=True)
    assert Registry(churn.workspace).alias("champion") == "1"


def test_a_corrupt_model_artifact_is_a_clear_error_and_moves_nothing(
    tmp_path: Path, mlflow_template: Path
) -> None:
    space = new_workspace(tmp_path / "ws", mlflow_template)
    scenario = ChurnScenario(seed=3, rows_per_week=1500)
    training = pd.concat([scenario.week(i) for i in range(4)], ignore_index=True)
    register(space, training)
    registry = Registry(space)
    version = registry.version("1")
    model_files = list((space.root / "mlruns").glob(f"**/{version.run_id}/artifacts/model/model.*"))
    assert model_files, "the model's file should be in the workspace's artifact store"
    model_files[0].write_bytes(b"\x00not a model at all")
    with pytest.raises(RegistryError, match="version 1 of 'churn' cannot be loaded"):
        retrain(space, now=pd.Timestamp("2026-02-02", tz="UTC").to_pydatetime())
    with pytest.raises(RegistryError, match="cannot be loaded"):
        promote_version(space, "1")
    assert registry.aliases() == {"champion": "1"}


def test_promote_moves_champion_to_previous_and_switches_the_reference(churn: Deployment) -> None:
    registry = Registry(churn.workspace)
    challenger = registry.alias("challenger")
    assert challenger is not None
    old = promote_version(churn.workspace, challenger)
    assert old == "1"
    assert registry.aliases() == {"champion": challenger, "previous": "1"}
    reference = churn.workspace.reference()
    assert reference.source == "churn retrain"
    promote_version(churn.workspace, "1")  # and back, for the tests after this one
    assert registry.alias("champion") == "1"


def test_a_separate_mlflow_client_sees_runs_metrics_versions_tags_and_aliases(
    churn: Deployment,
) -> None:
    from driftpilot.policy.cycle import run_cycle

    cycle = run_cycle(churn.workspace, now=churn.closes[9], send=False)
    assert not cycle.errors
    registry = Registry(churn.workspace)
    script = f"""
import json
from mlflow import MlflowClient
client = MlflowClient(tracking_uri={registry.uri!r}, registry_uri={registry.uri!r})
experiment = client.get_experiment_by_name("driftpilot/churn")
runs = client.search_runs([experiment.experiment_id])
versions = client.search_model_versions("name = 'churn'")
model = client.get_registered_model("churn")
monitoring = [r for r in runs if r.data.tags.get("driftpilot.role") == "monitoring"][0]
auc = client.get_metric_history(monitoring.info.run_id, "performance.roc_auc")
print(json.dumps({{
    "runs": sorted(r.info.run_name for r in runs),
    "train_metrics": sorted(k for r in runs for k in r.data.metrics if k.startswith("holdout_")),
    "versions": {{v.version: v.tags for v in versions}},
    "aliases": {{k: str(v) for k, v in model.aliases.items()}},
    "auc": sorted((m.step, m.timestamp, m.value) for m in auc),
}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "register" in seen["runs"]
    assert "monitoring v1" in seen["runs"]
    assert "retrain south-concept" in seen["runs"]
    assert "holdout_candidate_roc_auc" in seen["train_metrics"]
    assert "holdout_champion_roc_auc" in seen["train_metrics"]
    assert seen["aliases"]["champion"] == "1"
    assert seen["aliases"] == registry.aliases()
    assert seen["versions"]["1"]["driftpilot.decision"] == "register"
    tags = next(t for t in seen["versions"].values() if t["driftpilot.decision"] == "south-concept")
    assert tags["driftpilot.parent_version"] == "1"
    # weeks 4–8 have labels: one AUC point per window, step = window index, time = window end
    from driftpilot.monitor.report import history

    reports = history(churn.workspace)
    labeled = [(i, r) for i, r in enumerate(reports) if (r.performance or {}).get("roc_auc")]
    assert [step for step, _, _ in seen["auc"]] == [i for i, _ in labeled]
    for (_step, stamp, value), (_, report) in zip(seen["auc"], labeled, strict=True):
        assert stamp == int(report.window_end.timestamp() * 1000)
        assert value == pytest.approx(report.performance["roc_auc"])


def test_an_unreachable_server_never_stops_the_policy_cycle(churn: Deployment) -> None:
    from driftpilot.policy.cycle import run_cycle

    space = _with(churn.workspace, "registry: {tracking_uri: 'http://127.0.0.1:9', retries: 0}")
    result = run_cycle(space, now=churn.closes[9], send=False)
    assert result.outcome.decisions  # decided and stored as usual
    assert len(result.errors) == 1
    assert result.errors[0].startswith("window metrics were not logged to MLflow: ")
    assert "http://127.0.0.1:9" in result.errors[0]


def test_blending_with_training_data_that_was_not_recorded_is_refused(churn: Deployment) -> None:
    space = _with(churn.workspace, "retrain: {blend: {source: training, share: 0.3}}")
    with pytest.raises(ConfigError, match=r"retrain.blend.source: .*\(not recorded\)"):
        retrain(space, now=churn.closes[9])


def test_mlflow_itself_serves_a_version_with_driftpilots_scores(churn: Deployment) -> None:
    """`mlflow models predict` (the code path of `mlflow models serve`) takes the raw rows
    driftpilot logs and answers the same probabilities driftpilot computes."""
    import os

    registry = Registry(churn.workspace)
    rows = churn.scenario.week(5).head(5).drop(columns=["churn", "customer_id", "timestamp"])
    request = churn.workspace.root / "request.json"
    request.write_text(
        json.dumps({"dataframe_records": json.loads(rows.to_json(orient="records"))})
    )
    out = subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "predict", "-m", "models:/churn/1",
         "-i", str(request), "-t", "json", "--env-manager", "local"],
        capture_output=True, text=True, timeout=180, check=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": registry.uri},
    )  # fmt: skip
    answered = json.loads(out.stdout.strip().splitlines()[-1])["predictions"]
    assert answered == pytest.approx(registry.load("1").score(rows).tolist())
