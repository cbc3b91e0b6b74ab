"""Training sets from the feature store: the labeled predictions of the window get their
features point in time from Feast, not from the log, and a backfill cannot leak into them."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from driftpilot.engine.backend import Engine
from driftpilot.errors import DataError
from driftpilot.features.demo_repo import write_view_rows
from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.retrain.data import from_log
from driftpilot.workspace import Workspace
from tests.features.conftest import MATERIALIZED, rows


def labeled(space: Workspace, frame: pd.DataFrame) -> Workspace:
    with space.config_path.open("a") as config:
        config.write("retrain: {days: 30, min_rows: 100, min_class_rows: 5}\n")
    space = Workspace.open(space.root)
    logged = frame.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"})
    logged["entity_id"] = logged["entity_id"].astype(str)
    logged["prediction_id"] = [f"p{i}" for i in range(len(frame))]
    logged["score"] = 0.3
    logged["tenure"] = -1.0  # what the log says; the feature store says otherwise
    log_predictions(logged, workspace=space)
    log_labels(
        pd.DataFrame({"prediction_id": logged["prediction_id"], "label": frame["churn"]}),
        workspace=space,
    )
    return space


def test_features_are_joined_point_in_time_from_the_store_not_taken_from_the_log(space) -> None:
    source = rows()
    space = labeled(space, source)
    backfilled = source.iloc[[5]].assign(monthly_usage=999.0)
    created = pd.Series([MATERIALIZED + timedelta(days=1)])
    write_view_rows(space.root / "features", backfilled, "backfill", created=created)
    features = dict(space.config.model.features)
    data = from_log(space, features, MATERIALIZED, engine=Engine.create())
    assert data.source == "feature_store"
    assert "customer_profile_v1 (v1)" in data.notes[0]
    assert "customer_usage_v2 (v2)" in data.notes[0]
    every = pd.concat([data.train, data.validation, data.holdout]).set_index("prediction_id")
    assert len(every) == len(source)
    expected = source.assign(prediction_id=[f"p{i}" for i in range(len(source))])
    expected = expected.set_index("prediction_id").loc[every.index]
    for name in features:  # the rows' own values: each prediction's features at its time
        pd.testing.assert_series_equal(
            every[name].reset_index(drop=True),
            expected[name].reset_index(drop=True),
            check_dtype=False,
            check_names=False,
        )
    assert (every["tenure"] != -1.0).all()
    assert every.loc["p5", "monthly_usage"] == source.monthly_usage.iloc[5]  # not 999


def test_predictions_without_an_entity_cannot_be_joined(space) -> None:
    frame = rows().iloc[:200]
    space = labeled(space, frame)
    anonymous = (
        frame.iloc[:3]
        .drop(columns=["churn", "customer_id"])
        .assign(prediction_id=["x1", "x2", "x3"], score=0.5)
    )
    log_predictions(anonymous, workspace=space)
    log_labels(pd.DataFrame({"prediction_id": ["x1", "x2", "x3"], "label": 1}), workspace=space)
    with pytest.raises(DataError, match="3 labeled predictions have no entity_id"):
        from_log(space, dict(space.config.model.features), MATERIALIZED, engine=Engine.create())
