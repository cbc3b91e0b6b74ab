"""The HTTP API: every kind of bad input is a clear 4xx with the field path, the server keeps
serving, and an answered request is durable."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from driftpilot.engine.backend import Engine
from driftpilot.log.read import labeled_predictions
from driftpilot.serve.app import create_app
from driftpilot.workspace import Workspace, init_workspace

FEATURES = {"tenure": 12, "plan": "basic", "autopay": True}


def config_text(extra: str = "") -> str:
    return (
        "model:\n  name: churn\n"
        "  features: {tenure: numeric, plan: categorical, autopay: boolean}\n"
        "log:\n  flush_ms: 5\n  max_body_mb: 1\n" + extra
    )


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(config_text())
    return Workspace.open(tmp_path)


@pytest.fixture
def client(workspace):
    with TestClient(create_app(workspace)) as http:
        yield http


def prediction(pid: str, **changes) -> dict:
    return {"prediction_id": pid, "features": dict(FEATURES), "score": 0.3, **changes}


def logged(workspace) -> pd.DataFrame:
    engine = Engine.create()
    return engine.execute(labeled_predictions(engine, workspace)).to_pandas()


BAD = [
    (
        "missing feature",
        {"predictions": [{"prediction_id": "a", "features": {"tenure": 1}, "score": 0.1}]},
        422,
        "predictions[0].features: missing features ['plan', 'autopay']",
    ),
    (
        "extra feature",
        {"predictions": [prediction("a", features={**FEATURES, "age": 40})]},
        422,
        "predictions[0].features: unknown features ['age']",
    ),
    (
        "wrong type",
        {"predictions": [prediction("a", features={**FEATURES, "tenure": "12 months"})]},
        422,
        "predictions[0].features.tenure: expected a number or null, got '12 months'",
    ),
    (
        "probability above 1",
        {"predictions": [prediction("a", score=1.3)]},
        422,
        "predictions[0].score: expected a probability between 0 and 1, got 1.3",
    ),
    (
        "duplicate ids",
        {"predictions": [prediction("a"), prediction("a")]},
        422,
        "predictions[1].prediction_id: duplicate of predictions[0]",
    ),
    ("not a list", {"predictions": {"prediction_id": "a"}}, 422, "expected a list"),
    (
        "unknown top-level field",
        {"predictions": [prediction("a")], "extra": 1},
        422,
        "unknown top-level",
    ),
]


@pytest.mark.parametrize(("case", "body", "status", "message"), BAD, ids=[c for c, *_ in BAD])
def test_bad_predictions_are_refused_with_the_field_path(
    client, workspace, case, body, status, message
):
    answer = client.post("/v1/predictions", content=json.dumps(body))
    assert answer.status_code == status
    assert message in json.dumps(answer.json()).replace('\\"', '"')
    assert client.get("/healthz").status_code == 200  # still serving
    assert (
        client.post("/v1/predictions", json={"predictions": [prediction("ok")]}).status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"predictions": [{"score": NaN}]}', 400, "not_json"),
        (b'{"predictions": [{"score": 1e999}]}', 400, "not_json"),
        (b'{"predictions": [{"score": Infinity}]}', 400, "not_json"),
        (b"", 400, "empty"),
        (b"   ", 400, "empty"),
        (b"{not json", 400, "not_json"),
    ],
)
def test_malformed_bodies(client, body, status, error) -> None:
    answer = client.post("/v1/predictions", content=body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)


def test_a_50_mb_body_is_refused_before_it_is_read(client) -> None:
    answer = client.post("/v1/predictions", content=b"x" * (50 * 1024 * 1024))
    assert answer.status_code == 413
    assert "limit" in answer.json()["message"]


def test_a_body_without_length_is_cut_at_the_limit(client) -> None:
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    answer = client.post("/v1/predictions", content=chunks())
    assert answer.status_code == 413


def test_labels_for_unknown_predictions_are_held_and_join_later(client, workspace) -> None:
    assert client.post(
        "/v1/labels", json={"labels": [{"prediction_id": "early", "label": 1}]}
    ).json() == {"accepted": 1}
    assert client.post("/v1/predictions", json=[prediction("early")]).status_code == 200
    assert logged(workspace).set_index("prediction_id").loc["early", "label"] == 1.0


def test_resent_predictions_are_accepted_and_counted_once(client, workspace) -> None:
    for _ in range(3):
        assert client.post("/v1/predictions", json=prediction("same")).status_code == 200
    assert logged(workspace)["prediction_id"].tolist() == ["same"]


def test_write_endpoints_need_the_token_when_one_is_set(tmp_path) -> None:
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(config_text("serve:\n  token: s3cret\n"))
    with TestClient(create_app(Workspace.open(tmp_path))) as http:
        assert http.post("/v1/predictions", json=[prediction("a")]).status_code == 401
        wrong = http.post(
            "/v1/predictions", json=[prediction("a")], headers={"Authorization": "Bearer no"}
        )
        assert wrong.status_code == 401
        good = http.post(
            "/v1/predictions", json=[prediction("a")], headers={"Authorization": "Bearer s3cret"}
        )
        assert good.status_code == 200
        assert http.get("/healthz").status_code == 200  # reads stay open


def test_concurrent_requests_share_commits(client, workspace) -> None:
    def send(i: int) -> int:
        return client.post("/v1/predictions", json=[prediction(f"c{i}")]).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(send, range(200))) == {200}
    assert len(logged(workspace)) == 200
    from deltalake import DeltaTable

    assert DeltaTable(str(workspace.predictions_path)).version() < 150  # commits were grouped


def test_labels_in_one_commit_keep_their_order(tmp_path) -> None:
    """A label and its correction, sent a moment apart, share one commit: the later one wins."""
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(config_text().replace("flush_ms: 5", "flush_ms: 800"))
    space = Workspace.open(tmp_path)
    with TestClient(create_app(space)) as http, ThreadPoolExecutor(2) as pool:
        first = pool.submit(http.post, "/v1/labels", json=[{"prediction_id": "p", "label": 0}])
        time.sleep(0.2)
        second = pool.submit(http.post, "/v1/labels", json=[{"prediction_id": "p", "label": 1}])
        assert first.result().status_code == second.result().status_code == 200
        assert http.post("/v1/predictions", json=[prediction("p")]).status_code == 200
    from deltalake import DeltaTable

    assert DeltaTable(str(space.labels_path)).version() == 0  # both in the first commit
    assert logged(space).set_index("prediction_id").loc["p", "label"] == 1.0


def test_a_failed_commit_is_503_and_an_unsynced_one_500(client, workspace, monkeypatch) -> None:
    import driftpilot.log.writer as writer

    def no_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import deltalake

    monkeypatch.setattr(deltalake, "write_deltalake", no_disk)  # the writer imports it per call
    failed = client.post("/v1/predictions", json=[prediction("lost")])
    assert failed.status_code == 503
    assert failed.json()["error"] == "not_written"
    assert "retrying is safe" in failed.json()["message"]
    monkeypatch.undo()
    monkeypatch.setattr(writer, "_sync", no_disk)
    unsynced = client.post("/v1/predictions", json=[prediction("kept")])
    assert unsynced.status_code == 500
    assert unsynced.json()["error"] == "not_confirmed"
    assert unsynced.json()["prediction_ids"] == ["kept"]
    assert logged(workspace)["prediction_id"].tolist() == ["kept"]
    assert client.get("/healthz").status_code == 200


def test_a_killed_server_loses_no_answered_request(workspace) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "driftpilot", "serve", "-w", str(workspace.root), "--port", "0"],
        env={**os.environ},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        for line in server.stderr:  # --port 0: the startup line says which port it got
            if "running on" in line:
                url = re.search(r"http://[\d.]+:\d+", line).group(0)
                break
        assert url is not None
        assert url.startswith("http://127.0.0.1:")  # bound to loopback by default
        threading.Thread(target=server.stderr.read, daemon=True).start()  # keep the pipe drained
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # the first write loads the log's libraries: answered before the clients start
        assert httpx.post(f"{url}/v1/predictions", json=[prediction("warm")], timeout=30)
        answered: list[str] = ["warm"]
        stop = threading.Event()

        def client(worker: int) -> None:
            with httpx.Client(timeout=5) as http:
                i = 0
                while not stop.is_set():
                    pid = f"w{worker}-{i}"
                    try:
                        if (
                            http.post(f"{url}/v1/predictions", json=[prediction(pid)]).status_code
                            == 200
                        ):
                            answered.append(pid)
                    except httpx.TransportError:
                        return
                    i += 1

        threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.send_signal(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.kill()
        server.wait()
    assert len(answered) > 50
    ids = set(logged(workspace)["prediction_id"])
    assert set(answered) <= ids
