"""The live dashboard: the HTML report's page over the workspace, served and kept current.

Routes (under ``/ui``; ``driftpilot ui`` serves them alone, ``driftpilot serve`` beside the
API):

- ``GET /ui``: the page; it fetches itself again every ``refresh`` seconds and swaps its
  content in place (the open tab stays open);
- ``GET /ui/view.json``: the same data as JSON;
- ``GET /ui/plotly.js``: plotly.js from the installed plotly package (cached by the browser).

The view is rebuilt at most once per ``refresh`` interval, whatever the number of open
pages; a build that fails keeps the last good view on show (with the error) and is retried at
the next interval. When a token is configured, every route needs ``Authorization: Bearer
<token>`` or the ``driftpilot_token`` cookie; opening ``/ui?token=<token>`` once sets the
cookie (HttpOnly, SameSite=Lax, path ``/ui``, Secure over https) and drops the token from the
address. Two tokens open it (:func:`dashboard_tokens`): the dashboard's own read-only one
(``report.token`` or ``DRIFTPILOT_UI_TOKEN``), which the API's write routes refuse, and the
server's (``serve.token`` or ``DRIFTPILOT_TOKEN``).
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from driftpilot import __version__
from driftpilot.config import DriftpilotConfig
from driftpilot.workspace import Workspace

__all__ = ["COOKIE", "UI_TOKEN_ENV", "create_ui_app", "dashboard_tokens", "ui_router"]

COOKIE = "driftpilot_token"
UI_TOKEN_ENV = "DRIFTPILOT_UI_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def dashboard_tokens(config: DriftpilotConfig) -> tuple[str, ...]:
    """The tokens that open the dashboard: its read-only one and the server's (none: open)."""
    from driftpilot.serve.app import TOKEN_ENV

    found = (
        config.report.token or os.environ.get(UI_TOKEN_ENV),
        config.serve.token or os.environ.get(TOKEN_ENV),
    )
    return tuple(t for t in found if t)


class _Views:
    """The workspace's view and its page, rebuilt when older than ``max_age`` seconds (one
    build at a time; a failed build keeps the last good one)."""

    def __init__(
        self,
        workspace: Workspace,
        mlflow_url: str | None,
        max_age: float,
        refresh: float,
        windows: int | None,
    ) -> None:
        self.workspace, self.mlflow_url, self.max_age = workspace, mlflow_url, max_age
        self.refresh, self.windows = refresh, windows
        self._lock = threading.Lock()
        self._view: dict[str, Any] | None = None
        self._page = ""
        self._built = float("-inf")

    def _build(self) -> None:
        from driftpilot.report.html import render_html
        from driftpilot.report.view import build_view

        if time.monotonic() - self._built < self.max_age:
            return
        self._built = time.monotonic()  # a failure waits for the next interval too
        try:
            view = build_view(self.workspace, mlflow_url=self.mlflow_url, last=self.windows)
            page = render_html(view, plotly_src="/ui/plotly.js", refresh=self.refresh)
        except Exception as exc:  # the dashboard stays up and says why
            if self._view is None:
                raise
            self._view["meta"]["error"] = f"the last update failed: {type(exc).__name__}: {exc}"
            return
        self._view, self._page = view, page

    def view(self) -> dict[str, Any]:
        with self._lock:
            self._build()
            if self._view is None:  # _build raised otherwise; kept for the type checker
                raise RuntimeError("the dashboard's view was not built")
            return self._view

    def page(self) -> str:
        with self._lock:
            self._build()
            return self._page


def _matching(given: str, tokens: Sequence[str]) -> str | None:
    """The token ``given`` equals, compared in constant time with each."""
    found = None
    for token in tokens:
        if hmac.compare_digest(given.encode(), token.encode()):
            found = token
    return found


def _allowed(request: Request, tokens: Sequence[str]) -> bool:
    if not tokens:
        return True
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and _matching(given, tokens) is not None:
        return True
    return _matching(request.cookies.get(COOKIE) or "", tokens) is not None


def _refused() -> Response:
    return JSONResponse(
        {
            "error": "unauthorized",
            "message": "the dashboard needs the token: open /ui?token=<token> once, or send "
            "'Authorization: Bearer <token>'",
        },
        status_code=401,
    )


def ui_router(
    workspace: Workspace,
    *,
    mlflow_url: str | None = "http://127.0.0.1:5000",
    refresh: float = 30.0,
    tokens: Sequence[str] = (),
    windows: int | None = None,
) -> APIRouter:
    """The dashboard's routes over ``workspace``; ``mlflow_url`` is where ``mlflow ui``
    answers (run links), ``refresh`` the seconds between the page's updates, ``tokens``
    those that open it (none: open to all), ``windows`` how many of the newest windows it
    shows (None: all)."""
    from driftpilot.report.html import plotly_js

    if refresh <= 0:
        raise ValueError(f"refresh: expected seconds above zero, got {refresh}")
    views = _Views(workspace, mlflow_url, max(min(refresh, 60.0) / 2, 1.0), refresh, windows)
    router = APIRouter()

    @router.get("/ui", response_class=HTMLResponse)
    def page(request: Request) -> Response:
        """The dashboard."""
        given = request.query_params.get("token")
        token = _matching(given, tokens) if given is not None else None
        if token is not None:
            home = request.scope.get("root_path", "") + "/ui"
            response = RedirectResponse(home, status_code=303)
            # Lax, not Strict: a link from an alert (another site) must arrive logged in;
            # every route here is a read-only GET
            response.set_cookie(
                COOKIE,
                token,
                httponly=True,
                samesite="lax",
                path=home,
                secure=request.url.scheme == "https",
            )
            return response
        if not _allowed(request, tokens):
            return _refused()
        return HTMLResponse(views.page(), headers={"Cache-Control": "no-store"})

    @router.get("/ui/view.json")
    def view(request: Request) -> Response:
        """The dashboard's data."""
        if not _allowed(request, tokens):
            return _refused()
        return JSONResponse(views.view(), headers={"Cache-Control": "no-store"})

    @router.get("/ui/plotly.js")
    def plotly(request: Request) -> Response:
        """plotly.js, bundled with the plotly package."""
        if not _allowed(request, tokens):
            return _refused()
        return Response(
            plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    return router


def create_ui_app(workspace: Workspace, **options: Any) -> FastAPI:
    """``driftpilot ui``: the dashboard alone (no models are loaded); ``/`` leads to it."""
    app = FastAPI(title="driftpilot dashboard", version=__version__, docs_url=None, redoc_url=None)
    app.include_router(ui_router(workspace, **options))

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/ui", status_code=307)

    return app
