"""Tests of the churn scenario generator (driftpilot.demo)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.demo import ChurnScenario, SegmentConcept, WeekSpec, gradual, stationary, story
from driftpilot.demo._features import draw_features
from driftpilot.errors import ConfigError, DriftpilotError, SchemaError

FEATURES = ChurnScenario.FEATURES
NUMERIC = [name for name, kind in FEATURES.items() if kind == "numeric"]
CATEGORICAL = [name for name, kind in FEATURES.items() if kind == "categorical"]
COLUMNS = ["customer_id", "timestamp", *FEATURES, "churn"]
ROWS = 20_000
JUNK = {"n/a", "unknown", "-", "?", "#VALUE!"}
RANGES = {
    "tenure": (0, 72),
    "monthly_usage": (0.1, np.inf),
    "support_calls": (0, np.inf),
    "payment_delay": (0, np.inf),
    "age": (18, 90),
    "monthly_charge": (5, np.inf),
    "num_products": (1, 5),
    "last_login_days": (0, np.inf),
}
INTEGER_VALUED = ["tenure", "support_calls", "payment_delay", "age", "num_products"]

settings.register_profile("churn", deadline=None, max_examples=25)
settings.load_profile("churn")


@pytest.fixture(scope="module")
def scenario() -> ChurnScenario:
    return ChurnScenario(seed=42, rows_per_week=ROWS)


def _metrics(scenario: ChurnScenario, frame: pd.DataFrame) -> tuple[float, float]:
    """Accuracy of the stationary rule as a model, and its recall of churners in south."""
    predicted = scenario.churn_probability(frame) > 0.5
    churned = frame["churn"].to_numpy() == 1
    south = (frame["region"] == "south").to_numpy()
    return float((predicted == churned).mean()), float(predicted[churned & south].mean())


def _shares(frame: pd.DataFrame, name: str) -> dict[object, float]:
    return {
        level: float(share) for level, share in frame[name].value_counts(normalize=True).items()
    }


def _is_text(column: pd.Series) -> bool:
    """Text: pandas 3's ``str`` dtype, or (pandas 2) objects that are all ``str``."""
    if column.dtype == "str":
        return True
    return column.dtype == object and all(isinstance(v, str) for v in column.dropna())


def _check_schema(frame: pd.DataFrame, rows: int) -> None:
    assert list(frame.columns) == COLUMNS
    assert len(frame) == rows
    assert frame["customer_id"].dtype == np.int64
    assert frame["timestamp"].dtype == "datetime64[us]"
    assert frame["churn"].dtype == np.int64
    assert frame["autopay"].dtype == bool
    for name in NUMERIC:
        assert frame[name].dtype == np.float64, name
    for name in CATEGORICAL:
        assert _is_text(frame[name]), name
    assert frame["timestamp"].is_monotonic_increasing


# --- shape, dtypes, ranges -------------------------------------------------------------------


@given(
    seed=st.integers(0, 2**63),
    index=st.integers(0, 520),
    rows=st.integers(1, 400),
)
def test_week_has_the_promised_schema_and_ranges(seed: int, index: int, rows: int) -> None:
    scenario = ChurnScenario(seed=seed, rows_per_week=50)
    frame = scenario.week(index, rows=rows)
    _check_schema(frame, rows)
    for name, (low, high) in RANGES.items():
        values = frame[name].dropna()
        assert values.between(low, high).all(), name
    for name in INTEGER_VALUED:
        values = frame[name].dropna()
        assert (values == np.round(values)).all(), name
    nullable = {"payment_delay", "age"}
    assert not frame.drop(columns=list(nullable)).isna().any().any()
    for name in CATEGORICAL:
        assert set(frame[name]) <= set(ChurnScenario.LEVELS[name])
    assert set(frame["churn"]) <= {0, 1}
    assert frame["customer_id"].between(1, 50 * 50).all()
    week_start = pd.Timestamp(datetime(2026, 1, 5) + timedelta(weeks=index))
    assert (frame["timestamp"] >= week_start).all()
    assert (frame["timestamp"] < week_start + pd.Timedelta(weeks=1)).all()


