"""MLflow fixtures: one migrated SQLite database per session, copied into each workspace, and
one churn deployment (a champion, six weeks of production, labels) shared by a module."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from driftpilot.demo.churn import ChurnScenario, story
from driftpilot.demo.run import _closes
from driftpilot.workspace import Workspace, init_workspace

CHURN_CONFIG = """\
columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn, task: binary}
monitor: {window: week, segments: [region]}
retrain:
  days: 14
  min_rows: 500
  gate: {min_segment_rows: 200}
  params: {n_estimators: 300}
"""


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow database (migrations take seconds; copies do not)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def new_workspace(root: Path, template: Path, config: str = CHURN_CONFIG) -> Workspace:
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(config, encoding="utf-8")
    shutil.copy(template, root / "mlflow.db")
    return Workspace.open(root)


@dataclass
class Deployment:
    workspace: Workspace
    scenario: ChurnScenario
    training: pd.DataFrame
    closes: dict[int, datetime]  # when each logged week's window closed


def log_weeks(space: Workspace, scenario: ChurnScenario, weeks: range) -> dict[int, datetime]:
    """The champion scores each week; its labels arrive when the next week is logged."""
    from driftpilot.log.writer import log_labels, log_predictions
    from driftpilot.registry.client import Registry

    registry = Registry(space)
    champion = registry.load(registry.alias("champion") or "")
    specs = story()
    closes: dict[int, datetime] = {}
    previous: pd.DataFrame | None = None
    for index in weeks:
        week = scenario.week(index, specs[index])
        week["score"] = champion.score(week)
        week["model_version"] = champion.version
        week["prediction_id"] = [f"w{index:02d}-{i:06d}" for i in range(len(week))]
        log_predictions(
            week.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"}),
            workspace=space,
        )
        if previous is not None:
            labels = {"prediction_id": previous["prediction_id"], "label": previous["churn"]}
            log_labels(pd.DataFrame(labels), workspace=space)
        previous = week
        closes[index] = _closes(week)
    return closes


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Deployment:
    """Champion v1 trained on weeks 0–3; weeks 4–9 scored by it, labels through week 8."""
    from driftpilot.retrain.pipeline import register

    root = tmp_path_factory.mktemp("churn") / "workspace"
    space = new_workspace(root, mlflow_template)
    scenario = ChurnScenario(seed=7, rows_per_week=8000)
    specs = story()
    training = pd.concat([scenario.week(i, specs[i]) for i in range(4)], ignore_index=True)
    register(space, training)
    closes = log_weeks(space, scenario, range(4, 10))
    return Deployment(space, scenario, training, closes)
