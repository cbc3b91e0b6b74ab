"""`driftpilot monitor` over a logged churn scenario: windows, late labels, idempotency."""

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, recall_score

from driftpilot.demo import ChurnScenario, story
from driftpilot.errors import ConfigError
from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.monitor.job import run_monitor
from driftpilot.monitor.report import history
from driftpilot.profile.build import build_profile
from driftpilot.workspace import Workspace, init_workspace

CONFIG = """
columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn, task: binary, threshold: 0.5}
monitor:
  window: WINDOW
  window_rows: 3000
  segments: [region]
  kpis:
    churn_recall: {numerator: {count: true, over: [tp]}, denominator: {count: true, over: [tp, fn]}}
    retained_revenue: {numerator: {sum: monthly_charge, over: [fp]}}
"""
ROWS = 3000


def weeks() -> tuple[ChurnScenario, list]:
    return ChurnScenario(seed=5, rows_per_week=ROWS), story()


def logged_week(s: ChurnScenario, specs: list, i: int) -> pd.DataFrame:
    week = s.week(i, specs[i])
    week["score"] = s.churn_probability(week)  # the model: the stationary rule
    week["prediction_id"] = [f"w{i}-{k}" for k in range(len(week))]
    return week


def make_workspace(root, window: str = "week") -> Workspace:
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(CONFIG.replace("WINDOW", window))
    space = Workspace.open(root)
    s, specs = weeks()
    reference = s.weeks(specs[:4])
    reference["score"] = s.churn_probability(reference)
    build_profile(reference, space.config).save(space.reference_path)
    return space


def log_week(space: Workspace, week: pd.DataFrame, *, labels: bool) -> None:
    predictions = week.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"})
    log_predictions(predictions, workspace=space)
    if labels:
        log_labels(
            pd.DataFrame({"prediction_id": week["prediction_id"], "label": week["churn"]}),
            workspace=space,
        )


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    space = make_workspace(tmp_path_factory.mktemp("monitor"))
    s, specs = weeks()
    frames = {i: logged_week(s, specs, i) for i in range(4, 10)}
    for i, week in frames.items():
        log_week(space, week, labels=i < 8)
    result = run_monitor(space)
    return space, frames, result


def test_every_window_gets_a_report_with_coverage(monitored) -> None:
    _, _frames, result = monitored
    assert len(result.computed) == 6
    coverage = [r.labels["coverage"] for r in result.computed]
    assert coverage == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert [r.rows for r in result.computed] == [ROWS] * 6
    assert all(r.window_end - r.window == pd.Timedelta(days=7) for r in result.computed)


def test_drift_realized_and_estimated_performance(monitored) -> None:
    _, frames, result = monitored
    by_week = dict(zip(range(4, 10), result.computed, strict=True))
    assert by_week[4].dataset.drifted_features == []
    assert "monthly_usage" in by_week[6].dataset.drifted_features
    for i in (4, 5, 6, 7):
        week = frames[i]
        performance = by_week[i].performance
        assert performance["accuracy"] == accuracy_score(week["churn"], week["score"] >= 0.5)
        assert performance["recall"] == recall_score(week["churn"], week["score"] >= 0.5)
        assert by_week[i].kpis["churn_recall"] == performance["recall"]
        fp = (week["score"] >= 0.5) & (week["churn"] == 0)
        assert by_week[i].kpis["retained_revenue"] == pytest.approx(
            week.loc[fp, "monthly_charge"].sum()
        )
    for i in (8, 9):  # no labels yet: no realized numbers, an estimate all the same
        assert by_week[i].performance["roc_auc"] is None
        assert 0.8 < by_week[i].estimate["roc_auc"] < 0.95
    assert by_week[4].prediction_drift.drift is False
    assert by_week[4].label_drift is not None
    assert by_week[8].label_drift is None  # no labels to compare


def test_segments_show_the_concept_drift_overall_numbers_hide(tmp_path) -> None:
    space = make_workspace(tmp_path)
    s, specs = ChurnScenario(seed=5, rows_per_week=10_000), story()
    for i in (4, 8):
        log_week(space, logged_week(s, specs, i), labels=True)
    calm, shifted = run_monitor(space).computed
    south = [r.performance["by_segment"]["region"]["south"]["recall"] for r in (calm, shifted)]
    north = [r.performance["by_segment"]["region"]["north"]["recall"] for r in (calm, shifted)]
    assert south[0] - south[1] > 0.2
    assert abs(north[0] - north[1]) < 0.1
    assert abs(calm.performance["accuracy"] - shifted.performance["accuracy"]) < 0.03


def test_rerunning_is_idempotent_and_late_labels_recompute_their_window(monitored) -> None:
    space, frames, _ = monitored
    again = run_monitor(space)
    assert (len(again.computed), again.unchanged) == (0, 6)
    week = frames[8]
    log_labels(
        pd.DataFrame({"prediction_id": week["prediction_id"], "label": week["churn"]}),
        workspace=space,
    )
    later = run_monitor(space)
    assert [r.window_key for r in later.computed] == [history(space)[4].window_key]
    assert later.computed[0].labels["coverage"] == 1.0
    assert len(history(space)) == 6  # replaced, not added


