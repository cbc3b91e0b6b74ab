"""The dashboard's routes: the page, its data and plotly.js; the token; /ui on the serve app."""

from fastapi.testclient import TestClient

from driftpilot.report.html import plotly_js
from driftpilot.serve.app import create_app
from driftpilot.serve.ui import COOKIE, create_ui_app, dashboard_tokens
from driftpilot.workspace import Workspace, init_workspace


def test_dashboard_serves_the_page_its_data_and_plotly(demo_story) -> None:
    result, _ = demo_story
    space = Workspace.open(result.workspace)
    with TestClient(create_ui_app(space, refresh=5.0)) as http:
        assert http.get("/", follow_redirects=False).headers["location"] == "/ui"
        page = http.get("/ui")
        assert page.status_code == 200
        assert 'data-refresh="5.0"' in page.text
        assert '<script src="/ui/plotly.js">' in page.text
        assert len(page.text) < 1_000_000  # plotly.js comes once, from its own route
        assert page.headers["cache-control"] == "no-store"
        data = http.get("/ui/view.json").json()
        assert data["meta"]["windows"] == len(result.reports)
        assert {v["version"] for v in data["models"]["versions"]} == {"1", "2", "3"}
        js = http.get("/ui/plotly.js")
        assert js.headers["content-type"].startswith("application/javascript")
        assert js.text == plotly_js()


def test_dashboard_needs_the_token_when_one_is_set(tmp_path) -> None:
    space = init_workspace(tmp_path)
    with TestClient(create_ui_app(space, tokens=("s3cret",))) as http:
        for path in ("/ui", "/ui/view.json", "/ui/plotly.js"):
            assert http.get(path).status_code == 401
        assert http.get("/ui?token=wrong").status_code == 401
        assert http.get("/ui", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        login = http.get("/ui?token=s3cret", follow_redirects=False)
        assert login.status_code == 303
        assert login.headers["location"] == "/ui"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie  # a link from an alert arrives logged in
        assert "path=/ui" in cookie
        assert http.cookies.get(COOKIE) == "s3cret"
        assert http.get("/ui").status_code == 200  # the cookie from now on
        http.cookies.set(COOKIE, "forged")
        assert http.get("/ui").status_code == 401
        assert http.get("/ui", headers={"Authorization": "bearer s3cret"}).status_code == 200


def test_serve_app_has_the_dashboard_unless_turned_off(tmp_path) -> None:
    init_workspace(tmp_path)
    config = "model:\n  features: {tenure: numeric}\n"
    (tmp_path / "driftpilot.yaml").write_text(config)
    with TestClient(create_app(Workspace.open(tmp_path))) as http:
        assert http.get("/ui").status_code == 200
    (tmp_path / "driftpilot.yaml").write_text(config + "report: {serve_ui: false}\n")
    with TestClient(create_app(Workspace.open(tmp_path))) as http:
        assert http.get("/ui").status_code == 404


def test_the_dashboards_read_only_token_opens_it_and_no_write_route(tmp_path, monkeypatch) -> None:
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(
        "model:\n  features: {tenure: numeric}\nserve: {token: admin}\nreport: {token: viewer}\n"
    )
    label = {"labels": [{"prediction_id": "p1", "label": 1, "timestamp": "2026-03-02T00:00:00Z"}]}
    with TestClient(create_app(Workspace.open(tmp_path))) as http:
        assert http.get("/ui").status_code == 401
        for token in ("viewer", "admin"):
            bearer = {"Authorization": f"Bearer {token}"}
            assert http.get("/ui/view.json", headers=bearer).status_code == 200
        viewer = {"Authorization": "Bearer viewer"}
        assert http.post("/v1/labels", json=label, headers=viewer).status_code == 401
        admin = http.post("/v1/labels", json=label, headers={"Authorization": "Bearer admin"})
        assert admin.status_code == 200, admin.text
        login = http.get("/ui?token=viewer", follow_redirects=False)
        assert login.status_code == 303
        assert http.cookies.get(COOKIE) == "viewer"
        assert http.get("/ui").status_code == 200
        assert http.post("/v1/labels", json=label).status_code == 401  # the cookie opens no write
    # from the environment, as serve.token's DRIFTPILOT_TOKEN
    (tmp_path / "driftpilot.yaml").write_text("model:\n  features: {tenure: numeric}\n")
    monkeypatch.setenv("DRIFTPILOT_UI_TOKEN", "from-env")
    space = Workspace.open(tmp_path)
    assert dashboard_tokens(space.config) == ("from-env",)
    with TestClient(create_app(space)) as http:
        assert http.get("/ui").status_code == 401
        assert http.get("/ui", headers={"Authorization": "Bearer from-env"}).status_code == 200
        assert http.post("/v1/labels", json=label).status_code == 200  # no serve token: open
