"""The server's feature endpoints: GET /features, and POST /v1/predict with entity ids only
(stand-in models whose score is a known function of tenure, read from the online store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from driftpilot.serve.app import create_app
from driftpilot.serve.models import ModelSet
from tests.features.conftest import MATERIALIZED, rows
from tests.serve.test_predict import Registry, table


@pytest.fixture
def client(space):
    registry = Registry()
    models = ModelSet(read_state=registry.state, load=registry.load)
    with TestClient(create_app(space, models=models)) as http:
        yield http


def latest() -> pd.DataFrame:
    source = rows()
    return source.drop_duplicates("customer_id", keep="last").set_index("customer_id")


def test_get_features_answers_values_times_versions_and_status(client) -> None:
    known = latest().index[-3:].tolist()
    answer = client.get(f"/features?ids={known[0]},{known[1]}&ids={known[2]},77&features=tenure")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [e["entity_id"] for e in body["entities"]] == [*map(str, known), "77"]
    for entity, found in zip(known, body["entities"], strict=False):
        tenure = found["features"]["tenure"]
        assert list(found["features"]) == ["tenure"]
        assert tenure["value"] == latest().loc[entity, "tenure"]
        moment = pd.Timestamp(latest().loc[entity, "timestamp"], tz="UTC").floor("s")
        assert datetime.fromisoformat(tenure["event_timestamp"]) == moment
        assert (tenure["view"], tenure["version"]) == ("customer_profile_v1", "v1")
        # the server judges with the real clock: later than January's values' 90-day TTL
        assert datetime.now(UTC) > moment + pd.Timedelta(days=90)
        assert tenure["status"] == "stale"
    assert body["entities"][3]["features"]["tenure"]["status"] == "missing"
    assert body["views"]["customer_profile_v1"]["ttl_seconds"] == 90 * 86400
    every = client.get(f"/features?ids={known[0]}").json()["entities"][0]["features"]
    assert len(every) == 12


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("", 422, "give entity ids"),
        ("ids=1&features=shoe_size", 422, "unknown features"),
        ("ids=c-42", 422, "not an integer"),
        ("ids=1&colour=red", 422, "unknown query parameters"),
        ("ids=" + ",".join(map(str, range(1001))), 413, "serve.max_instances"),
    ],
)
def test_bad_feature_requests_are_refused_with_the_reason(client, query, status, words) -> None:
    answer = client.get(f"/features?{query}")
    assert answer.status_code == status
    assert words in answer.json()["message"]
    assert client.get("/healthz").status_code == 200


def test_instances_with_only_an_entity_id_are_scored_from_the_online_store(client, space) -> None:
    lookup = client.app.features.lookup
    lookup.clock = lambda: MATERIALIZED  # the values' own time: within their TTLs
    known = latest().index[-4:].tolist()
    sent = [{"entity_id": str(e)} for e in known[:3]]
    mine = {"tenure": 500.0, "plan": "basic", "autopay": True}
    sent.append({"entity_id": str(known[3]), "features": mine})  # sent: not looked up
    answer = client.post("/v1/predict", json={"instances": sent})
    assert answer.status_code == 200, answer.text
    scores = [p["score"] for p in answer.json()["predictions"]]
    expected = [0.1 + latest().loc[e, "tenure"] / 1000 for e in known[:3]] + [0.6]
    assert scores == pytest.approx(expected)  # the stand-in scores 0.1 + tenure / 1000
    late = (MATERIALIZED + timedelta(days=100)).isoformat()  # past the profile's 90-day TTL
    expired = client.post("/v1/predict", json={"instances": [{**sent[0], "timestamp": late}]})
    assert expired.json()["predictions"][0]["score"] == pytest.approx(0.1)  # tenure missing
    unknown = client.post("/v1/predict", json={"instances": [{"entity_id": "77"}]})
    assert unknown.status_code == 422
    assert "instances[0].entity_id" in unknown.json()["message"]
    assert "no online values" in unknown.json()["message"]
    client.__exit__(None, None, None)  # the server stops: the log is written
    first = {p["prediction_id"] for p in answer.json()["predictions"]}
    logged = table(space, "predictions")
    logged = logged[logged.prediction_id.isin(first)].set_index("entity_id")
    for entity in known[:3]:
        assert logged.loc[str(entity), "plan"] == latest().loc[entity, "plan"]
        assert logged.loc[str(entity), "tenure"] == latest().loc[entity, "tenure"]


def test_the_token_guards_feature_reads(space, monkeypatch) -> None:
    monkeypatch.setenv("DRIFTPILOT_TOKEN", "s3cret")
    with TestClient(create_app(space)) as http:
        assert http.get("/features?ids=1").status_code == 401
        ok = http.get("/features?ids=1", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_an_online_store_that_fails_is_a_503_and_the_server_lives_on(client) -> None:
    lookup = client.app.features.lookup

    def broken(*args, **kwargs):
        raise RuntimeError("database is locked")

    lookup.repo.online = broken
    predicted = client.post("/v1/predict", json={"instances": [{"entity_id": "1"}]})
    assert predicted.status_code == 503
    assert predicted.json()["error"] == "store_unavailable"
    assert "database is locked" in predicted.json()["message"]
    read = client.get("/features?ids=1")
    assert read.status_code == 503
    assert "database is locked" in read.json()["message"]
    assert client.get("/healthz").status_code == 200
