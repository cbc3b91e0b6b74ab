"""The Feast adapter against hand computations on the source rows: online after
materialization equals offline point in time, the point-in-time join (TTL, created-timestamp
filter, duplicates, unknown entities), freshness with an injected clock, the skew check."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from driftpilot.errors import ConfigError, DataError
from driftpilot.features.check import check_features
from driftpilot.features.demo_repo import PROFILE, USAGE, VIEWS, write_view_rows
from driftpilot.features.lookup import Lookup
from driftpilot.features.store import FeatureRepo
from driftpilot.workspace import Workspace
from tests.features.conftest import MATERIALIZED, rows

ALL = PROFILE + USAGE


def same(a, b) -> bool:
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return a == b


def as_of(source: pd.DataFrame, entity: int, moment: pd.Timestamp, ttl: timedelta) -> pd.Series:
    """The oracle: the entity's latest row at or before ``moment`` within ``ttl``."""
    mine = source[(source.customer_id == entity) & (source.timestamp <= moment)]
    mine = mine[mine.timestamp > moment - ttl]
    return mine.sort_values("timestamp").iloc[-1] if len(mine) else None


def test_online_values_after_materialization_equal_the_offline_point_in_time_values(
    built,
) -> None:
    repo = FeatureRepo(built)
    views = repo.feature_views(ALL)
    source = rows()
    ids = source.drop_duplicates("customer_id", keep="last").customer_id.tolist()[-150:]
    values, stamps = repo.online([str(i) for i in ids], views)
    moments = (
        pd.to_datetime([stamps["tenure"][i] for i in range(len(ids))], unit="s", utc=True)
        + pd.Timedelta(seconds=1)
        - pd.Timedelta(microseconds=1)
    )
    offline = repo.historical(pd.DataFrame({"entity_id": ids, "timestamp": moments}), views)
    latest = source.assign(timestamp=pd.to_datetime(source.timestamp, utc=True))
    latest = latest.sort_values("timestamp").drop_duplicates("customer_id", keep="last")
    latest = latest.set_index("customer_id")
    for i, entity in enumerate(ids):
        assert stamps["tenure"][i] == int(latest.loc[entity, "timestamp"].timestamp())
        for name in ALL:
            assert same(values[name][i], offline[name].iloc[i]), (entity, name)
            assert same(values[name][i], latest.loc[entity, name]), (entity, name)


def test_the_point_in_time_join_keeps_every_row_in_order_and_applies_the_ttl(built) -> None:
    repo = FeatureRepo(built)
    views = repo.feature_views(["tenure", "monthly_usage"])
    source = rows().assign(timestamp=lambda f: pd.to_datetime(f.timestamp, utc=True))
    picked = source.sample(60, random_state=3)
    later = picked.timestamp + pd.Timedelta(days=8)  # past usage's 7-day TTL, not profile's
    entities = pd.DataFrame(
        {
            "entity_id": [*picked.customer_id, *picked.customer_id, 999_999_999, 999_999_999],
            "timestamp": [*picked.timestamp, *later, picked.timestamp.iloc[0]] * 1
            + [picked.timestamp.iloc[0]],
        },
        index=np.arange(122)[::-1],  # any index: the answer follows the rows' order
    )
    entities.loc[entities.index[1], :] = entities.iloc[0].tolist()  # a duplicate pair
    joined = repo.historical(entities, views)
    assert list(joined.index) == list(entities.index)
    ttl = {"tenure": timedelta(days=90), "monthly_usage": timedelta(days=7)}
    for (_, row), (_, got) in zip(entities.iterrows(), joined.iterrows(), strict=True):
        for name in ("tenure", "monthly_usage"):
            expected = as_of(source, row.entity_id, row.timestamp, ttl[name])
            want = None if expected is None else expected[name]
            assert same(got[name], want), (row.entity_id, row.timestamp, name)
    assert joined.iloc[-2:].isna().all().all()  # an unknown entity: nulls, not a lost row


def test_a_backfill_never_reaches_training_rows_before_it_was_created(space) -> None:
    repo = FeatureRepo(space)
    views = repo.feature_views(["monthly_usage"])
    source = rows()
    row = source.iloc[[10]].copy()
    event = pd.Timestamp(row.timestamp.iloc[0], tz="UTC")
    backfill = row.assign(monthly_usage=999.0)
    created = pd.Series([event + pd.Timedelta(days=3)])
    write_view_rows(space.root / "features", backfill, "backfill", created=created)
    repo.refresh()
    entity = int(row.customer_id.iloc[0])
    asked = pd.DataFrame(
        {
            "entity_id": [entity, entity],
            "timestamp": [event + pd.Timedelta(hours=1), event + pd.Timedelta(days=4)],
        }
    )
    known = repo.historical(asked, views)["monthly_usage"].tolist()
    leaked = repo.historical(asked, views, known_at_event=False)["monthly_usage"].tolist()
    assert known == [row.monthly_usage.iloc[0], 999.0]  # the backfill only once it existed
    assert leaked == [999.0, 999.0]  # what Feast gives without the created-timestamp filter


