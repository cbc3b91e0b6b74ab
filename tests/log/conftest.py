"""A small binary model schema and helpers shared by the log tests."""

from datetime import UTC, datetime

import pytest

from driftpilot.config import ModelConfig
from driftpilot.schema import FeatureType

FEATURES = {
    "tenure": FeatureType.NUMERIC,
    "plan": FeatureType.CATEGORICAL,
    "autopay": FeatureType.BOOLEAN,
}
MODEL = ModelConfig(name="churn", task="binary", threshold=0.5)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(i: int = 0, **changes):
    base = {
        "prediction_id": f"p{i}",
        "entity_id": f"c{i}",
        "timestamp": "2026-03-01T10:00:00Z",
        "features": {"tenure": 12.0 + i, "plan": "basic", "autopay": True},
        "score": 0.25,
    }
    base.update(changes)
    return base


@pytest.fixture
def workspace(tmp_path):
    from driftpilot.workspace import init_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(
        "model:\n  name: churn\n  task: binary\n  features: {tenure: numeric, plan: categorical, "
        "autopay: boolean}\nlog:\n  flush_ms: 5\n"
    )
    from driftpilot.workspace import Workspace

    return Workspace.open(root)
