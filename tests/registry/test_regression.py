"""A regression deployment: the gate's error metrics are lower-is-better (RMSE ceilings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.registry.client import Registry
from driftpilot.retrain.pipeline import register, retrain

from .conftest import new_workspace

CONFIG = """\
columns: {timestamp: ts, target: spend}
model: {name: spend, task: regression}
monitor: {window: day, segments: [plan]}
retrain:
  days: 3
  min_rows: 300
  params: {n_estimators: 200}
  gate: {floors: {rmse: 50.0}, min_segment_rows: 100}
"""
START = datetime(2026, 5, 4, tzinfo=UTC)


def _days(first: int, days: int, slope: float, seed: int) -> pd.DataFrame:
    """Spend grows with usage; ``slope`` is the relationship the world follows."""
    rng = np.random.default_rng(seed)
    n = 800 * days
    usage = rng.uniform(0, 10, n)
    plan = rng.choice(["basic", "pro"], n)
    spend = slope * usage + np.where(plan == "pro", 5.0, 0.0) + rng.normal(0, 1, n)
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    times = [START + timedelta(days=first, seconds=float(s)) for s in offsets]
    return pd.DataFrame({"ts": times, "usage": usage, "plan": plan, "spend": spend})


def test_a_regression_model_is_retrained_when_the_world_changes(
    tmp_path: Path, mlflow_template: Path
) -> None:
    space = new_workspace(tmp_path / "ws", mlflow_template, CONFIG)
    first = register(space, _days(0, 5, slope=2.0, seed=1))
    assert first.alias == "champion"
    assert first.gate is not None
    assert first.gate.metric == "rmse"
    assert first.gate.candidate["rmse"] < 1.5  # the noise is 1.0
    assert first.gate.floors["rmse"]["kind"] == "ceiling"
    registry = Registry(space)
    champion = registry.load("1")
    # production: the slope doubles; the stale model under-predicts
    later = _days(5, 3, slope=4.0, seed=2)
    later["prediction"] = champion.score(later)
    later["prediction_id"] = [f"p{i}" for i in range(len(later))]
    log_predictions(
        later.drop(columns=["spend"]).rename(columns={"ts": "timestamp"}), workspace=space
    )
    labels = {"prediction_id": later["prediction_id"], "label": later["spend"]}
    log_labels(pd.DataFrame(labels), workspace=space)
    result = retrain(space, decision="slope", now=START + timedelta(days=8))
    gate = result.gate
    assert gate is not None
    assert gate.passed, gate.reasons
    assert gate.champion is not None
    # lower is better: the improvement is the fall in RMSE, positive
    assert gate.improvement == gate.champion["rmse"] - gate.candidate["rmse"]
    assert gate.champion["rmse"] > 5 > 1.5 > gate.candidate["rmse"]
    assert result.alias == "challenger"
    assert {c.value for c in gate.segments} == {"basic", "pro"}
