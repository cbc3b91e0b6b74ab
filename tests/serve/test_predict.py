"""POST /v1/predict: routing, fallback from a failing or slow challenger, shadow scoring,
logging, readiness, model swaps under load. Models are stand-ins with known scores; the
registry-backed path is tested in tests/canary."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient

from driftpilot.canary.state import STATE_TAG, CanaryState
from driftpilot.registry.client import LoadedModel
from driftpilot.schema import FeatureType
from driftpilot.serve.app import create_app
from driftpilot.serve.models import ModelSet
from driftpilot.workspace import Workspace, init_workspace

FEATURES = {
    "tenure": FeatureType.NUMERIC,
    "plan": FeatureType.CATEGORICAL,
    "autopay": FeatureType.BOOLEAN,
}
CONFIG = (
    "model:\n  name: churn\n"
    "  features: {tenure: numeric, plan: categorical, autopay: boolean}\n"
    "log:\n  flush_ms: 5\n"
    "serve:\n  refresh: 1h\n  challenger_timeout_ms: 50\n  log_flush_ms: 5\n"
)


class Stand:
    """A model whose probability is ``base + tenure / 1000``; it can raise or sleep."""

    def __init__(self, base: float, *, fail: bool = False, sleep: float = 0.0) -> None:
        self.base, self.fail, self.sleep = base, fail, sleep

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.fail:
            raise RuntimeError("challenger bug")
        if self.sleep:
            time.sleep(self.sleep)
        p = np.clip(self.base + frame["tenure"].fillna(0).to_numpy() / 1000, 0, 1)
        return np.column_stack([1 - p, p])


class Registry:
    """Aliases, tags and models as a server reads them."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {"champion": "1"}
        self.tags: dict[str, str] = {}
        self.models: dict[str, Stand] = {"1": Stand(0.1), "2": Stand(0.6)}
        self.loads = 0

    def state(self) -> tuple[dict[str, str], dict[str, str]]:
        return dict(self.aliases), dict(self.tags)

    def load(self, version: str) -> LoadedModel:
        self.loads += 1
        return LoadedModel(version, self.models[version], "sklearn", FEATURES, "binary")

    def canary(self, weight: float, shadow: float = 0.0, version: str = "2") -> None:
        self.aliases["challenger"] = version
        now = pd.Timestamp.now(tz="UTC").to_pydatetime()
        state = CanaryState(
            "canary-test", version, self.aliases["champion"], "running", 1, "stage",
            weight, shadow, now, now,
        )  # fmt: skip
        self.tags[STATE_TAG] = state.to_json()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(CONFIG)
    return Workspace.open(tmp_path)


def serve(workspace: Workspace, registry: Registry) -> tuple[TestClient, ModelSet]:
    models = ModelSet(read_state=registry.state, load=registry.load)
    return TestClient(create_app(workspace, models=models)), models


def instance(entity: str, tenure: float = 10.0, **extra: Any) -> dict[str, Any]:
    features = {"tenure": tenure, "plan": "basic", "autopay": True}
    return {"entity_id": entity, "features": features, **extra}


def table(workspace: Workspace, name: str) -> pd.DataFrame:
    path = workspace.root / "log" / name
    if not DeltaTable.is_deltatable(str(path)):
        return pd.DataFrame()
    return DeltaTable(str(path)).to_pandas()


def test_the_champion_answers_and_every_answer_is_logged_with_its_latency(
    workspace, registry
) -> None:
    client, _ = serve(workspace, registry)
    with client:
        answer = client.post("/v1/predict", json={"instances": [instance("a", 100.0)]})
        single = client.post("/v1/predict", json=instance("b", 0.0, prediction_id="mine"))
        listed = client.post("/v1/predict", json=[instance("c"), instance("d")])
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["predictions"]
    assert row["score"] == pytest.approx(0.2)  # 0.1 + 100 / 1000
    assert (row["prediction"], row["model_version"], row["route"]) == (0.0, "1", "champion")
    assert single.json()["predictions"][0]["prediction_id"] == "mine"
    assert len(listed.json()["predictions"]) == 2
    logged = table(workspace, "predictions").set_index("prediction_id")
    assert len(logged) == 4  # the server flushed on shutdown
    assert logged.loc["mine", "score"] == pytest.approx(0.1)
    assert logged.loc["mine", "entity_id"] == "b"
    assert (logged["latency_ms"] > 0).all()
    assert set(logged["route"]) == {"champion"}
    assert set(logged["model_version"]) == {"1"}