def test_features_follow_their_documented_distributions(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, rows=100_000)
    for name, expected in ChurnScenario.REFERENCE_STD.items():
        assert frame[name].std() == pytest.approx(expected, rel=0.03), name
    for name in [*CATEGORICAL, "autopay"]:
        shares = _shares(frame, name)
        levels = ChurnScenario.LEVELS.get(name, (False, True))
        for level, probability in zip(levels, ChurnScenario.PROBABILITIES[name], strict=True):
            assert shares[level] == pytest.approx(probability, abs=0.01), (name, level)
    assert 0.15 <= (frame["region"] == "south").mean() <= 0.20
    assert frame["payment_delay"].isna().mean() == pytest.approx(0.03, abs=0.005)
    assert frame["age"].isna().mean() == pytest.approx(0.02, abs=0.005)
    assert (frame["payment_delay"] == 0).mean() > 0.5  # zero-inflated
    by_plan = frame.groupby("plan")["monthly_charge"].mean()
    assert by_plan["basic"] < by_plan["standard"] < by_plan["family"] < by_plan["premium"]


def test_customer_ids_repeat_across_weeks(scenario: ChurnScenario) -> None:
    first, second = scenario.week(0)["customer_id"], scenario.week(1)["customer_id"]
    assert first.max() <= 50 * ROWS
    assert len(set(first) & set(second)) > 100


def test_aware_start_is_converted_to_naive_utc() -> None:
    start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    frame = ChurnScenario(rows_per_week=10, start=start).week(0)
    assert frame["timestamp"].dt.tz is None
    assert frame["timestamp"].min() >= pd.Timestamp(datetime(2026, 1, 5, 0, 0))
    assert ChurnScenario(start=start).start == datetime(2026, 1, 5, 0, 0)
    assert ChurnScenario(start=datetime(2026, 1, 5, tzinfo=UTC)).start.tzinfo is None


# --- determinism -----------------------------------------------------------------------------


@given(seed=st.integers(0, 2**63), index=st.integers(0, 1000), rows=st.integers(1, 300))
def test_same_seed_gives_the_same_week(seed: int, index: int, rows: int) -> None:
    spec = WeekSpec(churn_rate=0.3, broken={"tenure": "strings", "age": "nulls"})
    for week_spec in (None, spec):
        first = ChurnScenario(seed=seed, rows_per_week=rows).week(index, week_spec)
        second = ChurnScenario(seed=seed, rows_per_week=rows).week(index, week_spec)
        pd.testing.assert_frame_equal(first, second)


def test_a_week_does_not_depend_on_other_weeks() -> None:
    alone = ChurnScenario(seed=3, rows_per_week=500).week(5)
    scenario = ChurnScenario(seed=3, rows_per_week=500)
    for index in (7, 2, 0):
        scenario.week(index)
    pd.testing.assert_frame_equal(scenario.week(5), alone)
    together = scenario.weeks(stationary(3), first=4)
    pd.testing.assert_frame_equal(together.iloc[500:1000].reset_index(drop=True), alone)


def test_different_seeds_and_weeks_differ() -> None:
    base = ChurnScenario(seed=1, rows_per_week=200)
    assert not base.week(0)["tenure"].equals(base.week(1)["tenure"])
    assert not base.week(0)["tenure"].equals(
        ChurnScenario(seed=2, rows_per_week=200).week(0)["tenure"]
    )


# --- the label rule --------------------------------------------------------------------------


def test_labels_are_bernoulli_draws_from_churn_probability() -> None:
    scenario = ChurnScenario(seed=9, rows_per_week=5_000)
    for concept in (None, SegmentConcept()):
        frame = scenario.week(2, WeekSpec(concept=concept))
        # The generator draws the features, then one uniform per row for the label.
        rng = np.random.default_rng([9, 2])
        draw_features(rng, 5_000, {})
        uniform = rng.random(5_000)
        probability = scenario.churn_probability(frame, concept)
        np.testing.assert_array_equal(frame["churn"].to_numpy() == 1, uniform < probability)


