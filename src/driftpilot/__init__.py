"""driftpilot keeps machine-learning models healthy in production.

The Python API is imported lazily, so ``import driftpilot`` (and the CLI's ``--help``) stays
fast; heavy dependencies load on first use::

    import driftpilot
    profile = driftpilot.build_profile("training.parquet")
    report = driftpilot.drift_report("this_week.parquet", profile=profile)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "build_profile": "driftpilot.profile.build",
    "Profile": "driftpilot.profile.model",
    "drift_report": "driftpilot.drift",
    "window_reports": "driftpilot.drift",
    "DriftReport": "driftpilot.drift.report",
    "load_config": "driftpilot.config",
    "DriftpilotConfig": "driftpilot.config",
    "Engine": "driftpilot.engine.backend",
    "log_predictions": "driftpilot.log.writer",
    "log_labels": "driftpilot.log.writer",
    "run_monitor": "driftpilot.monitor.job",
    "Workspace": "driftpilot.workspace",
    "init_workspace": "driftpilot.workspace",
}

__all__ = [
    "DriftReport",
    "DriftpilotConfig",
    "Engine",
    "Profile",
    "Workspace",
    "__version__",
    "build_profile",
    "drift_report",
    "init_workspace",
    "load_config",
    "log_labels",
    "log_predictions",
    "run_monitor",
    "window_reports",
]

if TYPE_CHECKING:
    from driftpilot.config import DriftpilotConfig, load_config
    from driftpilot.drift import drift_report, window_reports
    from driftpilot.drift.report import DriftReport
    from driftpilot.engine.backend import Engine
    from driftpilot.log.writer import log_labels, log_predictions
    from driftpilot.monitor.job import run_monitor
    from driftpilot.profile.build import build_profile
    from driftpilot.profile.model import Profile
    from driftpilot.workspace import Workspace, init_workspace


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'driftpilot' has no attribute {name!r}")
    return getattr(import_module(module), name)