def test_bad_instances_are_refused_with_the_field_path(workspace, registry) -> None:
    client, _ = serve(workspace, registry)
    with client:
        wrong = client.post(
            "/v1/predict",
            json={"instances": [{"features": {"tenure": "x", "plan": "a", "autopay": 1}}]},
        )
        unknown = client.post("/v1/predict", json={"instances": [instance("a", colour="red")]})
        empty = client.post("/v1/predict", content=b"")
        fine = client.post("/v1/predict", json=instance("a"))
    assert wrong.status_code == 422
    assert "instances[0].features.tenure: expected a number" in wrong.text
    assert "instances[0].features.autopay: expected true, false or null" in wrong.text
    assert unknown.status_code == 422
    assert "colour" in unknown.text
    assert empty.status_code == 400
    assert fine.status_code == 200  # the server kept serving


def test_not_ready_without_a_champion(workspace, registry) -> None:
    registry.aliases.clear()
    client, _ = serve(workspace, registry)
    with client:
        ready = client.get("/readyz")
        answer = client.post("/v1/predict", json=instance("a"))
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert "no 'champion' alias" in ready.text
    assert answer.status_code == 503
    assert answer.json()["error"] == "not_ready"
    assert alive.status_code == 200


def test_a_token_protects_predict(workspace, registry, monkeypatch) -> None:
    monkeypatch.setenv("DRIFTPILOT_TOKEN", "s3cret")
    client, _ = serve(workspace, registry)
    with client:
        refused = client.post("/v1/predict", json=instance("a"))
        allowed = client.post(
            "/v1/predict", json=instance("a"), headers={"Authorization": "Bearer s3cret"}
        )
    assert refused.status_code == 401
    assert allowed.status_code == 200


def test_the_canary_share_is_sticky_by_entity(workspace, registry) -> None:
    registry.canary(weight=0.3)
    client, _ = serve(workspace, registry)
    entities = [f"customer-{i}" for i in range(2000)]
    with client:
        halves = [
            client.post("/v1/predict", json=[instance(e) for e in part]).json()["predictions"]
            for part in (entities[:1000], entities[1000:])
        ]
        again = client.post("/v1/predict", json=[instance(e) for e in entities[:500]]).json()
        too_many = client.post("/v1/predict", json=[instance(e) for e in entities])
    assert too_many.status_code == 413
    assert "serve.max_instances" in too_many.text
    first = {"predictions": halves[0] + halves[1]}
    routes = [p["route"] for p in first["predictions"]]
    share = routes.count("canary") / len(routes)
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(routes))
    assert [p["route"] for p in again["predictions"]] == routes[:500]
    for p in first["predictions"]:
        expected = ("2", 0.61) if p["route"] == "canary" else ("1", 0.11)
        assert (p["model_version"], round(p["score"], 6)) == expected


@pytest.mark.parametrize(
    ("fault", "kind"), [({"fail": True}, "error"), ({"sleep": 0.3}, "timeout")]
)
def test_a_faulty_challenger_never_fails_a_request(workspace, registry, fault, kind) -> None:
    if kind == "error":  # a loaded machine must not turn a raise into a 50 ms timeout
        text = workspace.config_path.read_text()
        assert "challenger_timeout_ms: 50\n" in text
        workspace.config_path.write_text(text.replace("timeout_ms: 50\n", "timeout_ms: 5000\n"))
        workspace = Workspace.open(workspace.root)
    registry.models["2"] = Stand(0.6, **fault)
    registry.canary(weight=0.5)
    client, _ = serve(workspace, registry)
    with client:
        answers = [
            client.post("/v1/predict", json=[instance(f"c{i}-{j}") for j in range(10)])
            for i in range(20)
        ]
        metrics = client.get("/metrics").text
    assert all(a.status_code == 200 for a in answers)
    rows = [p for a in answers for p in a.json()["predictions"]]
    assert {p["model_version"] for p in rows} == {"1"}  # the challenger answered nothing
    fallback = [p for p in rows if p["route"] == "fallback"]
    assert 0.3 < len(fallback) / len(rows) < 0.7
    errors = table(workspace, "errors")
    assert len(errors) == len(fallback)
    assert set(errors["kind"]) == {kind}
    assert set(errors["model_version"]) == {"2"}
    assert (
        f'driftpilot_serve_model_errors_total{{kind="{kind}",model_version="2",route="canary"}}'
        in metrics
    )


