"""Streaming concept-drift detectors over the error stream, as labels arrive.

For each model version, the labeled predictions in prediction-time order form an error stream
(1 for a misclassification, 0 otherwise; the absolute error for regression), replayed through
River's ADWIN, Page-Hinkley and DDM (DDM only for classification). Replaying the most recent
``detectors.max_events`` events each run keeps the result idempotent when late labels fill in
the past. A detection is reported with the prediction time of the event that triggered it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from driftpilot.config import DetectorsConfig

__all__ = ["DETECTORS", "detect"]


def _adwin(settings: DetectorsConfig, binary: bool) -> Any:
    from river.drift import ADWIN

    return ADWIN(delta=settings.adwin_delta)


def _page_hinkley(settings: DetectorsConfig, binary: bool) -> Any:
    from river.drift import PageHinkley

    return PageHinkley(threshold=settings.page_hinkley_threshold, delta=settings.page_hinkley_delta)


def _ddm(settings: DetectorsConfig, binary: bool) -> Any:
    from river.drift.binary import DDM

    if not binary:
        return None
    return DDM(warm_start=settings.ddm_warm_start, drift_threshold=settings.ddm_threshold)


DETECTORS: dict[str, Callable[[DetectorsConfig, bool], Any]] = {
    "adwin": _adwin,
    "page_hinkley": _page_hinkley,
    "ddm": _ddm,
}


def detect(
    events: Iterable[tuple[str, datetime, float]], settings: DetectorsConfig, *, binary: bool
) -> dict[str, dict[str, list[datetime]]]:
    """Detection times per detector and model version for ``(version, time, error)`` events
    given in time order."""
    by_version: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for version, moment, error in events:
        by_version[version].append((moment, error))
    found: dict[str, dict[str, list[datetime]]] = {name: {} for name in DETECTORS}
    for version, stream in by_version.items():
        for name, make in DETECTORS.items():
            detector = make(settings, binary)
            if detector is None:
                continue
            times: list[datetime] = []
            for moment, error in stream:
                detector.update(bool(error) if name == "ddm" else error)
                if detector.drift_detected:
                    times.append(moment)
            found[name][version] = times
    return found
