"""Streaming concept-drift detectors over the error stream, as labels arrive.

For each model version, the labeled predictions in prediction-time order form an error stream
(1 for a misclassification, 0 otherwise; the absolute error for regression), replayed through
River's ADWIN, Page-Hinkley and DDM (DDM only for classification). Replaying the most recent
``detectors.max_events`` events each run keeps the result idempotent when late labels fill in
the past. A detection is reported with the prediction time of the event that triggered it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
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
    versions: Sequence[str], errors: Sequence[float], settings: DetectorsConfig, *, binary: bool
) -> dict[str, list[int]]:
    """Positions (in the given, time-ordered events) where each detector fired.

    ``versions[i]`` and ``errors[i]`` describe event ``i``; each model version has detectors of
    its own. DDM watches classification errors only.
    """
    by_version: dict[str, list[int]] = defaultdict(list)
    for position, version in enumerate(versions):
        by_version[version].append(position)
    found: dict[str, list[int]] = {name: [] for name in DETECTORS if binary or name != "ddm"}
    for positions in by_version.values():
        stream = [float(errors[p]) for p in positions]
        for name in found:
            detector = DETECTORS[name](settings, binary)
            update = detector.update
            values = [e > 0 for e in stream] if name == "ddm" else stream
            for position, value in zip(positions, values, strict=True):
                update(value)
                if detector.drift_detected:
                    found[name].append(position)
    return {name: sorted(hits) for name, hits in found.items()}
