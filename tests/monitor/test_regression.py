"""Monitoring a regression model: metrics, drift of its predicted values, scaled detectors."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from driftpilot.config import parse_config
from driftpilot.demo import ChurnScenario, stationary
from driftpilot.errors import ConfigError
from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.monitor.job import run_monitor
from driftpilot.profile.build import build_profile
from driftpilot.workspace import Workspace, init_workspace

CONFIG = """
columns: {id: [customer_id], timestamp: timestamp, target: spend, prediction: forecast}
model: {name: spend, task: regression}
monitor: {window: week, segments: [region]}
"""
ROWS = 4000


def with_spend(frame: pd.DataFrame, seed: int, *, bias: float = 1.0) -> pd.DataFrame:
    """Yearly spend (in cents: a large unit) and a forecast that is right on average."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    frame["spend"] = frame["monthly_charge"] * 1200 * rng.lognormal(0, 0.1, len(frame))
    frame["forecast"] = frame["monthly_charge"] * 1200 * bias
    return frame


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    root = tmp_path_factory.mktemp("regression")
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(CONFIG)
    space = Workspace.open(root)
    s = ChurnScenario(seed=9, rows_per_week=ROWS)
    reference = with_spend(s.weeks(stationary(3)), 0)
    build_profile(reference.drop(columns="churn"), space.config).save(space.reference_path)
    weeks = {}
    for i in range(3, 8):
        week = with_spend(s.week(i), i, bias=0.6 if i == 6 else 1.0)  # week 6: under-forecast
        if i == 5:  # week 5: dearer plans, so larger forecasts and spend
            week = with_spend(week.assign(monthly_charge=week["monthly_charge"] * 1.6), i)
        week["prediction_id"] = [f"w{i}-{k}" for k in range(len(week))]
        weeks[i] = week
        logged = week.drop(columns=["churn", "spend"]).rename(
            columns={"customer_id": "entity_id", "forecast": "prediction"}
        )
        log_predictions(logged, workspace=space)
        log_labels(week[["prediction_id"]].assign(label=week["spend"]), workspace=space)
    return space, weeks, dict(zip(range(3, 8), run_monitor(space).computed, strict=True))


def test_metrics_equal_scikit_learn(monitored) -> None:
    _, weeks, reports = monitored
    for i in (3, 6):
        y, p = weeks[i]["spend"], weeks[i]["forecast"]
        got = reports[i].performance
        assert got["mae"] == pytest.approx(metrics.mean_absolute_error(y, p), rel=1e-9)
        assert got["rmse"] == pytest.approx(metrics.root_mean_squared_error(y, p), rel=1e-9)
        assert got["mape"] == pytest.approx(metrics.mean_absolute_percentage_error(y, p), rel=1e-9)
        assert got["r2"] == pytest.approx(metrics.r2_score(y, p), rel=1e-9)
        south = weeks[i][weeks[i]["region"] == "south"]
        segment = got["by_segment"]["region"]["south"]
        assert segment["r2"] == pytest.approx(metrics.r2_score(south["spend"], south["forecast"]))
    assert reports[3].estimate is None
    assert reports[3].kpis == {}


def test_prediction_drift_is_the_drift_of_predicted_values(monitored) -> None:
    _, _, reports = monitored
    assert reports[3].prediction_drift is not None
    assert reports[3].prediction_drift.drift is False
    assert reports[5].prediction_drift.drift is True  # dearer plans: larger forecasts
    assert reports[5].label_drift.drift is True
    assert reports[6].prediction_drift.drift is True  # the under-forecast shifts them too


def test_detectors_watch_errors_in_units_of_the_reference_error(monitored) -> None:
    _, _, reports = monitored
    fired = {i: [n for n, d in r.detectors.items() if d["fired"]] for i, r in reports.items()}
    assert set(reports[3].detectors) == {"adwin", "page_hinkley", "ddm"}
    assert fired[3] == fired[4] == []  # errors of ~1,000 cents raise no alarm by their size
    assert {"adwin", "ddm"} <= set(fired[6])


def test_kpis_need_a_classifier() -> None:
    kpi = {"churn_recall": {"numerator": {"count": True, "over": ["tp"]}}}
    with pytest.raises(ConfigError, match=r"monitor\.kpis are built from confusion cells"):
        parse_config({"model": {"task": "regression"}, "monitor": {"kpis": kpi}})