def _documented_probability(frame: pd.DataFrame, strength: float = 0.0) -> np.ndarray:
    """The rule exactly as written in ChurnScenario.churn_probability's docstring."""
    tenure = frame["tenure"].fillna(14.0).to_numpy()
    usage = frame["monthly_usage"].fillna(13.0).clip(lower=0.1).to_numpy()
    contract = frame["contract"].fillna("monthly").to_numpy()
    region = frame["region"].fillna("north").to_numpy()
    tenure_term = -0.12 * (tenure - 24)
    usage_term = -0.75 * np.log(usage / 12)
    logit = (
        -5.12
        + 1.8 * (contract == "monthly")
        - 1.5 * (contract == "two_year")
        + tenure_term
        + usage_term
        + 0.6 * (frame["support_calls"].fillna(1.0).to_numpy() - 1)
        + 0.15 * frame["payment_delay"].fillna(0.0).to_numpy()
        + 1.0 * ~frame["autopay"].to_numpy(dtype=bool)
        - 0.45 * (frame["num_products"].fillna(2.0).to_numpy() - 2)
        + 0.06 * (frame["last_login_days"].fillna(4.0).to_numpy() - 6)
        - 0.015 * (frame["age"].fillna(44.0).to_numpy() - 44)
        + 0.015 * (frame["monthly_charge"].fillna(47.0).to_numpy() - 50)
        - 0.5 * (region == "south")
    )
    logit = logit - 2 * strength * (tenure_term + usage_term) * (region == "south")
    return np.asarray(1 / (1 + np.exp(-logit)), dtype=np.float64)


def test_churn_probability_is_the_documented_formula(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, rows=5_000)
    holes = frame.copy()
    rows = np.arange(len(holes)) % 7 == 0
    for name in ("tenure", "monthly_usage", "contract", "region", "monthly_charge"):
        holes.loc[rows, name] = np.nan
    for data in (frame, holes):
        for strength in (0.0, 0.5, 1.0):
            concept = SegmentConcept(strength=strength)
            np.testing.assert_allclose(
                scenario.churn_probability(data, concept),
                _documented_probability(data, strength),
                rtol=1e-12,
            )


def test_stationary_churn_rate_is_about_twenty_percent(scenario: ChurnScenario) -> None:
    frame = scenario.week(0)
    probability = scenario.churn_probability(frame)
    assert frame["churn"].mean() == pytest.approx(0.20, abs=0.015)
    assert probability.mean() == pytest.approx(frame["churn"].mean(), abs=0.01)
    assert ((probability > 0) & (probability < 1)).all()


def test_rule_moves_with_its_documented_drivers(scenario: ChurnScenario) -> None:
    frame = scenario.week(0)
    rate = frame.groupby("contract")["churn"].mean()
    assert rate["monthly"] > rate["annual"] > rate["two_year"]
    assert (
        frame.loc[frame["tenure"] < 6, "churn"].mean()
        > frame.loc[frame["tenure"] > 36, "churn"].mean()
    )
    assert (
        frame.loc[~frame["autopay"], "churn"].mean() > frame.loc[frame["autopay"], "churn"].mean()
    )


def test_missing_inputs_are_imputed_deterministically(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, rows=200)
    blank = frame.copy()
    blank[NUMERIC] = np.nan
    blank[CATEGORICAL] = np.nan
    probability = scenario.churn_probability(blank)
    assert np.isfinite(probability).all()
    # With every input missing, only autopay differs between rows.
    assert len(np.unique(probability)) <= 2
    typical = frame.copy()
    typical["payment_delay"] = typical["payment_delay"].fillna(0.0)
    typical["age"] = typical["age"].fillna(44.0)
    np.testing.assert_array_equal(
        scenario.churn_probability(frame), scenario.churn_probability(typical)
    )


def test_churn_probability_needs_the_feature_columns(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, rows=10).drop(columns=["tenure", "plan"])
    with pytest.raises(SchemaError, match="tenure, plan are missing"):
        scenario.churn_probability(frame)


