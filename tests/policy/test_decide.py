"""decide(): every trigger form, persistence, cooldown, k-of-n, calibration, determinism."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from driftpilot.errors import ConfigError
from driftpilot.policy.decide import decide
from driftpilot.policy.performance import sampling_error
from tests.policy.reports import NOW, config, reference, report


def statuses(outcome, rule):
    return [d.status for d in outcome.decisions if d.rule == rule]


def acted(outcome, rule):
    return [d.acted for d in outcome.decisions if d.rule == rule]


# the seed examples --------------------------------------------------------------------------


def test_seed_accuracy_floor_alerts_on_the_last_window_only():
    history = [report(i, accuracy=a) for i, a in enumerate([0.95, 0.93, 0.88, 0.85, 0.80])]
    outcome = decide(history, config({"floor": "accuracy < 0.85"}), NOW)
    assert statuses(outcome, "floor") == ["ok", "ok", "ok", "ok", "firing"]
    assert acted(outcome, "floor") == [False, False, False, False, True]
    assert outcome.level == "alert"
    assert outcome.exit_code == 2
    (evidence,) = outcome.decisions[-1].evidence
    assert evidence.value == 0.80
    assert evidence.threshold == 0.85


def test_seed_retrain_at_or_below_085():
    history = [report(i, accuracy=a) for i, a in enumerate([0.95, 0.93, 0.88, 0.85, 0.80])]
    outcome = decide(history, config({"retrain": "accuracy <= 0.85 -> retrain"}), NOW)
    assert [d.action for d in outcome.actions] == ["retrain"]
    assert outcome.actions[0].window_key == history[3].window_key  # the 0.85 window
    assert statuses(outcome, "retrain") == ["ok", "ok", "ok", "firing", "firing"]


def test_field_guide_rule_reads_as_written():
    rule = {"r": "psi(usage) > 0.2 or auc_drop > 0.05 -> retrain"}
    history = [
        report(0, auc=0.90),
        report(1, auc=0.84),  # auc drop 0.06
        report(2, auc=0.90, psi={"tenure": 0.01, "usage": 0.25}),
        report(3, auc=0.88),  # drop 0.02, no drift
    ]
    outcome = decide(history, config(rule), NOW, profile=reference(auc=0.9))
    assert [d.held for d in outcome.decisions] == [False, True, True, False]
    assert outcome.decisions[1].evidence[1].value == pytest.approx(0.06)
    assert outcome.decisions[2].evidence[0].where == "usage"
    # one incident over windows 1-2, resolved at 3: one retrain
    assert [d.acted for d in outcome.decisions] == [False, True, False, False]
    assert outcome.decisions[3].resolved == outcome.decisions[1].incident


# forms --------------------------------------------------------------------------------------


def test_any_feature_reports_the_worst_and_the_others():
    history = [report(0, psi={"a": 0.3, "b": 0.5, "c": 0.01})]
    outcome = decide(history, config({"r": "psi(*) > 0.2"}), NOW)
    (e,) = outcome.decisions[0].evidence
    assert (e.where, e.value, e.met) == ("b", 0.5, True)
    assert e.note == "also: a"


def test_and_or_precedence_and_k_of_n():
    history = [report(0, accuracy=0.8, auc=0.9, recall=0.5)]
    cases = {
        "accuracy < 0.85 and auc < 0.85 or recall < 0.6": True,  # (F) or T
        "accuracy < 0.85 and (auc < 0.85 or recall < 0.6)": True,
        "accuracy < 0.85 and auc < 0.85": False,
        "2 of (accuracy < 0.85, auc < 0.85, recall < 0.6)": True,
        "3 of (accuracy < 0.85, auc < 0.85, recall < 0.6)": False,
        "any(auc < 0.85, recall < 0.4)": False,
        "all(accuracy < 0.85, recall < 0.6)": True,
    }
    for text, expected in cases.items():
        outcome = decide(history, config({"r": text}), NOW)
        assert outcome.decisions[0].held is expected, text


def test_named_triggers_flags_and_detectors():
    history = [
        report(0, detectors={"adwin": True, "ddm": False}),
        report(1, detectors={"adwin": False, "ddm": False}),
        report(2, detectors={"adwin": True}, labeled=0),  # no labels: the detectors tell nothing
    ]
    rules = {"r": "usage_drift or detector(adwin)"}
    outcome = decide(
        history, config(rules, policy={"triggers": {"usage_drift": "psi(usage) > 0.2"}}), NOW
    )
    assert [d.held for d in outcome.decisions] == [True, False, None]
    counted = decide(history, config({"r": "detectors_fired >= 1"}), NOW)
    assert [d.held for d in counted.decisions] == [True, False, None]


def test_segment_worst_and_named():
    segments = {"north": 0.62, "south": 0.35, "east": 0.58}
    history = [report(0, segments=segments)]
    sections = {"monitor": {"segments": ["region"]}}
    worst = decide(history, config({"r": "recall(region=*) < 0.5"}, **sections), NOW)
    (e,) = worst.decisions[0].evidence
    assert (e.where, e.value, e.met) == ("region=south", 0.35, True)
    named = decide(history, config({"r": "recall(region=north) < 0.5"}, **sections), NOW)
    assert named.decisions[0].held is False


def test_segment_drop_against_the_champion_baseline():
    sections = {"monitor": {"segments": ["region"]}, "policy": {"baseline_windows": 2}}
    stable = {"north": 0.6, "south": 0.6}
    history = [
        report(0, segments=stable),
        report(1, segments={"north": 0.6, "south": 0.62}),
        report(2, segments={"north": 0.61, "south": 0.40}),  # south drops 0.21 vs median 0.61
        report(3, segments={"north": 0.6, "south": 0.6}, version="2"),  # a new champion
    ]
    outcome = decide(history, config({"r": "recall_drop(region=*) > 0.1"}, **sections), NOW)
    assert [d.held for d in outcome.decisions] == [None, False, True, None]  # no baseline: wait
    e = outcome.decisions[2].evidence[0]
    assert e.where == "region=south"
    assert e.value == pytest.approx(0.61 - 0.40)
    assert "no champion baseline" in outcome.decisions[3].evidence[0].note  # version 2 is new


def test_min_labels_and_min_rows():
    history = [report(0, accuracy=0.5, labeled=50), report(1, accuracy=0.5, rows=500, labeled=500)]
    outcome = decide(history, config({"r": {"when": "accuracy < 0.8", "min_rows": 1000}}), NOW)
    assert statuses(outcome, "r") == ["waiting", "too_small"]
    assert "fewer than min_labels 100" in outcome.decisions[0].evidence[0].note


def test_kpis_estimates_and_latency():
    kpi = {
        "numerator": {"count": True, "over": ["tp"]},
        "denominator": {"count": True, "over": ["tp", "fn"]},
    }
    sections = {"monitor": {"kpis": {"churn_recall": kpi}}}
    history = [report(0, kpis={"churn_recall": 0.5}), report(1, kpis={"churn_recall": 0.3})]
    outcome = decide(history, config({"r": "kpi(churn_recall) < 0.4"}, **sections), NOW)
    assert [d.held for d in outcome.decisions] == [False, True]
    drop = decide(history, config({"r": "kpi_drop(churn_recall) > 0.1"}, **sections), NOW)
    assert [d.held for d in drop.decisions] == [None, True]  # no baseline before window 1
    estimated = [report(0, estimate_auc=0.85, labeled=0)]
    found = decide(estimated, config({"r": "estimated_auc_drop > 0.03"}), NOW, profile=reference())
    assert found.decisions[0].held is True
    assert found.decisions[0].evidence[0].value == pytest.approx(0.05)
    latency = decide(estimated, config({"r": "latency_p99 > 100"}), NOW)
    assert latency.decisions[0].evidence[0].note == "no latency was logged"


# calibrated thresholds ----------------------------------------------------------------------


def test_calibrated_drift_threshold_is_mean_plus_k_std_scaled_for_small_windows():
    profile = reference(psi_mean=0.01, psi_std=0.005, chunk_rows=10_000)
    big = decide(
        [report(0, psi={"usage": 0.03}, rows=10_000)],
        config({"r": "psi(usage) > calibrated"}),
        NOW,
        profile=profile,
    )
    e = big.decisions[0].evidence[0]
    # chunk-sized window: mean + 3·std, scaled by (1/10,000 + 1/100,000)·10,000 = 1.1
    assert e.threshold == pytest.approx((0.01 + 3 * 0.005) * 1.1)
    assert e.met is True
    small = decide(
        [report(0, psi={"usage": 0.03}, rows=1000)],
        config({"r": "psi(usage) > calibrated"}),
        NOW,
        profile=profile,
    )
    e = small.decisions[0].evidence[0]
    assert e.threshold == pytest.approx(0.025 * (1 / 1000 + 1 / 100_000) * 10_000)
    assert e.met is False


def test_calibrated_auc_drop_scales_with_the_window():
    profile = reference(auc=0.9, std=0.01, chunk_rows=10_000)
    rule = config({"r": "auc_drop > calibrated"}, policy={"k": 2})
    same = decide([report(0, auc=0.875, labeled=10_000)], rule, NOW, profile=profile)
    assert same.decisions[0].evidence[0].threshold == pytest.approx(2 * 0.01)
    assert same.decisions[0].held is True
    quarter = decide([report(0, auc=0.875, labeled=2_500)], rule, NOW, profile=profile)
    assert quarter.decisions[0].evidence[0].threshold == pytest.approx(2 * 0.01 * 2)
    assert quarter.decisions[0].held is False
    floor = decide(
        [report(0, accuracy=0.86)], config({"r": "accuracy < calibrated"}), NOW, profile=profile
    )
    assert floor.decisions[0].evidence[0].threshold == pytest.approx(0.9 - 3 * 0.01)
    assert floor.decisions[0].held is True


# persistence and cooldown -------------------------------------------------------------------


def _flags(values):
    return [report(i, accuracy=0.7 if bad else 0.9) for i, bad in enumerate(values)]


def test_persistence_n_in_a_row():
    history = _flags([1, 0, 1, 1, 1, 0])
    outcome = decide(history, config({"r": {"when": "accuracy < 0.8", "persistence": 2}}), NOW)
    assert statuses(outcome, "r") == ["pending", "ok", "pending", "firing", "firing", "ok"]
    assert acted(outcome, "r") == [False, False, False, True, False, False]
    assert outcome.decisions[5].resolved == "r@" + history[3].window_key
    assert outcome.decisions[3].persistence == (
        "held in 2 of the last 2 judged windows (it must hold in 2 windows in a row)"
    )


def test_persistence_m_of_n():
    rule = {"when": "accuracy < 0.8", "persistence": {"count": 2, "of": 3}}
    outcome = decide(_flags([1, 0, 1, 0, 0]), config({"r": rule}), NOW)
    assert statuses(outcome, "r") == ["pending", "ok", "firing", "ok", "ok"]
    # 2 of 3 holds on through one good window (no flapping), then resolves
    outcome = decide(_flags([1, 1, 0, 0]), config({"r": rule}), NOW)
    assert statuses(outcome, "r") == ["pending", "firing", "firing", "ok"]
    assert acted(outcome, "r") == [False, True, False, False]


def test_cooldown_in_windows_and_as_a_duration():
    history = _flags([1, 0, 1, 0, 1, 1, 0, 1])
    windows = decide(history, config({"r": {"when": "accuracy < 0.8", "cooldown": 4}}), NOW)
    assert statuses(windows, "r") == [
        "firing",
        "ok",
        "cooldown",
        "ok",
        "firing",
        "firing",
        "ok",
        "cooldown",
    ]
    assert acted(windows, "r") == [True, False, False, False, True, False, False, False]
    days = decide(history, config({"r": {"when": "accuracy < 0.8", "cooldown": "15d"}}), NOW)
    # weekly windows: 14 days after the first opening is still cooling, 28 days is not
    assert acted(days, "r") == [True, False, False, False, True, False, False, True]


def test_windows_without_labels_neither_open_nor_resolve():
    """A performance rule cannot judge a window before its labels: the incident carries on."""
    history = [
        report(0, accuracy=0.7),
        report(1, accuracy=None, labeled=0),  # labels not in yet
        report(2, accuracy=0.7),
        report(3, accuracy=None, labeled=0),
        report(4, accuracy=0.9),
    ]
    outcome = decide(history, config({"r": {"when": "accuracy < 0.8", "persistence": 2}}), NOW)
    assert [d.held for d in outcome.decisions] == [True, None, True, None, False]
    assert statuses(outcome, "r") == ["pending", "waiting", "firing", "firing", "ok"]
    assert acted(outcome, "r") == [False, False, True, False, False]
    assert outcome.decisions[4].resolved == "r@" + history[2].window_key
    # one side unknown: "or" holds when the known side holds, is unknown otherwise
    either = decide(history[:2], config({"r": "accuracy < 0.8 or drift_share > 0.5"}), NOW)
    assert [d.held for d in either.decisions] == [True, None]


def test_open_windows_wait_unless_asked():
    history = _flags([0, 1])
    now = history[1].window  # the second window has not closed
    assert len(decide(history, config({"r": "accuracy < 0.8"}), now).decisions) == 1
    opened = decide(history, config({"r": "accuracy < 0.8"}, policy={"open_windows": True}), now)
    assert statuses(opened, "r") == ["ok", "firing"]


def test_levels_take_the_worst_active_severity():
    history = _flags([1])
    rules = {"w": {"when": "accuracy < 0.8", "severity": "warn"}, "a": "accuracy < 0.5"}
    outcome = decide(history, config(rules), NOW)
    assert (outcome.level, outcome.exit_code) == ("warn", 1)
    assert decide(_flags([0]), config(rules), NOW).exit_code == 0


def test_unknown_feature_is_refused_against_the_reference():
    with pytest.raises(ConfigError, match=r"unknown feature 'usgae' \(did you mean 'usage'\?\)"):
        decide([report(0)], config({"r": "psi(usgae) > 0.2"}), NOW, profile=reference())


def test_default_policy_is_quiet_on_stable_windows_and_fires_on_a_drop():
    profile = reference(auc=0.9, accuracy=0.9, std=0.005)
    quiet = [report(i, auc=0.9 + 0.003 * math.sin(i), accuracy=0.9) for i in range(8)]
    outcome = decide(quiet, config(None), NOW, profile=profile)
    assert {d.status for d in outcome.decisions} <= {"ok", "waiting"}
    assert outcome.actions == []
    dropped = [*quiet, report(8, auc=0.86)]
    outcome = decide(dropped, config(None), NOW, profile=profile)
    assert [d.rule for d in outcome.actions] == ["performance_drop"]


# determinism --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.6, 1.0), st.floats(0.0, 0.5), st.booleans()), min_size=1, max_size=10
    ),
    st.randoms(use_true_random=False),
)
def test_decide_is_deterministic_and_order_free(windows, rnd: random.Random):
    history = [
        report(i, accuracy=a, psi={"usage": p}, detectors={"adwin": d})
        for i, (a, p, d) in enumerate(windows)
    ]
    rules = {
        "a": {
            "when": "accuracy < 0.8 or psi(usage) > 0.2",
            "persistence": {"count": 2, "of": 3},
            "cooldown": 2,
        },
        "b": "2 of (accuracy < 0.9, detector(adwin), psi(*) > 0.1) -> retrain",
    }
    settings_ = config(rules)
    first = decide(history, settings_, NOW, profile=reference())
    shuffled = history[:]
    rnd.shuffle(shuffled)
    second = decide(shuffled, settings_, NOW, profile=reference())
    assert [d.to_dict() for d in first.decisions] == [d.to_dict() for d in second.decisions]
    assert len({d.id for d in first.decisions}) == len(first.decisions)
    # an incident's action is taken once: every acted window starts a firing run
    for rule in rules:
        states = statuses(first, rule)
        for i, did in enumerate(acted(first, rule)):
            if did:
                assert states[i] == "firing"
                assert i == 0 or states[i - 1] != "firing"


# sampling error of the calibrated thresholds ------------------------------------------------


def _agresti_coull(p: float, n: float) -> float:
    shrunk = (p * n + 2) / (n + 4)
    return math.sqrt(shrunk * (1 - shrunk) / (n + 4))


def test_sampling_error_of_a_proportion_by_hand():
    cells = {"tp": 30.0, "fp": 10.0, "tn": 50.0, "fn": 10.0}
    # Agresti and Coull: two successes and two failures added, (0.8·100 + 2) / 104
    expected = math.sqrt((82 / 104) * (22 / 104) / 104)
    assert sampling_error("accuracy", 0.8, cells) == pytest.approx(expected)
    assert sampling_error("recall", 0.75, cells) == pytest.approx(_agresti_coull(0.75, 40))
    assert sampling_error("precision", 0.75, cells) == pytest.approx(_agresti_coull(0.75, 40))
    assert sampling_error("f1", 0.75, cells) is None
    assert sampling_error("accuracy", 0.8, {"tp": 1.0}) is None
    # never zero at the edges, where the plain binomial error would be
    assert sampling_error("recall", 1.0, cells) > 0.01
    assert sampling_error("roc_auc", 1.0, cells) > 0.005


def test_auc_sampling_error_matches_simulation():
    """Hanley and McNeil's standard error against the spread of sklearn's AUC over samples.

    Their formula is exact for exponentially distributed scores; for binormal scores it is
    known to run a little high (13 % here), which errs on the quiet side for a threshold.
    """
    rng = np.random.default_rng(3)
    positives, negatives, shift = 300, 900, 1.2
    aucs = [
        roc_auc_score(
            np.r_[np.ones(positives), np.zeros(negatives)],
            np.r_[rng.normal(shift, 1, positives), rng.normal(0, 1, negatives)],
        )
        for _ in range(800)
    ]
    expected = float(np.mean(aucs))
    cells = {"tp": positives / 2, "fn": positives / 2, "tn": negatives / 2, "fp": negatives / 2}
    found = sampling_error("roc_auc", expected, cells)
    simulated = float(np.std(aucs))
    assert 0.95 * simulated <= found <= 1.2 * simulated
    exponential = [
        roc_auc_score(
            np.r_[np.ones(positives), np.zeros(negatives)],
            np.r_[rng.exponential(3, positives), rng.exponential(1, negatives)],
        )
        for _ in range(800)
    ]
    found = sampling_error("roc_auc", float(np.mean(exponential)), cells)
    assert found == pytest.approx(float(np.std(exponential)), rel=0.08)


def test_a_threshold_never_falls_below_thesampling_error():
    """Ten reference chunks that agree too closely must not make a tight threshold."""
    profile = reference(auc=0.9, accuracy=0.9, std=0.0001, chunk_rows=10_000)
    window = report(0, accuracy=0.885, labeled=1000)
    window.performance.update(tp=100.0, fp=50.0, tn=785.0, fn=65.0)
    outcome = decide([window], config({"r": "accuracy_drop > calibrated"}), NOW, profile=profile)
    (e,) = outcome.decisions[0].evidence
    assert e.threshold == pytest.approx(3 * _agresti_coull(0.9, 1000))
    assert e.met is False


def test_row_windows_close_when_full():
    sections = {"monitor": {"window": "rows", "window_rows": 10_000}}
    history = [report(0, accuracy=0.7), report(1, accuracy=0.7, rows=120, labeled=120)]
    outcome = decide(history, config({"r": "accuracy < 0.8"}, **sections), NOW)
    assert [d.window_key for d in outcome.decisions] == [history[0].window_key]


def test_quality_values_of_a_feature_whose_drift_failed_still_count():
    window = report(0)
    failed = window.features["tenure"].model_copy(
        update={"error": "no values to compare", "statistics": {},
                "quality": {"rows_current": 10_000, "null_share_current": 1.0}}
    )  # fmt: skip
    window = window.model_copy(update={"features": {**window.features, "tenure": failed}})
    outcome = decide([window], config({"r": "null_share(tenure) > 0.5"}), NOW)
    assert outcome.decisions[0].held is True
    stat = decide([window], config({"r": "psi(tenure) > 0.2"}), NOW)
    assert stat.decisions[0].held is None
    assert "no values to compare" in stat.decisions[0].evidence[0].note


def test_the_segment_that_raised_an_incident_is_waited_for():
    """South raised the incident; while its labels trickle in the rule waits, not resolves."""
    sections = {"monitor": {"segments": ["region"]}}
    rows = {"north": 0.6, "south": 0.2}
    history = [report(0, segments=rows), report(1, segments=rows), report(2, segments=rows)]
    partial = history[2].performance["by_segment"]["region"]["south"]
    partial["labeled"] = 50  # only 50 of south's labels so far
    outcome = decide(history, config({"r": "recall(region=*) < 0.5"}, **sections), NOW)
    assert [d.held for d in outcome.decisions] == [True, True, None]
    assert statuses(outcome, "r") == ["firing", "firing", "firing"]
    assert "region=south held last time" in outcome.decisions[2].evidence[0].note
    # a segment that never raised anything does not hold the rule up
    quiet = decide(history[2:], config({"r": "recall(region=*) < 0.5"}, **sections), NOW)
    assert quiet.decisions[0].held is False
