"""The serving fast path scores exactly what the registry's model scores through pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from driftpilot.registry.client import LoadedModel, Registry
from driftpilot.schema import FeatureType
from driftpilot.serve.scoring import Scorer
from tests.canary.conftest import Deployment


def rows_of(frame: pd.DataFrame, features: list[str]) -> list[dict]:
    return frame[features].astype(object).where(frame[features].notna(), None).to_dict("records")


def test_the_fast_path_equals_the_models_own_scores(deployment: Deployment) -> None:
    loaded = Registry(deployment.workspace).load("1")
    scorer = Scorer(loaded)
    assert scorer.fast
    week = deployment.scenario.week(6).head(2000).copy()
    week.loc[week.index[:50], "plan"] = "platinum"  # a level the model never saw
    week.loc[week.index[50:100], "region"] = None
    week.loc[week.index[100:150], "tenure"] = np.nan
    week["autopay"] = week["autopay"].astype(object)
    week.loc[week.index[150:200], "autopay"] = None
    week.loc[week.index[200:250], "contract"] = " annual "  # padded text, as model_frame strips
    features = list(loaded.features)
    expected = loaded.score(week)
    assert np.array_equal(scorer.score(rows_of(week, features)), expected)
    one = scorer.score(rows_of(week.head(1), features))
    assert one.shape == (1,)
    assert one[0] == expected[0]


class Constant:
    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p = np.full(len(frame), 0.25)
        return np.column_stack([1 - p, p])


def test_other_models_are_scored_through_model_frame() -> None:
    features = {"tenure": FeatureType.NUMERIC, "plan": FeatureType.CATEGORICAL}
    scorer = Scorer(LoadedModel("7", Constant(), "sklearn", features, "binary"))
    assert not scorer.fast
    scores = scorer.score([{"tenure": 1.0, "plan": "a"}, {"tenure": None, "plan": None}])
    assert scores.tolist() == [0.25, 0.25]