# --- concept drift ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_segment_concept_hides_in_overall_accuracy(seed: int) -> None:
    scenario = ChurnScenario(seed=seed, rows_per_week=ROWS)
    concept = WeekSpec(concept=SegmentConcept(column="region", value="south", strength=1.0))
    accuracy_before, recall_before = _metrics(scenario, scenario.week(4))
    accuracy_after, recall_after = _metrics(scenario, scenario.week(8, concept))
    assert abs(accuracy_after - accuracy_before) < 0.02
    assert recall_before - recall_after >= 0.25
    # Against its own stationary twin (same random numbers) the change is pure concept.
    twin_accuracy, twin_recall = _metrics(scenario, scenario.week(8))
    assert abs(accuracy_after - twin_accuracy) < 0.02
    assert twin_recall - recall_after >= 0.25


def test_concept_changes_labels_only_inside_the_segment(scenario: ChurnScenario) -> None:
    plain = scenario.week(8)
    drifted = scenario.week(8, WeekSpec(concept=SegmentConcept()))
    pd.testing.assert_frame_equal(plain.drop(columns="churn"), drifted.drop(columns="churn"))
    outside = (plain["region"] != "south").to_numpy()
    np.testing.assert_array_equal(plain["churn"][outside], drifted["churn"][outside])
    south = plain[~outside]
    # The competitor takes loyal heavy users: churners in south now have long tenure.
    assert drifted.loc[~outside & (drifted["churn"] == 1), "tenure"].mean() > (
        south.loc[south["churn"] == 1, "tenure"].mean() + 10
    )


def test_concept_strength_scales_the_change(scenario: ChurnScenario) -> None:
    frame = scenario.week(8, rows=2_000)
    south = (frame["region"] == "south").to_numpy()
    base = scenario.churn_probability(frame)
    none = scenario.churn_probability(frame, SegmentConcept(strength=0.0))
    half = scenario.churn_probability(frame, SegmentConcept(strength=0.5))
    full = scenario.churn_probability(frame, SegmentConcept(strength=1.0))
    np.testing.assert_array_equal(base, none)
    gap_half = np.abs(half - base)[south].mean()
    gap_full = np.abs(full - base)[south].mean()
    assert 0 < gap_half < gap_full
    pd.testing.assert_frame_equal(
        scenario.week(8, WeekSpec(concept=SegmentConcept(strength=0.0))), scenario.week(8)
    )


# --- label shift -----------------------------------------------------------------------------


def test_label_shift_hits_the_rate_and_keeps_p_x_given_y(scenario: ChurnScenario) -> None:
    plain = scenario.week(10)
    shifted = scenario.week(10, WeekSpec(churn_rate=0.35))
    _check_schema(shifted, ROWS)
    assert shifted["churn"].mean() == pytest.approx(0.35, abs=0.01)
    for label in (0, 1):
        for name in ("tenure", "monthly_usage", "support_calls"):
            before = plain[name][plain["churn"] == label].to_numpy()
            after = shifted[name][shifted["churn"] == label].to_numpy()
            error = 4 * np.hypot(before.std() / before.size**0.5, after.std() / after.size**0.5)
            assert abs(after.mean() - before.mean()) < error, (label, name)
    contract_before = plain.loc[plain["churn"] == 1, "contract"].value_counts(normalize=True)
    contract_after = shifted.loc[shifted["churn"] == 1, "contract"].value_counts(normalize=True)
    assert (contract_after - contract_before).abs().max() < 0.03


@given(rate=st.floats(0.01, 0.99), rows=st.integers(1, 500), seed=st.integers(0, 1000))
def test_label_shift_is_exact_for_any_rate(rate: float, rows: int, seed: int) -> None:
    frame = ChurnScenario(seed=seed, rows_per_week=rows).week(0, WeekSpec(churn_rate=rate))
    _check_schema(frame, rows)
    assert frame["churn"].sum() == round(rows * rate)


# --- covariate shift -------------------------------------------------------------------------


