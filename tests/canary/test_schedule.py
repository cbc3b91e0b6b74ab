"""`driftpilot run` analyses a canary in progress every canary.interval, not every
schedule.interval."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from driftpilot.canary.controller import Step
from driftpilot.canary.state import CanaryState
from driftpilot.policy import cycle
from driftpilot.workspace import Workspace, init_workspace


class Recording(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        return False


@pytest.mark.parametrize(
    ("action", "failed", "expected"),
    [("hold", False, 30.0), ("promote", False, 3600.0), (None, False, 3600.0), (None, True, 30.0)],
)
def test_a_canary_in_progress_shortens_the_wait(
    tmp_path, monkeypatch, action, failed, expected
) -> None:
    init_workspace(tmp_path)
    (tmp_path / "driftpilot.yaml").write_text(
        "monitor: {window: rows}\nschedule: {interval: 1h}\ncanary: {interval: 30s}\n"
    )
    space = Workspace.open(tmp_path)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    state = CanaryState("c", "2", "1", "running", 1, "5%", 0.05, 0.0, now, now)
    step = Step(action, "", state) if action else None  # type: ignore[arg-type]
    result = SimpleNamespace(
        canary=step,
        canary_failed=failed,
        monitor=SimpleNamespace(computed=[]),
        outcome=SimpleNamespace(level="ok"),
    )
    monkeypatch.setattr(cycle, "run_cycle", lambda workspace, **kwargs: result)
    stop = Recording()
    cycle.run_schedule(space, stop=stop, cycles=2, handle_signals=False, clock=lambda: now)
    assert stop.waits == [pytest.approx(expected)]
