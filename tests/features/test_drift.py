"""Feature-view drift: window statistics over a view's offline source."""

from __future__ import annotations

import pandas as pd
import pytest

from driftpilot.demo.churn import ChurnScenario, WeekSpec
from driftpilot.errors import ConfigError
from driftpilot.features.demo_repo import USAGE, write_view_rows
from driftpilot.features.drift import view_drift
from driftpilot.profile.build import build_profile
from tests.features.conftest import rows


def test_a_shifted_week_drifts_in_the_store_and_control_weeks_do_not(space) -> None:
    shifted = ChurnScenario(seed=11, rows_per_week=400).week(
        2, WeekSpec(covariate_shift={"monthly_usage": 1.5})
    )
    write_view_rows(space.root / "features", shifted, "week-02")
    reference = build_profile(rows(), space.config)
    reports = view_drift(space, "customer_usage_v2", window="week", profile=reference)
    frame = pd.concat([rows(), shifted])
    weeks = pd.to_datetime(frame.timestamp).dt.to_period("W-SUN").dt.start_time
    assert [r.dataset.rows_current for r in reports] == weeks.value_counts().sort_index().tolist()
    assert [sorted(r.features) for r in reports] == [sorted(USAGE)] * 3
    assert [r.dataset.drifted_features for r in reports] == [[], [], ["monthly_usage"]]
    with pytest.raises(ConfigError, match="no feature view 'customer_usage_v9'"):
        view_drift(space, "customer_usage_v9", profile=reference)