def test_shadow_scores_go_to_their_own_table(workspace, registry) -> None:
    registry.canary(weight=0.0, shadow=1.0)
    client, _ = serve(workspace, registry)
    with client:
        answer = client.post("/v1/predict", json=[instance(f"c{i}") for i in range(50)]).json()
    assert {p["route"] for p in answer["predictions"]} == {"champion"}
    shadow = table(workspace, "shadow")
    served = table(workspace, "predictions")
    assert len(shadow) == 50
    assert len(served) == 50
    assert set(shadow["prediction_id"]) == set(served["prediction_id"])  # labels join both
    assert set(shadow["model_version"]) == {"2"}
    assert set(shadow["route"]) == {"shadow"}
    assert shadow["score"].round(6).unique().tolist() == [0.61]


def test_models_swap_under_load_without_a_failed_request(workspace, registry) -> None:
    client, models = serve(workspace, registry)
    failures: list[str] = []
    versions: set[str] = set()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            answer = client.post("/v1/predict", json=instance("x"))
            if answer.status_code != 200:
                failures.append(answer.text)
            else:
                versions.add(answer.json()["predictions"][0]["model_version"])

    with client, ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(load)
        for champion in ("2", "1", "2"):
            time.sleep(0.2)
            registry.aliases["champion"] = champion
            models.refresh()
        time.sleep(0.2)
        stop.set()
    assert failures == []
    assert versions == {"1", "2"}
    assert models.swaps == 4  # the first load and three moves


def test_a_challenger_that_does_not_load_leaves_the_champion_serving(workspace, registry) -> None:
    registry.canary(weight=1.0, version="3")  # no such model
    client, models = serve(workspace, registry)
    with client:
        answer = client.post("/v1/predict", json=instance("a"))
        ready = client.get("/readyz").json()
    assert answer.json()["predictions"][0]["route"] == "champion"
    assert any("challenger version 3 did not load" in p for p in ready["problems"])
    loads = registry.loads
    models.refresh()
    assert registry.loads == loads  # not retried at every refresh


def test_without_a_registry_predict_says_how_to_get_a_model(workspace) -> None:
    with TestClient(create_app(workspace)) as client:  # no mlflow.db: an ingestion server
        answer = client.post("/v1/predict", json=instance("a"))
        ready = client.get("/readyz")
        logged = client.post(
            "/v1/predictions",
            json={"predictions": [{"features": instance("a")["features"], "score": 0.2}]},
        )
    assert answer.status_code == 503
    assert answer.json()["error"] == "no_models"
    assert "driftpilot register" in answer.text
    assert ready.status_code == 200
    assert logged.status_code == 200  # ingestion is unaffected


def test_a_new_challenger_is_not_held_up_by_the_calls_of_a_stuck_one(workspace, registry) -> None:
    registry.models["2"] = Stand(0.6, sleep=1.0)  # every call outlives the 50 ms timeout
    registry.models["3"] = Stand(0.7)
    registry.canary(weight=1.0)
    client, models = serve(workspace, registry)
    with client:
        stuck = client.post("/v1/predict", json=[instance(f"c{i}") for i in range(4)]).json()
        client.post("/v1/predict", json=instance("x"))  # both threads of version 2 now busy
        registry.canary(weight=1.0, version="3")
        models.refresh()
        fresh = client.post("/v1/predict", json=instance("y")).json()
    assert {p["route"] for p in stuck["predictions"]} == {"fallback"}
    assert fresh["predictions"][0]["model_version"] == "3"
