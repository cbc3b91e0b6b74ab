"""``POST /v1/predict``: score instances with the champion, or the challenger for its share.

Each instance is routed by its entity id (sticky, :mod:`driftpilot.serve.router`). The
champion scores its rows in the request; the challenger scores its rows in a worker thread,
bounded by ``serve.challenger_timeout_ms``: when it raises or times out, the champion answers
those rows too (route ``fallback``) and the failure is logged to the errors table, so no
request fails because of a challenger. In a shadow stage the challenger also scores a sample
of the champion's rows after the answer is sent; its scores go to the shadow table. Every
answered row is logged (asynchronously) with its latency: the request's, less the time of the
other model's call when both answered rows of one batch.

A request: ``{"instances": [{"entity_id": "c-42", "features": {...}}, ...]}`` (or a list, or
one instance). With a feature store (``features.repo``, ``features.serve``), an instance may
send only its ``entity_id``: its features are read from the online store with the views'
definitions (values past their TTL at the instance's timestamp as missing, as the training
join sees them).
The answer: ``{"predictions": [{"prediction_id", "score", "prediction", "model_version",
"route"}, ...]}`` in the instances' order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from driftpilot.log.records import ValidationFailed, instance_records
from driftpilot.serve.router import assign, in_shadow

if TYPE_CHECKING:
    from driftpilot.config import DriftpilotConfig
    from driftpilot.features.lookup import Lookup
    from driftpilot.serve.metrics import ServeMetrics
    from driftpilot.serve.models import ModelSet, Served
    from driftpilot.serve.recorder import Recorder
    from driftpilot.serve.scoring import Scorer

__all__ = ["Predictor", "StoreFailed"]

After = Callable[[], Coroutine[Any, Any, None]] | None
Answer = tuple[int, dict[str, Any]]


class StoreFailed(Exception):
    """The online feature store did not answer a lookup."""


class Predictor:
    def __init__(
        self,
        config: DriftpilotConfig,
        models: ModelSet,
        recorder: Recorder,
        metrics: ServeMetrics,
        lookup: Lookup | None = None,
    ) -> None:
        self.models, self.recorder, self.metrics = models, recorder, metrics
        self.lookup = lookup
        self.model_name = config.model.name
        self.task = config.model.task
        self.threshold = config.model.threshold
        self.timeout = config.serve.challenger_timeout_ms / 1000
        self.max_instances = config.serve.max_instances
        # the challenger's thread: a slow or stuck challenger never holds up the event loop
        self.pool = _challenger_pool()
        self._pool_version: str | None = None
        # while the challenger answers live traffic the champion scores in a thread too, so
        # the two latencies the canary compares include the same hand-off (its own thread:
        # a stuck challenger never queues the champion's calls)
        self.champion_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="driftpilot")
        self._shadows: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Finish shadow scoring in progress, then release the challenger's threads."""
        if self._shadows:
            await asyncio.gather(*self._shadows, return_exceptions=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.champion_pool.shutdown(wait=False, cancel_futures=True)

    async def predict(self, records: list[Any]) -> Answer:
        """Status and answer; shadow scoring, if any, runs after the answer is sent."""
        from driftpilot.log.writer import ingestion_time

        start = time.perf_counter()
        served = self.models.current
        if served.champion is None:
            return self._refused(503, "not_ready", "; ".join(served.problems))
        if len(records) > self.max_instances:
            return self._refused(
                413,
                "too_many",
                f"{len(records):,} instances in one request; the limit is "
                f"{self.max_instances:,} (serve.max_instances): send smaller batches",
            )
        now = ingestion_time()
        try:
            if self.lookup is not None:
                records = await asyncio.get_running_loop().run_in_executor(
                    self.lookup.pool, self._looked_up, records, list(served.champion.features)
                )
            rows = instance_records(records, served.champion.features, now=now)
        except StoreFailed as failed:
            return self._refused(503, "store_unavailable", str(failed))
        except ValidationFailed as invalid:
            self.metrics.requests.labels("422").inc()
            return 422, {"error": "invalid", "message": str(invalid), "problems": invalid.problems}
        canary = served.canary if served.challenger is not None else None
        routes: list[str] = [
            assign(r["entity_id"] or r["prediction_id"], canary.weight, canary.id)
            if canary is not None
            else "champion"
            for r in rows
        ]
        scores = np.empty(len(rows))
        versions = [served.champion.version] * len(rows)
        failures: list[dict[str, Any]] = []
        canary_at = [i for i, r in enumerate(routes) if r == "canary"]
        spent = {"canary": 0.0, "champion": 0.0}  # ms in each model's call
        if canary_at and served.challenger is not None:
            began = time.perf_counter()
            answered = await self._challenger(served.challenger, [rows[i] for i in canary_at])
            spent["canary"] = (time.perf_counter() - began) * 1000
            if isinstance(answered, str):  # it failed: the champion answers its rows
                kind, _, message = answered.partition(":")
                failures = [
                    self._failure(rows[i], served.challenger.version, "canary", kind, message, now)
                    for i in canary_at
                ]
                for i in canary_at:
                    routes[i] = "fallback"
            else:
                scores[canary_at] = answered
                for i in canary_at:
                    versions[i] = served.challenger.version
        champion_at = [i for i, r in enumerate(routes) if r != "canary"]
        if champion_at:
            try:
                began = time.perf_counter()
                features = [rows[i]["features"] for i in champion_at]
                if canary is not None and canary.weight > 0:
                    scores[champion_at] = await asyncio.get_running_loop().run_in_executor(
                        self.champion_pool, served.champion.score, features
                    )
                else:  # no live comparison: the fastest path, in the request
                    scores[champion_at] = served.champion.score(features)
                spent["champion"] = (time.perf_counter() - began) * 1000
            except Exception as exc:  # the champion itself failed: the request fails
                message = f"{type(exc).__name__}: {exc}"
                self.recorder.add(
                    "errors",
                    failures
                    + [
                        self._failure(
                            rows[i], served.champion.version, "champion", "error", message, now
                        )
                        for i in champion_at
                    ],
                )
                self.metrics.errors.labels(served.champion.version, "champion", "error").inc(
                    len(champion_at)
                )
                return self._refused(
                    500, "model_failed", f"version {served.champion.version} failed: {message}"
                )
        total = (time.perf_counter() - start) * 1000
        # a row's latency leaves out the other model's call: in a batch both models answer,
        # and the canary compares each model's own time (a single row: the request's time)
        latency = {
            "champion": total - spent["canary"],
            "canary": total - spent["champion"],
            "fallback": total,
        }
        answer = self._answer(rows, scores, versions, routes)
        self._record(rows, scores, versions, routes, latency, failures)
        self.metrics.requests.labels("200").inc()
        after = self._shadow(served, rows, routes, now) if canary is not None else None
        if after is not None:
            task = asyncio.create_task(after())
            self._shadows.add(task)
            task.add_done_callback(self._shadows.discard)
        return 200, {"predictions": answer}

    def _looked_up(self, records: list[Any], features: list[str]) -> list[Any]:
        """Instances that send an ``entity_id`` and no ``features`` get theirs from the online
        store; an entity it holds nothing for is refused with the others' problems."""
        from driftpilot.errors import DriftpilotError

        wanted = [
            i
            for i, r in enumerate(records)
            if isinstance(r, dict) and r.get("features") is None and r.get("entity_id") is not None
        ]
        if not wanted or self.lookup is None:
            return records
        from driftpilot.log.records import parse_time

        ids = [str(records[i]["entity_id"]) for i in wanted]
        # a value's TTL is judged at the instance's time (a bad time is reported below)
        at = [parse_time(records[i]["timestamp"]) if records[i].get("timestamp") else None
              for i in wanted]  # fmt: skip
        try:
            found, missing = self.lookup.for_scoring(ids, features, at=at)
        except DriftpilotError as exc:
            raise ValidationFailed([f"instances.entity_id: {exc}"]) from None
        except Exception as exc:  # the online store failed: this request, not the server
            raise StoreFailed(
                f"the online feature store could not be read ({type(exc).__name__}: {exc}); "
                "retry, or send the instances' features"
            ) from exc
        if missing:
            raise ValidationFailed(
                [f"instances[{wanted[at]}].entity_id: {problem}" for at, problem in missing]
            )
        out = list(records)
        for i, values in zip(wanted, found, strict=True):
            out[i] = {**records[i], "features": values}
        return out

    async def _challenger(self, scorer: Scorer, rows: Sequence[dict[str, Any]]) -> Any:
        """The challenger's scores, or ``"kind:message"`` when it raised or timed out."""
        features = [r["features"] for r in rows]
        if scorer.version != self._pool_version:
            # a new challenger gets threads of its own: calls of an earlier one that never
            # returned must not make it time out
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool, self._pool_version = _challenger_pool(), scorer.version
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self.pool, scorer.score, features), self.timeout
            )
        except TimeoutError:
            return f"timeout:no answer within {self.timeout * 1000:.0f} ms"
        except Exception as exc:  # any failure of the challenger is the champion's to answer
            return f"error:{type(exc).__name__}: {exc}"

    def _shadow(
        self, served: Served, rows: list[dict[str, Any]], routes: list[str], now: Any
    ) -> After:
        canary, challenger = served.canary, served.challenger
        if canary is None or challenger is None or canary.shadow <= 0:
            return None
        picked = [
            row
            for row, route in zip(rows, routes, strict=True)
            if route == "champion"
            and in_shadow(row["entity_id"] or row["prediction_id"], canary.shadow, canary.id)
        ]
        if not picked:
            return None

        async def score_in_shadow() -> None:
            start = time.perf_counter()
            answered = await self._challenger(challenger, picked)
            latency = (time.perf_counter() - start) * 1000
            if isinstance(answered, str):
                kind, _, message = answered.partition(":")
                self.metrics.errors.labels(challenger.version, "shadow", kind).inc(len(picked))
                self.recorder.add(
                    "errors",
                    [
                        self._failure(r, challenger.version, "shadow", kind, message, now)
                        for r in picked
                    ],
                )
                return
            self.recorder.add(
                "shadow",
                [
                    self._row(r, float(s), challenger.version, "shadow", latency)
                    for r, s in zip(picked, answered, strict=True)
                ],
            )
            self.metrics.latency.labels(challenger.version, "shadow").observe(latency / 1000)

        return score_in_shadow

    def _answer(
        self, rows: list[dict[str, Any]], scores: Any, versions: list[str], routes: list[str]
    ) -> list[dict[str, Any]]:
        return [
            {
                "prediction_id": row["prediction_id"],
                "score": float(score),
                "prediction": self._prediction(float(score)),
                "model_version": version,
                "route": route,
            }
            for row, score, version, route in zip(rows, scores, versions, routes, strict=True)
        ]

    def _prediction(self, score: float) -> float:
        return float(score >= self.threshold) if self.task == "binary" else score

    def _row(
        self, row: dict[str, Any], score: float, version: str, route: str, latency: float
    ) -> dict[str, Any]:
        return {
            "prediction_id": row["prediction_id"],
            "entity_id": row["entity_id"],
            "timestamp": row["timestamp"],
            "model_name": self.model_name,
            "model_version": version,
            "route": route,
            **row["features"],
            "score": score if self.task == "binary" else None,
            "prediction": self._prediction(score),
            "latency_ms": latency,
        }

    def _record(
        self,
        rows: list[dict[str, Any]],
        scores: Any,
        versions: list[str],
        routes: list[str],
        latency: dict[str, float],
        failures: list[dict[str, Any]],
    ) -> None:
        logged = [
            self._row(r, float(s), v, route, latency[route])
            for r, s, v, route in zip(rows, scores, versions, routes, strict=True)
        ]
        self.recorder.add("predictions", logged)
        if failures:
            self.recorder.add("errors", failures)
            kind = failures[0]["kind"]
            self.metrics.errors.labels(failures[0]["model_version"], "canary", kind).inc(
                len(failures)
            )
        seen: dict[tuple[str, str], int] = {}
        for version, route in zip(versions, routes, strict=True):
            seen[(version, route)] = seen.get((version, route), 0) + 1
        for (version, route), count in seen.items():
            self.metrics.predictions.labels(version, route).inc(count)
            self.metrics.latency.labels(version, route).observe(latency[route] / 1000)

    @staticmethod
    def _failure(
        row: dict[str, Any], version: str, route: str, kind: str, message: str, now: Any
    ) -> dict[str, Any]:
        return {
            "timestamp": row["timestamp"] or now,
            "prediction_id": row["prediction_id"],
            "entity_id": row["entity_id"],
            "model_version": version,
            "route": route,
            "kind": kind,
            "message": message[:500],
            "latency_ms": None,
        }

    def _refused(self, status: int, error: str, message: str) -> Answer:
        self.metrics.requests.labels(str(status)).inc()
        return status, {"error": error, "message": message}


def _challenger_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="driftpilot-challenger")
