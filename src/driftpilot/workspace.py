"""The workspace: one folder holding ``driftpilot.yaml`` and everything driftpilot keeps.

::

    WORKSPACE/
      driftpilot.yaml          configuration
      reference.json           the reference profile (features, score, label, calibration)
      log/predictions/         Delta table of logged predictions
      log/labels/              Delta table of labels (they may arrive days later)
      log/shadow/              Delta table of a challenger's shadow predictions
      log/errors/              Delta table of failed model calls while serving
      reports/                 Delta table of window reports
      decisions/               Delta table of policy decisions (one per rule and window)
      alerts/                  Delta table of incident messages sent
      canary/                  Delta table of canary steps (start, advance, promote, rollback)
      feature-checks/          Delta table of feature-store checks (freshness, skew)
      features/                the Feast repository, when ``features.repo`` points here

Every command takes ``--workspace/-w DIR``; without it, ``DRIFTPILOT_WORKSPACE`` or the current
folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from driftpilot.config import CONFIG_FILE, DriftpilotConfig, load_config
from driftpilot.errors import ConfigError, ProfileError

if TYPE_CHECKING:
    from driftpilot.profile.model import Profile

__all__ = ["ENV_VAR", "FEATURES_TEMPLATE", "TEMPLATE", "Workspace", "init_workspace"]

ENV_VAR = "DRIFTPILOT_WORKSPACE"

TEMPLATE = """\
# driftpilot.yaml: every key is optional; unknown keys are refused.
columns:
  id: []              # entity or row id columns (not features)
  timestamp: null     # event time column of reference data
  target: null        # the label column of reference data
  prediction: null    # the model's score column of reference data
model:
  name: model
  task: binary        # binary or regression
  threshold: 0.5      # a score at or above it predicts 1
  features: {}        # name: numeric|categorical|boolean (default: the reference profile's)
monitor:
  window: day         # hour, day, week, month, or rows (with window_rows)
  segments: []        # columns whose values get their own performance
drift:
  default: {method: psi, threshold: 0.2}
serve:
  host: 127.0.0.1
  port: 8000
"""


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: DriftpilotConfig

    @classmethod
    def open(cls, root: str | Path | None = None, *, config: str | Path | None = None) -> Workspace:
        """Open a workspace (``root``, else ``$DRIFTPILOT_WORKSPACE``, else the current folder)."""
        path = Path(root or os.environ.get(ENV_VAR) or ".").resolve()
        if not path.is_dir():
            raise ConfigError(
                f"workspace {str(path)!r} is not a folder",
                hint="create one with `driftpilot init DIR`",
            )
        config_path = Path(config) if config else path / CONFIG_FILE
        settings = (
            load_config(config_path) if config or config_path.is_file() else DriftpilotConfig()
        )
        return cls(path, settings)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def reference_path(self) -> Path:
        return self.root / "reference.json"

    @property
    def predictions_path(self) -> Path:
        return self.root / "log" / "predictions"

    @property
    def labels_path(self) -> Path:
        return self.root / "log" / "labels"

    @property
    def shadow_path(self) -> Path:
        return self.root / "log" / "shadow"

    @property
    def errors_path(self) -> Path:
        return self.root / "log" / "errors"

    @property
    def canary_path(self) -> Path:
        return self.root / "canary"

    @property
    def feature_checks_path(self) -> Path:
        return self.root / "feature-checks"

    @property
    def reports_path(self) -> Path:
        return self.root / "reports"

    @property
    def decisions_path(self) -> Path:
        return self.root / "decisions"

    @property
    def alerts_path(self) -> Path:
        return self.root / "alerts"

    def reference(self) -> Profile:
        from driftpilot.profile.model import Profile

        if not self.reference_path.is_file():
            raise ProfileError(
                f"the workspace {str(self.root)!r} has no reference profile yet",
                hint=f"create it with `driftpilot profile DATA -w {self.root}`",
            )
        return Profile.load(self.reference_path)


FEATURES_TEMPLATE = """\
features:
  repo: features      # the Feast repository (feature_store.yaml, definitions.py)
  views: [customer_profile_v1, customer_usage_v2]
  schedule: 1d        # `driftpilot run` materializes this often
"""


def init_workspace(root: str | Path, *, features: bool = False) -> Workspace:
    """Create a workspace folder with a commented ``driftpilot.yaml`` (kept if it exists);
    with ``features``, also the churn demo's Feast repository in ``features/``."""
    path = Path(root).resolve()
    path.mkdir(parents=True, exist_ok=True)
    (path / "log").mkdir(exist_ok=True)
    config = path / CONFIG_FILE
    if not config.exists():
        config.write_text(TEMPLATE + (FEATURES_TEMPLATE if features else ""), encoding="utf-8")
    if features:
        from driftpilot.features.demo_repo import write_demo_repo

        write_demo_repo(path / "features")
    return Workspace.open(path)
