from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from driftpilot.config import DetectorsConfig
from driftpilot.monitor.detectors import detect

START = datetime(2026, 1, 1, tzinfo=UTC)


def stream(rates: list[tuple[int, float]], seed: int = 0, version: str = "1"):
    rng = np.random.default_rng(seed)
    events, t = [], 0
    for count, rate in rates:
        for error in (rng.random(count) < rate).astype(float):
            events.append((version, START + timedelta(minutes=t), float(error)))
            t += 1
    return events


def run(events):
    """Detection times per detector and version."""
    found = detect([e[0] for e in events], [e[2] > 0 for e in events], DetectorsConfig())
    out = {}
    for name, positions in found.items():
        out[name] = {}
        for version in {e[0] for e in events}:
            out[name][version] = [events[p][1] for p in positions if events[p][0] == version]
    return out


def test_each_detector_fires_after_the_error_rate_rises_and_not_before() -> None:
    events = stream([(5000, 0.1), (5000, 0.3)])
    change = START + timedelta(minutes=5000)
    found = run(events)
    for name in ("adwin", "page_hinkley", "ddm"):
        times = found[name]["1"]
        assert times, name
        assert all(t >= change for t in times), name
        assert times[0] < change + timedelta(minutes=1500), name


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_alarm_on_a_stationary_stream(seed: int) -> None:
    found = run(stream([(40_000, 0.15)], seed=seed))
    assert found["adwin"]["1"] == []
    assert found["ddm"]["1"] == []
    assert found["page_hinkley"]["1"] == []


def test_versions_are_watched_apart() -> None:
    events = stream([(3000, 0.1)], version="1") + stream([(1500, 0.1), (1500, 0.5)], version="2")
    found = run(sorted(events, key=lambda e: e[1]))
    assert found["adwin"]["1"] == []
    assert found["adwin"]["2"]
