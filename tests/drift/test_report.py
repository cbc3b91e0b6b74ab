import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from driftpilot.config import parse_config
from driftpilot.demo import ChurnScenario, WeekSpec, stationary
from driftpilot.drift import drift_report, window_reports
from driftpilot.errors import ConfigError
from driftpilot.profile.build import build_profile

CHURN = parse_config(
    {"columns": {"id": ["customer_id"], "timestamp": "timestamp", "target": "churn"}}
)


@pytest.fixture(scope="module")
def scenario() -> ChurnScenario:
    return ChurnScenario(seed=3, rows_per_week=10_000)


@pytest.fixture(scope="module")
def reference(scenario) -> pd.DataFrame:
    return scenario.weeks(stationary(4))


@pytest.fixture(scope="module")
def profile(engine, reference):
    return build_profile(reference, CHURN, engine=engine)


def test_statistics_agree_with_scipy_on_the_raw_data(engine, scenario, reference, profile) -> None:
    current = scenario.week(6, WeekSpec(covariate_shift={"monthly_usage": 0.4, "plan": 0.2}))
    report = drift_report(current, profile=profile, config=CHURN, engine=engine)
    for name in ("monthly_usage", "tenure", "age", "support_calls"):
        ref, cur = reference[name].dropna().to_numpy(), current[name].dropna().to_numpy()
        stats = report.features[name].statistics
        exact = ks_2samp(ref, cur).statistic
        assert stats["ks"] - 1e-12 <= exact <= stats["ks_upper"] + 1e-12
        assert stats["wasserstein"] == pytest.approx(
            wasserstein_distance(ref, cur) / ref.std(), rel=0.02, abs=0.005
        )
    ref_counts = reference["plan"].value_counts()
    cur_counts = current["plan"].value_counts().reindex(ref_counts.index, fill_value=0)
    stats = report.features["plan"].statistics
    p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
    assert stats["psi"] == pytest.approx(float(((q - p) * np.log(q / p)).sum()), rel=1e-9)
    assert stats["js"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-9)
    chi2, pvalue, *_ = chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
    assert stats["chi2"] == pytest.approx(chi2, rel=1e-9)
    assert stats["chi2_pvalue"] == pytest.approx(pvalue, rel=1e-6, abs=1e-300)


def test_stationary_weeks_stay_quiet(engine, scenario, profile) -> None:
    report = drift_report(
        scenario.weeks(stationary(2), first=4), profile=profile, config=CHURN, engine=engine
    )
    assert report.dataset.drifted_features == []
    assert report.dataset.quality_issues == {}


def test_small_stationary_windows_stay_quiet(engine, profile) -> None:
    frame = ChurnScenario(seed=9, rows_per_week=1_400).weeks(stationary(8), first=20)
    reports = window_reports(frame, profile=profile, config=CHURN, engine=engine, window="day")
    verdicts = [f.drift for r in reports for f in r.features.values() if f.error is None]
    assert len(reports) == 56  # about 200 rows a day
    assert len(verdicts) == 56 * 12
    assert np.mean(verdicts) < 0.01


def test_calibration_raises_sensitive_thresholds_for_small_windows(engine, profile) -> None:
    config = CHURN.model_copy(
        update={
            "drift": parse_config({"drift": {"numeric": {"method": "ks", "threshold": 0.03}}}).drift
        }
    )
    frame = ChurnScenario(seed=9, rows_per_week=1_400).weeks(stationary(4), first=20)
    reports = window_reports(frame, profile=profile, config=config, engine=engine, window="day")
    tenure = [r.features["tenure"] for r in reports]
    assert all(f.threshold_source == "calibrated" and f.threshold > 0.03 for f in tenure)
    assert np.mean([f.drift for f in tenure]) < 0.05  # a fixed 0.03 would fire on most days
    assert np.mean([f.score > 0.03 for f in tenure]) > 0.5


def test_windows_below_min_rows_get_statistics_but_no_verdict(engine, profile) -> None:
    frame = ChurnScenario(seed=9, rows_per_week=1_400).weeks(stationary(1), first=20)
    reports = window_reports(frame, profile=profile, config=CHURN, engine=engine, window="hour")
    feature = reports[0].features["tenure"]
    assert not feature.drift
    assert feature.score is not None
    assert "a verdict needs at least 100 (drift.min_rows)" in feature.error
    assert all(not r.dataset.drift for r in reports)


def test_large_stationary_sample_is_quiet_although_pvalues_fire(engine) -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 400_000)})
    current = pd.DataFrame({"x": rng.normal(0.02, 1, 400_000)})  # a shift that does not matter
    feature = drift_report(current, reference=reference, engine=engine).features["x"]
    assert feature.statistics["ks_pvalue"] < 1e-6  # a p-value test alone would alarm
    assert not feature.drift


@pytest.mark.parametrize(
    ("spec", "feature"),
    [
        (WeekSpec(covariate_shift={"monthly_usage": 0.5}), "monthly_usage"),
        (WeekSpec(covariate_shift={"tenure": -0.5}), "tenure"),
        (WeekSpec(covariate_shift={"contract": 0.4}), "contract"),
    ],
)
def test_shifts_that_matter_fire(engine, scenario, profile, spec, feature) -> None:
    report = drift_report(scenario.week(7, spec), profile=profile, config=CHURN, engine=engine)
    assert feature in report.dataset.drifted_features
    assert report.features[feature].score > report.features[feature].threshold