def test_numeric_shift_moves_the_mean_by_reference_stds(scenario: ChurnScenario) -> None:
    plain = scenario.week(4)
    shifted = scenario.week(6, WeekSpec(covariate_shift={"monthly_usage": 1.0}))
    moved = shifted["monthly_usage"].mean() - plain["monthly_usage"].mean()
    assert moved / ChurnScenario.REFERENCE_STD["monthly_usage"] == pytest.approx(1.0, rel=0.1)
    # The other features keep their distribution: against the twin week they are identical.
    twin = scenario.week(6)
    others = [name for name in FEATURES if name != "monthly_usage"]
    pd.testing.assert_frame_equal(shifted[others], twin[others])
    # P(y) moves only through the unchanged rule: heavier users churn less.
    np.testing.assert_array_equal(
        scenario.churn_probability(shifted) <= scenario.churn_probability(twin), True
    )
    assert shifted["churn"].mean() < twin["churn"].mean()


def test_negative_numeric_shift_stays_in_range(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, WeekSpec(covariate_shift={"tenure": -1.0, "age": 2.0}), rows=5_000)
    assert frame["tenure"].between(0, 72).all()
    assert (frame["tenure"] == np.round(frame["tenure"])).all()
    assert frame["age"].dropna().between(18, 90).all()
    assert frame["tenure"].mean() < scenario.week(0, rows=5_000)["tenure"].mean() - 10


@pytest.mark.parametrize(
    ("feature", "most", "least"),
    [("plan", "basic", "premium"), ("region", "north", "central"), ("autopay", True, False)],
)
def test_categorical_shift_moves_the_stated_mass(
    scenario: ChurnScenario, feature: str, most: object, least: object
) -> None:
    size = 0.5
    shifted = scenario.week(3, WeekSpec(covariate_shift={feature: size}))
    shares = _shares(shifted, feature)
    levels = ChurnScenario.LEVELS.get(feature, (False, True))
    reference: dict[object, float] = dict(
        zip(levels, ChurnScenario.PROBABILITIES[feature], strict=True)
    )
    moved = size * reference[most]
    assert shares[most] == pytest.approx(reference[most] - moved, abs=0.015)
    assert shares[least] == pytest.approx(reference[least] + moved, abs=0.015)
    for level in set(levels) - {most, least}:
        assert shares[level] == pytest.approx(reference[level], abs=0.015)


