"""A deployment with two registered versions of the churn model, copied for each test: v1
is the champion, v2 (trained the same way on other weeks) the challenger."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from driftpilot.demo.churn import ChurnScenario, story
from driftpilot.workspace import Workspace
from tests.registry.conftest import mlflow_template, new_workspace

__all__ = ["mlflow_template"]

CONFIG = """\
columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn, task: binary}
monitor: {window: week}
log: {flush_ms: 5}
serve: {refresh: 1h, challenger_timeout_ms: 200, log_flush_ms: 20}
retrain: {params: {n_estimators: 120}}
alerts:
  sinks: [{type: jsonl, path: alerts.jsonl}]
canary:
  stages:
    - {name: shadow, weight: 0, shadow: 1.0, min_requests: 200, min_duration: 0s}
    - {name: half, weight: 0.5, min_requests: 150, min_duration: 0s}
    - {name: all, weight: 1.0, min_requests: 200, min_duration: 0s}
  min_evidence: 50
  min_labels: 150
"""


@dataclass
class Deployment:
    workspace: Workspace
    scenario: ChurnScenario


@pytest.fixture(scope="session")
def two_versions(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Path:
    from driftpilot.retrain.pipeline import register

    root = tmp_path_factory.mktemp("canary") / "workspace"
    space = new_workspace(root, mlflow_template, CONFIG)
    scenario = ChurnScenario(seed=3, rows_per_week=2500)
    specs = story()
    register(space, pd.concat([scenario.week(i, specs[i]) for i in range(4)], ignore_index=True))
    later = pd.concat([scenario.week(i, specs[i]) for i in range(1, 5)], ignore_index=True)
    register(space, later, force=True)
    return root


@pytest.fixture
def deployment(two_versions: Path, tmp_path: Path) -> Deployment:
    from driftpilot.registry.client import Registry

    root = tmp_path / "workspace"
    shutil.copytree(two_versions, root)
    space = Workspace.open(root)
    registry = Registry(space)
    registry.set_alias("champion", "1")
    registry.set_alias("challenger", "2")
    registry.delete_alias("previous")
    return Deployment(space, ChurnScenario(seed=11, rows_per_week=3000))