def test_edge_cases_give_defined_results(engine, scenario, reference, profile, tmp_path) -> None:
    current = scenario.week(5).drop(columns=["age"]).assign(extra_column=1)
    current["payment_delay"] = np.nan
    current["plan"] = current["plan"].where(current.index % 10 != 0, "platinum")
    current["monthly_usage"] = current["monthly_usage"].astype(object)
    current.loc[:9, "monthly_usage"] = "lots"
    current["monthly_usage"] = current["monthly_usage"].astype(str)
    current.loc[10:19, "last_login_days"] = np.inf
    path = tmp_path / "current.csv"
    current.to_csv(path, index=False)
    report = drift_report(str(path), profile=profile, config=CHURN, engine=engine)
    f = report.features
    assert f["age"].error == "column 'age' is missing from the current data"
    assert f["payment_delay"].error == "no values to compare: the current data has no valid values"
    assert f["payment_delay"].quality["issues"] == ["every value is missing"]
    assert f["plan"].quality["unseen_share"] == pytest.approx(0.1)
    assert f["plan"].quality["unseen_examples"] == [["platinum", 1000]]
    assert f["plan"].drift  # a new category on 10 % of rows is drift
    assert f["monthly_usage"].quality["type_error_share"] == pytest.approx(0.001)
    assert "not numbers" in f["monthly_usage"].quality["issues"][0]
    assert f["last_login_days"].quality["nonfinite_share_current"] == pytest.approx(0.001)
    assert report.dataset.extra_columns == ["extra_column"]
    assert set(report.dataset.failed_features) == {"age", "payment_delay"}
    assert report.dataset.features_checked == len(f) - 2


def test_empty_current_data_reports_every_feature_without_crashing(
    engine, profile, scenario
) -> None:
    report = drift_report(scenario.week(5).iloc[:0], profile=profile, config=CHURN, engine=engine)
    assert report.dataset.rows_current == 0
    assert report.dataset.features_checked == 0
    assert not report.dataset.drift
    assert all(f.error for f in report.features.values())


def test_constant_and_single_category_reference(engine) -> None:
    reference = pd.DataFrame({"c": [2.0] * 100, "k": ["only"] * 100})
    same = drift_report(reference, reference=reference, engine=engine)
    assert same.dataset.drifted_features == []
    moved = drift_report(
        pd.DataFrame({"c": [2.0] * 50 + [3.0] * 50, "k": ["only"] * 50 + ["new"] * 50}),
        reference=reference,
        engine=engine,
    )
    assert set(moved.dataset.drifted_features) == {"c", "k"}
    assert moved.features["c"].quality["above_range_share"] == 0.5
    assert math.isfinite(moved.features["c"].statistics["wasserstein"])


def test_rules_per_type_and_feature(engine, scenario, profile) -> None:
    config = parse_config(
        {
            "columns": {"id": ["customer_id"], "timestamp": "timestamp", "target": "churn"},
            "drift": {
                "numeric": {"method": "wasserstein"},
                "categorical": {"method": "js", "threshold": 0.05},
                "features": {
                    "tenure": {"method": "ks_pvalue", "threshold": 0.01},
                    "age": {"threshold": 0.5, "calibrated": False},
                },
            },
        }
    )
    report = drift_report(scenario.week(5), profile=profile, config=config, engine=engine)
    f = report.features
    assert (f["monthly_usage"].method, f["monthly_usage"].threshold) == ("wasserstein", 0.1)
    assert (f["plan"].method, f["plan"].threshold) == ("js", 0.05)
    assert (f["tenure"].method, f["tenure"].threshold) == ("ks_pvalue", 0.01)
    assert f["tenure"].drift == (f["tenure"].score < 0.01)
    assert (f["age"].method, f["age"].threshold, f["age"].threshold_source) == (
        "wasserstein",
        0.5,
        "fixed",
    )
    assert (f["autopay"].method, f["autopay"].threshold) == ("psi", 0.2)


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        (
            {"categorical": {"method": "ks"}},
            r"drift\.categorical: method 'ks' does not apply .* methods for",
        ),
        (
            {"features": {"tenur": {"threshold": 1}}},
            r"'tenur' is not a feature .* did you mean 'tenure'",
        ),
    ],
)
def test_rules_that_cannot_apply_are_refused(engine, profile, scenario, drift, message) -> None:
    config = parse_config({"columns": {"id": ["customer_id"]}, "drift": drift})
    with pytest.raises(ConfigError, match=message):
        drift_report(scenario.week(5), profile=profile, config=config, engine=engine)


def test_json_follows_the_documented_schema(engine, scenario, profile) -> None:
    report = drift_report(scenario.week(5), profile=profile, config=CHURN, engine=engine)
    data = json.loads(report.to_json())
    assert {"drift", "drift_share", "drifted_features", "rows_reference", "rows_current"} <= set(
        data["dataset"]
    )
    for feature in data["features"].values():
        assert {"type", "method", "threshold", "score", "drift", "statistics", "quality"} <= set(
            feature
        )
        assert feature["type"] in {"numeric", "categorical", "boolean"}
    numeric = data["features"]["tenure"]["statistics"]
    assert {"psi", "js", "ks", "ks_pvalue", "wasserstein", "hellinger", "chi2_pvalue"} <= set(
        numeric
    )
    quality = data["features"]["plan"]["quality"]
    assert {"null_share_reference", "null_share_current", "unseen_share"} <= set(quality)
