"""The policy cycle with a feature store: it materializes when the schedule says so, checks
the views, and a paused materialization raises a stale-features alert a week later."""

from __future__ import annotations

import json
from datetime import timedelta

from driftpilot.demo.churn import ChurnScenario
from driftpilot.features.demo_repo import write_view_rows
from driftpilot.features.store import FeatureRepo
from driftpilot.log.writer import log_predictions
from driftpilot.policy.cycle import run_cycle
from driftpilot.profile.build import build_profile
from driftpilot.workspace import Workspace
from tests.features.conftest import MATERIALIZED, rows

POLICY = (
    "policy:\n  rules:\n"
    "    stale_features: stale_feature_views >= 1\n"
    "    data_drift: {when: drifted_features >= 1, severity: warn}\n"
    "alerts:\n  sinks:\n    - {type: jsonl, path: alerts.jsonl}\n"
)


def test_the_cycle_materializes_on_schedule_and_alerts_when_it_stops(space) -> None:
    with space.config_path.open("a") as config:
        config.write(POLICY)
    space = Workspace.open(space.root)
    build_profile(rows(), space.config).save(space.reference_path)
    week2 = ChurnScenario(seed=11, rows_per_week=400).week(2)
    write_view_rows(space.root / "features", week2, "week-02")
    logged = week2.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"})
    logged["entity_id"] = logged["entity_id"].astype(str)
    log_predictions(logged.assign(score=0.3), workspace=space)

    first = run_cycle(space, now=MATERIALIZED + timedelta(days=3))
    assert [m["view"] for m in first.materialized] == ["customer_profile_v1", "customer_usage_v2"]
    assert first.features is not None
    assert first.features.stale == []
    assert first.sent == []
    later = ChurnScenario(seed=11, rows_per_week=400).week(3).head(150)
    write_view_rows(space.root / "features", later, "after")  # written after it: not online
    again = run_cycle(space, now=MATERIALIZED + timedelta(days=3, hours=1))
    assert again.materialized == []  # not due: materialized an hour ago
    assert again.features.stale == []  # rows newer than the materialization do not count
    assert {s["mismatched"] for s in again.features.skew.values()} == {0}

    paused = space.config_path.read_text().replace(
        "schedule: 1d", "schedule: 1d\n  materialize: false"
    )
    space.config_path.write_text(paused)  # the schedule is paused
    space = Workspace.open(space.root)
    later = run_cycle(space, now=MATERIALIZED + timedelta(days=10))
    assert later.materialized == []
    assert sorted(later.features.stale) == ["customer_profile_v1", "customer_usage_v2"]
    (alert,) = [s.alert for s in later.sent]
    assert (alert.rule, alert.status, alert.severity) == ("stale_features", "open", "alert")
    assert "stale_feature_views" in alert.summary
    (line,) = (space.root / "alerts.jsonl").read_text().splitlines()
    assert json.loads(line)["rule"] == "stale_features"
    assert FeatureRepo(space).views()["customer_usage_v2"].last_materialized == (
        MATERIALIZED + timedelta(days=3)
    )


def test_a_feature_store_that_cannot_be_read_is_a_stale_check(space) -> None:
    with space.config_path.open("a") as config:
        config.write(POLICY)
    space = Workspace.open(space.root)
    build_profile(rows(), space.config).save(space.reference_path)
    logged = rows().drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"})
    log_predictions(logged.assign(entity_id=lambda f: f.entity_id.astype(str), score=0.3),
                    workspace=space)  # fmt: skip
    (space.root / "features" / "feature_store.yaml").rename(space.root / "moved.yaml")
    broken = run_cycle(space, now=MATERIALIZED + timedelta(hours=2))
    assert any("feature-store check failed" in e for e in broken.errors)
    assert sorted(broken.features.stale) == ["customer_profile_v1", "customer_usage_v2"]
    assert "no feature_store.yaml" in broken.features.views["customer_usage_v2"].reasons[0]
    (alert,) = [s.alert for s in broken.sent if s.alert.rule == "stale_features"]
    assert alert.status == "open"
