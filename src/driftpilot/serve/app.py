"""The driftpilot HTTP app: serving the registry's models, logging predictions and labels.

``POST /v1/predict`` scores instances with the champion (or the challenger for a canary's
share, :mod:`driftpilot.serve.predict`); with a feature store, ``GET /features?ids=1,2,3
[&features=a,b]`` answers each entity's online values with their event time, feature view,
version and freshness (fresh, stale past the view's TTL, missing), and instances to score may
send only their entity id; ``GET /healthz`` answers while the process lives,
``GET /readyz`` once a champion is loaded (503 with the reason before), ``GET /metrics`` the
Prometheus exposition (window values, rule states, requests, latency and errors per model
version and route, the canary's weights, the log's queue); ``/docs`` the OpenAPI docs.

``POST /v1/predictions`` and ``POST /v1/labels`` take a JSON body: ``{"predictions": [...]}``
(or ``{"labels": [...]}``), a bare list, or one record. A request is answered once its rows
are committed to the log (group commit: many requests share one commit), so a 200 means the
rows are durable. A batch with any invalid record is refused whole with a 4xx naming every
problem's field path; the server keeps serving. Labels for predictions not (yet) logged are
accepted and held: they join when the predictions arrive.

Status codes: 200 written; 400 not JSON, or empty; 401 a bearer token is configured and the
request lacks it; 413 body larger than ``log.max_body_mb``; 422 invalid records; 503 the
commit failed (nothing of the request was written; retrying is safe); 500 ``not_confirmed``
the rows were committed but the fsync failed (they are in the log: do not re-send them).
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from driftpilot import __version__
from driftpilot.log.group import GroupCommitter
from driftpilot.log.records import ValidationFailed, label_records, prediction_records
from driftpilot.log.writer import CommitNotConfirmed, EventLog, ingestion_time
from driftpilot.workspace import Workspace

if TYPE_CHECKING:
    from driftpilot.features.lookup import Lookup
    from driftpilot.serve.models import ModelSet
    from driftpilot.serve.predict import Predictor
    from driftpilot.serve.recorder import Recorder

__all__ = ["TOKEN_ENV", "DriftpilotApp", "create_app"]

TOKEN_ENV = "DRIFTPILOT_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class _Refused(Exception):
    def __init__(
        self, status: int, error: str, message: str, problems: list[str] | None = None
    ) -> None:
        self.status, self.error, self.message, self.problems = status, error, message, problems


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(content=orjson.dumps(body), status_code=status, media_type="application/json")


async def _read(receive: Any, declared: str | None, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(
            413,
            "too_large",
            f"the body has {int(declared):,} bytes; the limit is "
            f"{limit:,} (log.max_body_mb): send smaller batches",
        )
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "disconnected", "the client left before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(
                413,
                "too_large",
                f"the body exceeds the limit of {limit:,} bytes "
                "(log.max_body_mb): send smaller batches",
            )
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _records(body: bytes, key: str) -> list[Any]:
    if not body.strip():
        raise _Refused(400, "empty", f'the body is empty; send {{"{key}": [...]}}')
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Refused(
            400,
            "not_json",
            f"the body is not valid JSON ({exc}); NaN and Infinity "
            "are not JSON: send null for a missing value",
        ) from None
    if isinstance(data, dict) and key in data:
        extra = sorted(set(data) - {key})
        if extra:
            raise _Refused(
                422, "invalid", f'unknown top-level fields {extra}; send {{"{key}": [...]}}'
            )
        data = data[key]
        if not isinstance(data, list):
            raise _Refused(422, "invalid", f"{key}: expected a list of records")
    return data if isinstance(data, list) else [data]


class _Ingestion:
    """Validates and commits logged predictions and labels, and hands instances to score to
    the predictor; independent of the web framework."""

    def __init__(self, workspace: Workspace, predictor: Predictor | None = None) -> None:
        config = workspace.config
        self.predictor = predictor
        self.model = config.model
        self.predictions = EventLog(workspace)
        self.labels = EventLog(workspace, features={})
        self.token = config.serve.token or os.environ.get(TOKEN_ENV)
        self.limit = int(config.log.max_body_mb * 1024 * 1024)
        self.committers = {
            "predictions": GroupCommitter(
                self._commit_predictions, max_rows=config.log.flush_rows, max_ms=config.log.flush_ms
            ),
            "labels": GroupCommitter(
                self._commit_labels, max_rows=config.log.flush_rows, max_ms=config.log.flush_ms
            ),
        }

    def _commit_predictions(self, rows: list[dict[str, Any]]) -> None:
        schema = self.predictions.prediction_schema
        self.predictions.append_predictions(EventLog.rows_to_table(rows, schema, ingestion_time()))

    def _commit_labels(self, rows: list[dict[str, Any]]) -> None:
        schema = self.labels.label_schema
        self.labels.append_labels(EventLog.rows_to_table(rows, schema, ingestion_time()))

    async def handle(
        self, kind: str, authorization: str | None, declared: str | None, receive: Any
    ) -> tuple[int, dict[str, Any]]:
        """Status and JSON answer for one ingestion request."""
        try:
            if self.token is not None and not hmac.compare_digest(
                (authorization or "").encode(), f"Bearer {self.token}".encode()
            ):
                raise _Refused(
                    401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'"
                )
            records = _records(await _read(receive, declared, self.limit), kind)
            if kind == "instances":
                if self.predictor is None:
                    raise _Refused(
                        503,
                        "no_models",
                        "this server serves no model: the workspace has no model registry "
                        "(register one with `driftpilot register --data FILE`) or "
                        "serve.models is false",
                    )
                return await self.predictor.predict(records)
            now = ingestion_time()
            if kind == "predictions":
                rows = prediction_records(records, self.predictions.features, self.model, now=now)
            else:
                rows = label_records(records, self.model, now=now)
        except _Refused as refused:
            body: dict[str, Any] = {"error": refused.error, "message": refused.message}
            if refused.problems:
                body["problems"] = refused.problems
            return refused.status, body
        except ValidationFailed as invalid:
            return 422, {"error": "invalid", "message": str(invalid), "problems": invalid.problems}
        ids = [row["prediction_id"] for row in rows]
        try:
            await self.committers[kind].submit(rows)
        except CommitNotConfirmed as exc:  # written, but not known to be on disk
            return 500, {
                "error": "not_confirmed",
                "message": f"{exc}; {exc.hint}",
                "prediction_ids": ids,
            }
        except Exception as exc:  # the commit failed: nothing of this request was written
            return 503, {
                "error": "not_written",
                "message": f"the log could not be written ({exc}); retrying is safe",
            }
        answer: dict[str, Any] = {"accepted": len(rows)}
        if kind == "predictions":
            answer["prediction_ids"] = ids
        return 200, answer


class DriftpilotApp:
    """The ASGI app ``driftpilot serve`` runs: a fast path for the two ingestion endpoints in
    front of the FastAPI app, which answers everything else (and documents everything).

    Single-row logging is the hottest request the server gets; FastAPI's middleware, routing
    and dependency solving would cost more than the rest of such a request. Attributes not
    found here (``openapi()``, ``state``, ``routes``…) are the FastAPI app's.
    """

    ROUTES: ClassVar[dict[bytes, str]] = {
        b"/v1/predict": "instances",
        b"/v1/predictions": "predictions",
        b"/v1/labels": "labels",
    }

    def __init__(
        self, app: FastAPI, ingestion: _Ingestion, features: _Features | None = None
    ) -> None:
        self.app, self.ingestion, self.features = app, ingestion, features

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            self.features is not None
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and scope.get("raw_path", b"").split(b"?")[0] == b"/features"
        ):
            authorization = dict(scope["headers"]).get(b"authorization")
            status, body = await asyncio.get_running_loop().run_in_executor(
                self.features.lookup.pool,
                self.features.get,
                scope.get("query_string", b""),
                authorization.decode("latin-1") if authorization else None,
            )
            await _send(send, status, body)
            return
        kind = (
            self.ROUTES.get(scope.get("raw_path", b"").split(b"?")[0])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if kind is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        declared = headers.get(b"content-length")
        status, body = await self.ingestion.handle(
            kind,
            authorization.decode("latin-1") if authorization else None,
            declared.decode("latin-1") if declared else None,
            receive,
        )
        await _send(send, status, body)


async def _send(send: Any, status: int, body: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


class _Features:
    """``GET /features``: online values by entity id, with freshness."""

    def __init__(self, lookup: Lookup, token: str | None, limit: int) -> None:
        self.lookup, self.token, self.limit = lookup, token, limit

    def get(self, query: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        from urllib.parse import parse_qs

        from driftpilot.errors import DriftpilotError

        if self.token is not None and not hmac.compare_digest(
            (authorization or "").encode(), f"Bearer {self.token}".encode()
        ):
            message = "this endpoint needs 'Authorization: Bearer <token>'"
            return 401, {"error": "unauthorized", "message": message}
        asked = parse_qs(query.decode("latin-1"))
        unknown = sorted(set(asked) - {"ids", "features"})
        if unknown:
            message = f"unknown query parameters {unknown}; give ids=1,2,3 and features=a,b"
            return 422, {"error": "invalid", "message": message}
        ids = [i for part in asked.get("ids", []) for i in part.split(",") if i]
        wanted = [f for part in asked.get("features", []) for f in part.split(",") if f]
        if not ids:
            return 422, {"error": "invalid", "message": "ids: give entity ids, as ids=1,2,3"}
        if len(ids) > self.limit:
            message = (
                f"{len(ids):,} ids in one request; the limit is {self.limit:,} "
                "(serve.max_instances): ask in smaller batches"
            )
            return 413, {"error": "too_many", "message": message}
        try:
            return 200, self.lookup.get(ids, wanted or None)
        except DriftpilotError as exc:
            return 422, {"error": "invalid", "message": str(exc)}
        except Exception as exc:  # the online store failed: this request, not the server
            message = f"the online store could not be read: {type(exc).__name__}: {exc}"
            return 503, {"error": "store_unavailable", "message": message}


def create_app(
    workspace: Workspace, *, models: ModelSet | None = None, freeze: bool = False
) -> DriftpilotApp:
    """The app for one workspace (its model's feature schema is read once, at start).

    It serves models on ``POST /v1/predict`` when the workspace has a model registry and
    ``serve.models`` is true, or when ``models`` is given (tests and embedding). ``freeze``
    (``driftpilot serve``: the process is the server's) moves everything alive after start-up
    out of the garbage collector's generations."""
    from driftpilot.policy.config import parse_duration
    from driftpilot.registry.client import in_use
    from driftpilot.serve.metrics import ServeMetrics

    config = workspace.config
    recorder: Recorder | None = None
    predictor: Predictor | None = None
    if models is None and config.serve.models and in_use(workspace):
        from driftpilot.serve.models import ModelSet

        models = ModelSet(workspace)
    if models is not None:
        from driftpilot.serve.predict import Predictor
        from driftpilot.serve.recorder import Recorder

        recorder = Recorder(
            EventLog(workspace),
            flush_rows=config.log.flush_rows,
            flush_ms=config.serve.log_flush_ms,
            max_rows=config.serve.log_buffer_rows,
        )
    serving = ServeMetrics(models, recorder)
    lookup = None
    if config.features.enabled and config.features.serve:
        from driftpilot.features.lookup import Lookup

        lookup = Lookup(workspace)
    if models is not None and recorder is not None:
        predictor = Predictor(config, models, recorder, serving, lookup)
    ingestion = _Ingestion(workspace, predictor)
    every = parse_duration(config.serve.refresh).total_seconds()

    async def follow_registry(models: ModelSet) -> None:
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(models.refresh)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for committer in ingestion.committers.values():
            await committer.start()
        follower = None
        if models is not None and recorder is not None:
            await asyncio.to_thread(models.refresh)  # the champion is loaded before traffic
            await recorder.start()
            follower = asyncio.create_task(follow_registry(models), name="driftpilot-registry")
        if lookup is not None:  # the feature store's libraries and views, before traffic
            try:
                await asyncio.get_running_loop().run_in_executor(lookup.pool, lookup.served)
            except Exception as exc:  # its requests say what is wrong; the rest serves
                logging.getLogger("driftpilot.serve").warning("feature store: %s", exc)
        if freeze:
            # what is loaded by now (libraries, models) lives as long as the server: out of
            # the collector's sight, a full collection no longer walks it mid-request
            gc.freeze()
            # the log writer's thread gives the interpreter back to requests within 0.5 ms
            # instead of 5 ms
            sys.setswitchinterval(0.0005)
        yield
        if follower is not None:
            follower.cancel()
        if predictor is not None:
            await predictor.close()
        if recorder is not None:  # write what was answered before stopping
            await recorder.stop()
        for committer in ingestion.committers.values():  # answer every pending request first
            await committer.stop()
        if lookup is not None:
            lookup.pool.shutdown(wait=False)

    app = FastAPI(title="driftpilot", version=__version__, lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> Response:
        """The process is up."""
        return _json(200, {"status": "ok", "version": __version__, "model": config.model.name})

    @app.get("/readyz")
    async def readyz() -> Response:
        """Ready for traffic: a champion is loaded (or this server only logs)."""
        if models is None:
            return _json(200, {"status": "ready", "serving": None})
        served = models.current
        body: dict[str, Any] = {
            "status": "ready" if served.ready else "not_ready",
            "champion": served.champion.version if served.champion else None,
            "challenger": served.challenger.version if served.challenger else None,
            "canary": served.canary.stage_name if served.canary else None,
            "problems": list(served.problems),
        }
        return _json(200 if served.ready else 503, body)

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition: the latest window's values and the policy's rule states,
        then the server's own requests, latency, errors, canary weights and log queue."""
        from driftpilot.policy.prometheus import CONTENT_TYPE, exposition

        try:
            body = await asyncio.to_thread(exposition, workspace)
        except Exception as exc:  # a scrape never takes the server down
            return _json(500, {"error": "metrics_unavailable", "message": str(exc)})
        return Response(body + serving.exposition(), media_type=CONTENT_TYPE)

    @app.post("/v1/predict", openapi_extra=_openapi("instances"))
    async def post_predict(request: Request) -> Response:
        """Score instances: the champion answers, or the challenger for its canary share."""
        return await through_fastapi(request, "instances")

    async def through_fastapi(request: Request, kind: str) -> Response:
        status, body = await ingestion.handle(
            kind,
            request.headers.get("authorization"),
            request.headers.get("content-length"),
            request.receive,
        )
        return _json(status, body)

    # the fast path answers these; the routes are declared for the OpenAPI documentation
    @app.post("/v1/predictions", openapi_extra=_openapi("predictions"))
    async def post_predictions(request: Request) -> Response:
        """Log predictions; answered once committed (a 200 means durable)."""
        return await through_fastapi(request, "predictions")

    @app.post("/v1/labels", openapi_extra=_openapi("labels"))
    async def post_labels(request: Request) -> Response:
        """Log labels; labels for predictions not yet logged are held until they arrive."""
        return await through_fastapi(request, "labels")

    @app.get("/features")
    async def get_features(ids: str, features: str | None = None) -> Response:
        """Online feature values by entity id (``ids=1,2,3``, optionally ``features=a,b``):
        each value with its event time, feature view, version and status (fresh, stale,
        missing). With a feature store it is answered before routing (this route only
        answers without one)."""
        message = "this server has no feature store: set features.repo (and features.serve)"
        return _json(404, {"error": "no_feature_store", "message": message})

    token = config.serve.token or os.environ.get(TOKEN_ENV)
    if config.report.serve_ui:
        from driftpilot.serve.ui import dashboard_tokens, ui_router

        app.include_router(
            ui_router(
                workspace,
                mlflow_url=config.report.mlflow_url,
                refresh=parse_duration(config.report.refresh).total_seconds(),
                tokens=dashboard_tokens(config),
                windows=config.report.dashboard_windows,
            )
        )
    served_features = _Features(lookup, token, config.serve.max_instances) if lookup else None
    return DriftpilotApp(app, ingestion, served_features)


def _openapi(kind: str) -> dict[str, Any]:
    example = (
        {"entity_id": "c-42", "features": {"tenure": 12, "plan": "basic"}}
        if kind == "instances"
        else {
            "prediction_id": "p-1",
            "entity_id": "c-42",
            "timestamp": "2026-01-05T10:00:00Z",
            "model_version": "3",
            "features": {"tenure": 12, "plan": "basic"},
            "score": 0.73,
            "latency_ms": 4.2,
        }
        if kind == "predictions"
        else {"prediction_id": "p-1", "label": 1, "label_time": "2026-01-12T09:00:00Z"}
    )
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {kind: {"type": "array", "items": {"type": "object"}}},
                    },
                    "example": {kind: [example]},
                }
            },
        }
    }
