"""What a condition is evaluated against: the window, its history, the reference, and the
candidate values a metric yields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftpilot.monitor.report import WindowReport
    from driftpilot.policy.language import Node
    from driftpilot.profile.model import Profile

__all__ = ["Candidate", "Context", "serving_version"]


@dataclass(frozen=True)
class Candidate:
    value: float | None
    where: str | None = None
    support: float | None = None  # rows behind the value (for calibration)
    threshold: float | None = None  # the calibrated threshold, when asked for
    note: str | None = None


@dataclass
class Context:
    """The window being judged, the windows before it, and what calibration needs."""

    history: Sequence[WindowReport]  # oldest first; ``index`` is the window judged
    index: int
    profile: Profile | None
    triggers: dict[str, Node]
    k: float = 3.0
    baseline_windows: int = 4
    min_labels: int = 100
    watch: frozenset[str] = frozenset()  # where the rule held on the previous judged window
    _baselines: dict[tuple[str, str, str], tuple[float | None, int]] = field(default_factory=dict)

    @property
    def report(self) -> WindowReport:
        return self.history[self.index]


def serving_version(report: WindowReport) -> str | None:
    """The model version that served most of the window's rows."""
    versions = report.model.get("versions") or {}
    return max(versions, key=lambda v: (versions[v], v)) if versions else None