def test_values_past_their_ttl_are_stale_and_never_fresh(built) -> None:
    source = rows()
    entity = str(source.customer_id.iloc[-1])
    event = pd.Timestamp(source.timestamp.iloc[-1], tz="UTC").to_pydatetime()
    lookup = Lookup(built)
    soon = lookup.get([entity, "424242424"], now=event + timedelta(days=1))
    later = lookup.get([entity], now=event + timedelta(days=8))
    values = soon["entities"][0]["features"]
    assert {values[f]["status"] for f in ALL} == {"fresh"}
    assert values["tenure"]["version"] == "v1"
    assert values["monthly_usage"]["version"] == "v2"
    assert values["monthly_usage"]["view"] == "customer_usage_v2"
    assert values["tenure"]["value"] == source.tenure.iloc[-1]
    assert {v["status"] for v in soon["entities"][1]["features"].values()} == {"missing"}
    past = later["entities"][0]["features"]
    assert {past[f]["status"] for f in USAGE} == {"stale"}  # 8 days > the 7-day TTL
    assert {past[f]["status"] for f in PROFILE} == {"fresh"}  # 90-day TTL
    assert past["monthly_usage"]["value"] == source.monthly_usage.iloc[-1]  # still shown
    scored, problems = lookup.for_scoring([entity], ALL, at=[event + timedelta(days=8)])
    assert problems == []
    assert all(scored[0][f] is None for f in USAGE)  # the model sees what training saw
    assert scored[0]["tenure"] == source.tenure.iloc[-1]
    with pytest.raises(DataError, match="unknown features"):
        lookup.get([entity], ["tenure", "shoe_size"])
    with pytest.raises(DataError, match="not an integer"):
        lookup.get(["c-42"])


def test_a_missed_schedule_makes_every_view_stale(built) -> None:
    fresh = check_features(built, MATERIALIZED + timedelta(hours=6))
    assert fresh.stale == []
    assert all(h.status == "fresh" for h in fresh.views.values())
    assert {f: s["rate"] for f, s in fresh.skew.items()} == {f: 0.0 for f in ALL}
    week = check_features(built, MATERIALIZED + timedelta(days=7))
    assert sorted(week.stale) == sorted(VIEWS)
    profile = week.views["customer_profile_v1"]
    assert profile.status == "stale"
    assert profile.materialization_age_seconds == pytest.approx(7 * 86400)
    assert any("schedule was missed" in r for r in profile.reasons)
    assert profile.allowed_seconds == 2 * 86400  # twice the daily schedule


def test_the_skew_check_finds_values_the_offline_store_changed_after_materialization(
    space,
) -> None:
    source = rows()
    changed = source.drop_duplicates("customer_id", keep="last").iloc[-5:]  # the sampled
    fixed = changed.assign(plan="family", age=1.0)
    created = pd.to_datetime(changed.timestamp, utc=True) + pd.Timedelta(hours=1)
    write_view_rows(space.root / "features", fixed, "fix", created=created)
    check = check_features(space, MATERIALIZED + timedelta(hours=1))
    plan, age, tenure = (check.skew[f] for f in ("plan", "age", "tenure"))
    moved = int((changed.plan != "family").sum())
    assert plan["mismatched"] == moved
    assert age["mismatched"] == 5
    assert age["rate"] == pytest.approx(5 / age["compared"])
    assert tenure["mismatched"] == 0
    assert {e["offline"] for e in age["examples"]} == {1.0}


def test_a_workspace_without_a_repository_says_how_to_get_one(tmp_path) -> None:
    (tmp_path / "driftpilot.yaml").write_text("model: {name: churn}\n")
    with pytest.raises(ConfigError, match=r"features.repo is not set"):
        FeatureRepo(Workspace.open(tmp_path))
    (tmp_path / "driftpilot.yaml").write_text("features: {repo: nowhere}\n")
    with pytest.raises(ConfigError, match=r"no feature_store\.yaml"):
        FeatureRepo(Workspace.open(tmp_path))


def test_unknown_views_and_features_are_named(built, tmp_path) -> None:
    config = built.config_path.read_text().replace("customer_usage_v2]", "customer_usage_v3]")
    text = built.root / "other.yaml"
    text.write_text(config)
    with pytest.raises(ConfigError, match=r"customer_usage_v3.*registry.*customer_usage_v2"):
        FeatureRepo(Workspace.open(built.root, config=text)).views()
    with pytest.raises(ConfigError, match="shoe_size"):
        FeatureRepo(built).feature_views(["tenure", "shoe_size"])


def test_a_materialization_reaches_back_at_most_the_lookback(space) -> None:
    space.config_path.write_text(space.config_path.read_text() + "  lookback: 1d\n")
    repo = FeatureRepo(Workspace.open(space.root))
    end = MATERIALIZED + timedelta(days=10)
    done = repo.materialize(end)
    assert {(d["start"], d["end"]) for d in done} == {
        ((end - timedelta(days=1)).isoformat(), end.isoformat())
    }
    assert repo.materialize(end) == []  # nothing new up to then
    assert repo.views()["customer_usage_v2"].last_materialized == end


def test_views_of_different_entities_are_refused(built, monkeypatch) -> None:
    from dataclasses import replace

    repo = FeatureRepo(built)
    views = dict(repo.views())
    views["customer_usage_v2"] = replace(views["customer_usage_v2"], join_key="account_id")
    monkeypatch.setattr(repo, "views", lambda: views)
    with pytest.raises(ConfigError, match="same join key"):
        repo.feature_views()
