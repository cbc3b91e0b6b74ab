"""A workspace with the churn demo's Feast repository: two weeks of customer rows, applied and
materialized up to the end of week 1 (built once per session; tests that change it get their
own)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from driftpilot.demo.churn import ChurnScenario
from driftpilot.features.demo_repo import write_view_rows
from driftpilot.features.store import FeatureRepo
from driftpilot.workspace import FEATURES_TEMPLATE, Workspace, init_workspace

MATERIALIZED = datetime(2026, 1, 19, tzinfo=UTC)  # the end of week 1
CONFIG = (
    "columns: {id: [customer_id], timestamp: timestamp, target: churn}\n"
    "model:\n  name: churn\n  features: {"
    + ", ".join(f"{name}: {kind}" for name, kind in ChurnScenario.FEATURES.items())
    + "}\n"
    "log:\n  flush_ms: 5\n"
    "serve:\n  refresh: 1h\n  log_flush_ms: 5\n" + FEATURES_TEMPLATE + "  skew_sample: 2000\n"
)


def rows(weeks: int = 2, per_week: int = 400) -> pd.DataFrame:
    scenario = ChurnScenario(seed=11, rows_per_week=per_week)
    return pd.concat([scenario.week(i) for i in range(weeks)], ignore_index=True)


def build(root: Path) -> Workspace:
    init_workspace(root, features=True)
    (root / "driftpilot.yaml").write_text(CONFIG)
    frame = rows()
    write_view_rows(root / "features", frame, "weeks-00-01")
    space = Workspace.open(root)
    repo = FeatureRepo(space)
    repo.apply()
    repo.materialize(MATERIALIZED)
    return space


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Workspace:
    return build(tmp_path_factory.mktemp("feature-store") / "workspace")


@pytest.fixture
def space(tmp_path) -> Workspace:
    """A workspace of its own for a test that changes it (the sources' paths are absolute:
    a copy would read the original's files)."""
    return build(tmp_path / "workspace")