def test_gradual_grows_linearly() -> None:
    specs = gradual("tenure", 2.0, 4)
    assert [spec.covariate_shift["tenure"] for spec in specs] == [0.5, 1.0, 1.5, 2.0]
    frame = ChurnScenario(seed=5, rows_per_week=10_000).weeks(specs)
    means = frame.groupby(frame.index // 10_000)["tenure"].mean().to_numpy()
    assert (np.diff(means) > 0).all()


# --- broken data -----------------------------------------------------------------------------


@pytest.mark.parametrize("feature", ["payment_delay", "tenure", "plan", "autopay"])
def test_broken_nulls_reach_the_stated_share(scenario: ChurnScenario, feature: str) -> None:
    twin = scenario.week(11)
    frame = scenario.week(11, WeekSpec(broken={feature: "nulls"}, broken_share=0.3))
    assert frame[feature].isna().mean() == pytest.approx(0.3, abs=0.02)
    kept = frame[feature].notna()
    assert (frame.loc[kept, feature] == twin.loc[kept, feature]).all()
    # Breakage is a pipeline fault: labels and the other columns are untouched.
    pd.testing.assert_frame_equal(frame.drop(columns=feature), twin.drop(columns=feature))


def test_broken_nulls_keep_the_usual_share_when_asked_for_less(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, WeekSpec(broken={"payment_delay": "nulls"}, broken_share=0.01))
    assert frame["payment_delay"].isna().mean() == pytest.approx(0.03, abs=0.006)


@pytest.mark.parametrize("feature", ["monthly_usage", "tenure", "monthly_charge", "autopay"])
@pytest.mark.parametrize("share", [0.0, 0.3])
def test_broken_strings_deliver_text(scenario: ChurnScenario, feature: str, share: float) -> None:
    twin = scenario.week(11, rows=5_000)
    frame = scenario.week(11, WeekSpec(broken={feature: "strings"}, broken_share=share), rows=5_000)
    column = frame[feature]
    assert column.dtype == "str" or column.dtype == object
    assert pd.to_numeric(column, errors="coerce").isna().mean() >= share
    junk = column.isin(JUNK)
    assert junk.mean() == pytest.approx(share, abs=0.02)
    readable = ~junk & column.notna()
    if feature == "autopay":
        assert ((column[readable] == "yes") == twin.loc[readable, "autopay"]).all()
    else:
        numbers = pd.to_numeric(column[readable].str.split(" ").str[0])
        np.testing.assert_allclose(numbers, twin.loc[readable, feature])
    pd.testing.assert_frame_equal(frame.drop(columns=feature), twin.drop(columns=feature))


def test_broken_strings_look_like_numbers_with_units(scenario: ChurnScenario) -> None:
    frame = scenario.week(0, WeekSpec(broken={"tenure": "strings", "monthly_usage": "strings"}))
    tenure = frame["tenure"][~frame["tenure"].isin(JUNK)]
    usage = frame["monthly_usage"][~frame["monthly_usage"].isin(JUNK)]
    assert tenure.str.fullmatch(r"\d+ months").all()
    assert usage.str.fullmatch(r"\d+(\.\d)? GB").all()


@given(
    shift=st.dictionaries(st.sampled_from(list(FEATURES)), st.floats(0, 1), max_size=4),
    broken=st.dictionaries(
        st.sampled_from(list(FEATURES)), st.sampled_from(["nulls", "strings"]), max_size=3
    ),
    rate=st.none() | st.floats(0.05, 0.95),
    strength=st.floats(0, 1),
    rows=st.integers(1, 300),
)
def test_any_spec_gives_a_well_formed_week(
    shift: dict[str, float],
    broken: dict[str, str],
    rate: float | None,
    strength: float,
    rows: int,
) -> None:
    spec = WeekSpec(
        covariate_shift=shift,
        concept=SegmentConcept(strength=strength),
        churn_rate=rate,
        broken=broken,
    )
    frame = ChurnScenario(seed=1, rows_per_week=rows).week(2, spec)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == rows
    assert frame["timestamp"].is_monotonic_increasing
    intact = [name for name in FEATURES if name not in broken]
    for name in intact:
        if name not in ("payment_delay", "age"):
            assert frame[name].notna().all(), name
    for name, mode in broken.items():
        if mode == "strings":
            assert _is_text(frame[name])
    assert np.isfinite(ChurnScenario(seed=1).churn_probability(frame)).all()


# --- story and helpers -----------------------------------------------------------------------


def test_story_has_the_documented_twelve_weeks() -> None:
    specs = story()
    assert len(specs) == 12
    assert all(spec == WeekSpec() for spec in specs[:6])
    assert all(spec.covariate_shift == {"monthly_usage": 1.0} for spec in specs[6:8])
    for spec in specs[8:10]:
        assert spec.concept == SegmentConcept(column="region", value="south", strength=1.0)
    assert specs[10].churn_rate == 0.35
    assert specs[11].broken == {"payment_delay": "nulls"}
    frame = ChurnScenario(seed=0, rows_per_week=1_000).weeks(specs)
    assert len(frame) == 12_000
    assert frame["timestamp"].is_monotonic_increasing
    weeks = (frame["timestamp"] - pd.Timestamp("2026-01-05")) // pd.Timedelta(weeks=1)
    assert (weeks.to_numpy() == np.repeat(np.arange(12), 1_000)).all()


def test_weeks_of_nothing_is_an_empty_frame_with_the_schema() -> None:
    frame = ChurnScenario(rows_per_week=10).weeks([])
    _check_schema(frame, 0)


def test_stationary_and_gradual_sizes() -> None:
    assert stationary(0) == []
    assert len(stationary(4)) == 4
    assert len(gradual("plan", 0.4, 3)) == 3


def test_one_million_rows_is_fast() -> None:
    ChurnScenario(seed=0, rows_per_week=1000).week(0)  # first calls' one-off costs, untimed
    scenario = ChurnScenario(seed=0, rows_per_week=1_000_000)
    timings = []
    for week in (0, 1):  # the faster of two: another worker's load spikes one of them
        started = time.perf_counter()
        frame = scenario.week(week)
        timings.append(time.perf_counter() - started)
        assert len(frame) == 1_000_000
    assert min(timings) < 3.0, timings


# --- bad parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field", "words"),
    [
        (
            lambda: WeekSpec(covariate_shift={"tenur": 1.0}),
            "covariate_shift",
            ["monthly_usage", "'tenur'"],
        ),
        (
            lambda: WeekSpec(covariate_shift={"tenure": float("nan")}),
            "covariate_shift.tenure",
            ["nan"],
        ),
        (
            lambda: WeekSpec(covariate_shift={"plan": 1.5}),
            "covariate_shift.plan",
            ["between 0 and 1", "1.5"],
        ),
        (lambda: WeekSpec(broken={"usage": "nulls"}), "broken", ["monthly_usage", "'usage'"]),
        (lambda: WeekSpec(broken=["tenure"]), "broken", ["mapping", "list"]),  # type: ignore[arg-type]
        (
            lambda: WeekSpec(broken={"tenure": "zeros"}),
            "broken.tenure",
            ["nulls", "strings", "'zeros'"],
        ),
        (lambda: WeekSpec(broken_share=-0.1), "broken_share", ["between 0 and 1", "-0.1"]),
        (lambda: WeekSpec(broken_share=True), "broken_share", ["True"]),
        (lambda: WeekSpec(churn_rate=0.0), "churn_rate", ["strictly between 0 and 1", "0.0"]),
        (lambda: WeekSpec(churn_rate=1.2), "churn_rate", ["1.2"]),
        (lambda: WeekSpec(concept="south"), "concept", ["SegmentConcept", "str"]),  # type: ignore[arg-type]
        (lambda: SegmentConcept(column="tenure"), "concept.column", ["region", "'tenure'"]),
        (lambda: SegmentConcept(value="mars"), "concept.value", ["south", "'mars'"]),
        (lambda: SegmentConcept(strength=2.0), "concept.strength", ["2.0"]),
        (lambda: ChurnScenario(rows_per_week=0), "rows_per_week", [">= 1", "0"]),
        (lambda: ChurnScenario(seed=-1), "seed", [">= 0", "-1"]),
        (lambda: ChurnScenario(start="2026-01-05"), "start", ["datetime", "str"]),  # type: ignore[arg-type]
        (lambda: ChurnScenario().week(-1), "index", [">= 0", "-1"]),
        (lambda: ChurnScenario().week(0, rows=0), "rows", [">= 1"]),
        (lambda: ChurnScenario().week(0, spec={"churn_rate": 0.3}), "spec", ["WeekSpec", "dict"]),  # type: ignore[arg-type]
        (lambda: ChurnScenario().weeks([], first=-2), "first", [">= 0"]),
        (lambda: stationary(-1), "n", [">= 0"]),
        (lambda: gradual("tenure", 1.0, 0), "n", [">= 1"]),
        (lambda: gradual("plan", 2.0, 2), "covariate_shift.plan", ["between 0 and 1"]),
    ],
)
def test_bad_parameters_raise_config_error(make: object, field: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as raised:
        make()  # type: ignore[operator]
    error = raised.value
    assert isinstance(error, DriftpilotError)
    assert isinstance(error, ValueError)
    assert error.field == field
    assert error.hint
    for word in words:
        assert word in error.message, (word, error.message)


def test_unreachable_churn_rate_is_reported() -> None:
    # Heavy users rarely churn; a week of only heavy users cannot reach 99 % churn cheaply.
    spec = WeekSpec(covariate_shift={"monthly_usage": 40.0, "tenure": 10.0}, churn_rate=0.99)
    with pytest.raises(ConfigError, match="natural churn rate"):
        ChurnScenario(rows_per_week=100).week(0, spec)


def test_specs_are_validated_copies() -> None:
    shift = {"tenure": 1.0}
    spec = WeekSpec(covariate_shift=shift)
    shift["bogus"] = 1.0
    assert dict(spec.covariate_shift) == {"tenure": 1.0}