def test_detectors_fire_when_the_error_rate_changes(tmp_path) -> None:
    space = make_workspace(tmp_path)
    s, specs = weeks()
    for i in (4, 5, 10):  # week 10: many more churners, so many more misses
        log_week(space, logged_week(s, specs, i), labels=True)
    reports = run_monitor(space).computed
    fired = [[name for name, d in r.detectors.items() if d["fired"]] for r in reports]
    assert fired[0] == []
    assert {"adwin", "ddm"} <= set(fired[2])
    detection = reports[2].detectors["adwin"]["detections"][0]
    assert detection["version"] == "unversioned"


def test_row_windows(tmp_path) -> None:
    space = make_workspace(tmp_path, window="rows")
    s, specs = weeks()
    for i in (4, 5):
        log_week(space, logged_week(s, specs, i), labels=False)
    reports = run_monitor(space).computed
    assert [r.window_key for r in reports] == ["rows-000000000", "rows-000000001"]
    assert [r.rows for r in reports] == [ROWS, ROWS]


def test_estimated_kpis_follow_the_realized_ones(monitored) -> None:
    _, _, result = monitored
    for report in result.computed:
        estimated = report.estimated_kpis
        assert estimated["churn_recall"] == pytest.approx(report.estimate["recall"])
        if report.labels["coverage"] == 1.0:  # the model is calibrated: estimates hold
            assert estimated["churn_recall"] == pytest.approx(report.kpis["churn_recall"], abs=0.03)
            assert estimated["retained_revenue"] == pytest.approx(
                report.kpis["retained_revenue"], rel=0.1
            )


def test_late_labels_move_detections_as_a_fresh_run_would_place_them(tmp_path) -> None:
    """Weekly runs with labels a week late end where one run over everything ends."""
    s, specs = weeks()
    frames = [logged_week(s, specs, i) for i in (4, 5, 10, 11)]
    step = make_workspace(tmp_path / "weekly")
    for i, week in enumerate(frames):
        log_week(step, week, labels=False)
        if i:
            late = frames[i - 1]
            log_labels(
                pd.DataFrame({"prediction_id": late["prediction_id"], "label": late["churn"]}),
                workspace=step,
            )
        run_monitor(step)
    last = frames[-1]
    log_labels(
        pd.DataFrame({"prediction_id": last["prediction_id"], "label": last["churn"]}),
        workspace=step,
    )
    final = run_monitor(step)
    assert final.computed  # the last labels changed at least their own window
    once = make_workspace(tmp_path / "once")
    for week in frames:
        log_week(once, week, labels=True)
    run_monitor(once)
    weekly = {r.window_key: r.detectors for r in history(step)}
    fresh = {r.window_key: r.detectors for r in history(once)}
    assert weekly == fresh
    assert any(d["fired"] for detectors in fresh.values() for d in detectors.values())
    assert run_monitor(step).computed == []  # and then nothing is left to do


def test_a_late_row_shifts_row_windows_and_they_are_recomputed(tmp_path) -> None:
    space = make_workspace(tmp_path, window="rows")
    s, specs = weeks()
    log_week(space, logged_week(s, specs, 4), labels=False)
    assert len(run_monitor(space).computed) == 1
    late = logged_week(s, specs, 5).iloc[:1].copy()
    late["timestamp"] = pd.Timestamp("2026-01-01")  # before every logged row
    late["prediction_id"] = "late"
    log_week(space, late, labels=False)
    again = run_monitor(space)
    assert [r.window_key for r in again.computed] == ["rows-000000000", "rows-000000001"]
    assert [r.rows for r in again.computed] == [ROWS, 1]
    fresh = run_monitor(space, everything=True).computed
    assert [r.fingerprint for r in fresh] == [r.fingerprint for r in again.computed]


def test_kpi_columns_must_be_logged_numbers(tmp_path) -> None:
    space = make_workspace(tmp_path)
    s, specs = weeks()
    log_week(space, logged_week(s, specs, 4), labels=True)
    for column, message in (("plan", "holds string, not numbers"), ("revenue", "is not logged")):
        text = CONFIG.replace("WINDOW", "week").replace("sum: monthly_charge", f"sum: {column}")
        (space.root / "driftpilot.yaml").write_text(text)
        with pytest.raises(ConfigError, match=message) as raised:
            run_monitor(Workspace.open(space.root))
        assert "monthly_charge" in raised.value.hint
        assert "score" not in raised.value.hint  # the log's own columns are not offered


def test_labels_waiting_for_their_predictions_are_counted(tmp_path) -> None:
    space = make_workspace(tmp_path)
    s, specs = weeks()
    log_week(space, logged_week(s, specs, 4), labels=True)
    log_labels(pd.DataFrame({"prediction_id": ["not-yet"], "label": [1]}), workspace=space)
    assert run_monitor(space).unmatched_labels == 1
