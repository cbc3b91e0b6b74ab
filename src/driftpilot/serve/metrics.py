"""The server's own Prometheus metrics: requests, latency, model errors, canary, log queue.

Each app has a registry of its own (tests run several apps in one process); ``GET /metrics``
serves these after the workspace's window values and rule states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftpilot.serve.models import ModelSet
    from driftpilot.serve.recorder import Recorder

__all__ = ["ServeMetrics"]

# seconds; dense where the targets are (a few milliseconds), coarse to the timeout and beyond
_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
)  # fmt: skip


class ServeMetrics:
    def __init__(self, models: ModelSet | None, recorder: Recorder | None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "driftpilot_serve_requests",
            "POST /v1/predict requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "driftpilot_serve_predictions",
            "Predictions answered, by the model version and route that answered",
            ["model_version", "route"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "driftpilot_serve_latency_seconds",
            "Time to answer a /v1/predict request, by the version and route that answered",
            ["model_version", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "driftpilot_serve_model_errors",
            "Model calls that raised or timed out (the champion answered instead, or the "
            "request failed when the champion itself failed)",
            ["model_version", "route", "kind"],
            registry=self.registry,
        )
        self.registry.register(_State(models, recorder))

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class _State:
    """Gauges read when scraped: served versions, canary weight, the log's queue."""

    def __init__(self, models: ModelSet | None, recorder: Recorder | None) -> None:
        self.models, self.recorder = models, recorder

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        def gauge(name: str, text: str, value: float, **labels: str) -> Any:
            family = GaugeMetricFamily(name, text, labels=list(labels))
            family.add_metric(list(labels.values()), value)
            return family

        if self.models is not None:
            served = self.models.current
            yield gauge("driftpilot_serve_ready", "1 when a champion is loaded", served.ready)
            for role, scorer in (("champion", served.champion), ("challenger", served.challenger)):
                if scorer is not None:
                    yield gauge(
                        f"driftpilot_serve_{role}_info",
                        f"The {role} version being served",
                        1,
                        model_version=scorer.version,
                    )
            canary = served.canary
            weight = canary.weight if canary is not None and canary.live else 0.0
            shadow = canary.shadow if canary is not None and canary.live else 0.0
            yield gauge("driftpilot_canary_weight", "Share the challenger answers", weight)
            yield gauge("driftpilot_canary_shadow", "Share the challenger shadows", shadow)
            yield gauge("driftpilot_serve_model_swaps", "Snapshots swapped in", self.models.swaps)
        if self.recorder is not None:
            recorder: Recorder = self.recorder
            yield gauge("driftpilot_serve_log_pending_rows", "Rows waiting", recorder.pending)
            counters: list[tuple[str, str, Callable[[], float]]] = [
                ("log_dropped_rows", "Rows dropped while the log could not be written",
                 lambda: recorder.dropped),
                ("log_write_failures", "Failed log writes (retried)", lambda: recorder.failures),
            ]  # fmt: skip
            for name, text, value in counters:
                family = CounterMetricFamily(f"driftpilot_serve_{name}", text)
                family.add_metric([], value())
                yield family
            written = CounterMetricFamily(
                "driftpilot_serve_log_rows", "Rows written to the log", labels=["table"]
            )
            for table, count in recorder.written.items():
                written.add_metric([table], count)
            yield written
