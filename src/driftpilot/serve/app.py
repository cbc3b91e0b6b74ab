"""The driftpilot HTTP app: logging predictions and labels (and, later, serving the model).

``POST /v1/predictions`` and ``POST /v1/labels`` take a JSON body: ``{"predictions": [...]}``
(or ``{"labels": [...]}``), a bare list, or one record. A request is answered once its rows
are committed to the log (group commit: many requests share one commit), so a 200 means the
rows are durable. A batch with any invalid record is refused whole with a 4xx naming every
problem's field path; the server keeps serving. Labels for predictions not (yet) logged are
accepted and held: they join when the predictions arrive.

Status codes: 200 written; 400 not JSON, or empty; 401 a bearer token is configured and the
request lacks it; 413 body larger than ``log.max_body_mb``; 422 invalid records; 503 the
commit failed (nothing of the request was written; retrying is safe).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from driftpilot import __version__
from driftpilot.log.group import GroupCommitter
from driftpilot.log.records import ValidationFailed, label_records, prediction_records
from driftpilot.log.writer import EventLog
from driftpilot.workspace import Workspace

__all__ = ["TOKEN_ENV", "create_app"]

TOKEN_ENV = "DRIFTPILOT_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class _Refused(Exception):
    def __init__(
        self, status: int, error: str, message: str, problems: list[str] | None = None
    ) -> None:
        self.status, self.error, self.message, self.problems = status, error, message, problems


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(content=orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(
            413,
            "too_large",
            f"the body has {int(declared):,} bytes; the limit is "
            f"{limit:,} (log.max_body_mb): send smaller batches",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(
                413,
                "too_large",
                f"the body exceeds the limit of {limit:,} bytes "
                "(log.max_body_mb): send smaller batches",
            )
        chunks.append(chunk)
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


def create_app(workspace: Workspace) -> FastAPI:
    """The app for one workspace (its model's feature schema is read once, at start)."""
    config = workspace.config
    predictions_log = EventLog(workspace)
    labels_log = EventLog(workspace, features={})
    token = config.serve.token or os.environ.get(TOKEN_ENV)
    limit = int(config.log.max_body_mb * 1024 * 1024)

    def commit_predictions(rows: list[dict[str, Any]]) -> None:
        table = EventLog.rows_to_table(rows, predictions_log.prediction_schema, datetime.now(UTC))
        predictions_log.append_predictions(table)

    def commit_labels(rows: list[dict[str, Any]]) -> None:
        table = EventLog.rows_to_table(rows, labels_log.label_schema, datetime.now(UTC))
        labels_log.append_labels(table)

    committers = {
        "predictions": GroupCommitter(
            commit_predictions, max_rows=config.log.flush_rows, max_ms=config.log.flush_ms
        ),
        "labels": GroupCommitter(
            commit_labels, max_rows=config.log.flush_rows, max_ms=config.log.flush_ms
        ),
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for committer in committers.values():
            await committer.start()
        yield
        for committer in committers.values():  # answer every pending request before exit
            await committer.stop()

    app = FastAPI(title="driftpilot", version=__version__, lifespan=lifespan)

    def authorize(request: Request) -> None:
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise _Refused(
                401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'"
            )

    async def ingest(request: Request, kind: str) -> Response:
        try:
            authorize(request)
            records = _records(await _body(request, limit), kind)
            now = datetime.now(UTC)
            if kind == "predictions":
                rows = prediction_records(records, predictions_log.features, config.model, now=now)
            else:
                rows = label_records(records, config.model, now=now)
        except _Refused as refused:
            body: dict[str, Any] = {"error": refused.error, "message": refused.message}
            if refused.problems:
                body["problems"] = refused.problems
            return _json(refused.status, body)
        except ValidationFailed as invalid:
            return _json(
                422, {"error": "invalid", "message": str(invalid), "problems": invalid.problems}
            )
        try:
            await committers[kind].submit(rows)
        except Exception as exc:  # the commit failed: nothing of this request was written
            return _json(
                503,
                {
                    "error": "not_written",
                    "message": f"the log could not be written ({exc}); retrying is safe",
                },
            )
        answer: dict[str, Any] = {"accepted": len(rows)}
        if kind == "predictions":
            answer["prediction_ids"] = [row["prediction_id"] for row in rows]
        return _json(200, answer)

    @app.get("/healthz")
    async def healthz() -> Response:
        return _json(200, {"status": "ok", "version": __version__, "model": config.model.name})

    @app.post("/v1/predictions")
    async def post_predictions(request: Request) -> Response:
        """Log predictions; answered once committed."""
        return await ingest(request, "predictions")

    @app.post("/v1/labels")
    async def post_labels(request: Request) -> Response:
        """Log labels; labels for predictions not yet logged are held until they arrive."""
        return await ingest(request, "labels")

    return app
