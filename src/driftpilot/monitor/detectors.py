"""Streaming concept-drift detectors over the error stream, as labels arrive.

For each model version, the labeled predictions in prediction-time order form a stream of
0/1 events: a misclassification, or for regression an absolute error above the reference's
85th percentile of absolute errors (so 15 % of events in the reference, whatever the target's
unit or spread). The stream is replayed through River's ADWIN, Page-Hinkley and DDM. Every
monitor run replays the most recent ``detectors.max_events`` events, so late labels that fill
in the past are seen in order; windows whose detections change are reported again. A
detection is reported with the prediction time of the event that triggered it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from driftpilot.config import DetectorsConfig
from driftpilot.monitor.plan import key_of

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from driftpilot.engine.backend import Engine

__all__ = ["DETECTORS", "Replay", "detect", "replay"]


def _adwin(settings: DetectorsConfig) -> Any:
    from river.drift import ADWIN

    return ADWIN(delta=settings.adwin_delta)


def _page_hinkley(settings: DetectorsConfig) -> Any:
    from river.drift import PageHinkley

    return PageHinkley(threshold=settings.page_hinkley_threshold, delta=settings.page_hinkley_delta)


def _ddm(settings: DetectorsConfig) -> Any:
    from river.drift.binary import DDM

    return DDM(warm_start=settings.ddm_warm_start, drift_threshold=settings.ddm_threshold)


DETECTORS: dict[str, Callable[[DetectorsConfig], Any]] = {
    "adwin": _adwin,
    "page_hinkley": _page_hinkley,
    "ddm": _ddm,
}


def detect(
    versions: Sequence[str], errors: Sequence[bool] | NDArray[np.bool_], settings: DetectorsConfig
) -> dict[str, list[int]]:
    """Positions (in the given, time-ordered events) where each detector fired.

    ``versions[i]`` and ``errors[i]`` (whether event ``i`` was an error) describe event ``i``;
    each model version has detectors of its own.
    """
    by_version: dict[str, list[int]] = defaultdict(list)
    for position, version in enumerate(versions):
        by_version[version].append(position)
    found: dict[str, list[int]] = {name: [] for name in DETECTORS}
    for positions in by_version.values():
        stream = [bool(errors[p]) for p in positions]
        for name in found:
            detector = DETECTORS[name](settings)
            update = detector.update
            for position, value in zip(positions, stream, strict=True):
                update(value)
                if detector.drift_detected:
                    found[name].append(position)
    return {name: sorted(hits) for name, hits in found.items()}


class Replay:
    """The detections of one replay, per window (engine window values)."""

    def __init__(self, names: Sequence[str], oldest: datetime | None) -> None:
        self.names = list(names)
        self.oldest = oldest  # the earliest replayed event; None when nothing is labeled
        self.found: dict[Any, dict[str, Any]] = defaultdict(dict)

    def covers(self, last: datetime) -> bool:
        """Whether a window whose latest prediction is at ``last`` is in the replayed range
        (older windows keep the detections they were reported with)."""
        return self.oldest is not None and last >= self.oldest

    def of(self, value: Any) -> dict[str, Any]:
        hits = self.found.get(value, {})
        return {n: hits.get(n, {"fired": False, "detections": []}) for n in self.names}


def replay(
    engine: Engine,
    table: ir.Table,
    windows: dict[Any, Any],
    settings: DetectorsConfig,
    *,
    binary: bool,
    large_error: float | None = None,
) -> Replay:
    """Replay the latest labeled events of ``table`` (the joined log with its ``window``).

    For regression, an error is an absolute error above ``large_error`` (without one from the
    reference: the 85th percentile of the first replayed errors)."""
    import ibis

    labeled = table.filter(table.label.notnull())
    recent = labeled.select(
        version=labeled.model_version,
        at=labeled.timestamp,
        window=labeled.window,
        error=(labeled.prediction - labeled.label).abs(),
    )
    recent = recent.order_by([ibis.desc("at"), ibis.desc("version")]).limit(settings.max_events)
    events = engine.execute(recent)
    names = list(DETECTORS)
    if events.num_rows == 0:
        return Replay(names, None)
    last = events.num_rows - 1  # events came newest first: position p is row last − p
    versions = events.column("version").to_pylist()[::-1]
    errors = np.asarray(events.column("error").to_numpy(zero_copy_only=False)[::-1], float)
    if not binary:
        if large_error is None:
            large_error = float(np.quantile(errors[:5000], 0.85))
        errors = errors > large_error
    oldest = events.column("at")[last].as_py()
    result = Replay(names, oldest.replace(tzinfo=UTC) if oldest.tzinfo is None else oldest)
    for detector, positions in detect(versions, errors > 0, settings).items():
        for position in positions:
            row = last - position
            value = key_of(events.column("window")[row].as_py(), windows)
            entry = result.found[value].setdefault(detector, {"fired": True, "detections": []})
            moment = events.column("at")[row].as_py()
            entry["detections"].append({"version": versions[position], "at": moment.isoformat()})
    return result
