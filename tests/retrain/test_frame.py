"""model_frame: how features are typed for a model, in training and in scoring alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftpilot.errors import SchemaError
from driftpilot.retrain.frame import levels_of, model_frame
from driftpilot.retrain.trainers import Trained, builtin_xgboost, score_model, training_data
from driftpilot.schema import FeatureType

NUMERIC, BOOLEAN, CATEGORICAL = FeatureType.NUMERIC, FeatureType.BOOLEAN, FeatureType.CATEGORICAL


def test_each_kind_gets_its_dtype_in_declared_order() -> None:
    raw = pd.DataFrame(
        {
            "extra": ["dropped", "too"],
            "plan": ["pro", "basic"],
            "autopay": [True, False],
            "tenure": [3, 7],
        },
        index=[10, 20],
    )
    features = {"tenure": NUMERIC, "plan": CATEGORICAL, "autopay": BOOLEAN}
    out = model_frame(raw, features)
    assert list(out.columns) == ["tenure", "plan", "autopay"]
    assert out.dtypes.astype(str).tolist() == ["float64", "category", "float64"]
    assert list(out.index) == [10, 20]  # rows stay aligned with the input
    assert out["tenure"].tolist() == [3.0, 7.0]
    assert out["autopay"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", 1.0),
        ("false", 0.0),
        (" TRUE ", 1.0),
        ("False", 0.0),
        ("yes", 1.0),
        ("no", 0.0),
        ("1", 1.0),
        ("0", 0.0),
        (1, 1.0),
        (0, 0.0),
        (1.0, 1.0),
        (0.0, 0.0),
        (True, 1.0),
        (False, 0.0),
        (None, np.nan),
        (np.nan, np.nan),
        (pd.NA, np.nan),
        ("maybe", np.nan),
        ("", np.nan),
    ],
)
def test_boolean_values_are_parsed(value: object, expected: float) -> None:
    # mixed with other values, so the column is of object dtype as logged JSON would be
    raw = pd.DataFrame({"b": pd.Series([value, "true", 0], dtype=object)})
    out = model_frame(raw, {"b": BOOLEAN})["b"]
    assert out.dtype == np.float64
    assert out.iloc[1:].tolist() == [1.0, 0.0]
    if np.isnan(expected):
        assert np.isnan(out.iloc[0])
    else:
        assert out.iloc[0] == expected


NAN = float("nan")


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pd.Series([True, False, True]), [1.0, 0.0, 1.0]),
        (pd.Series([True, None, False], dtype="boolean"), [1.0, NAN, 0.0]),
        (pd.Series([1.0, np.nan, 0.0]), [1.0, NAN, 0.0]),
        (pd.Series([1.0, np.nan, 0.0], dtype="float32"), [1.0, NAN, 0.0]),
        (pd.Series(["true", None, "false"], dtype="string"), [1.0, NAN, 0.0]),
        (pd.Series(["t", "n", None], dtype="str"), [1.0, 0.0, NAN]),
        (pd.Series([1, 0, 1], dtype="int8"), [1.0, 0.0, 1.0]),
    ],
    ids=["bool", "boolean", "float64", "float32", "string", "str", "int8"],
)
def test_boolean_columns_of_each_dtype(column: pd.Series, expected: list[float]) -> None:
    out = model_frame(pd.DataFrame({"b": column}), {"b": BOOLEAN})["b"]
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.to_numpy(), np.array(expected))


def test_numeric_text_is_coerced_and_junk_becomes_nan() -> None:
    raw = pd.DataFrame({"x": pd.Series(["1.5", "abc", None, "", 3, "-2e3"], dtype=object)})
    out = model_frame(raw, {"x": NUMERIC})["x"]
    assert out.dtype == np.float64
    assert out.isna().tolist() == [False, True, True, True, False, False]
    assert out.dropna().tolist() == [1.5, 3.0, -2000.0]
    ints = model_frame(pd.DataFrame({"x": [1, 2]}), {"x": NUMERIC})["x"]
    assert ints.dtype == np.float64


def test_categorical_levels_are_sorted_stripped_text() -> None:
    raw = pd.DataFrame({"c": pd.Series(["b", " a", "", None, "c", "a ", 7], dtype=object)})
    out = model_frame(raw, {"c": CATEGORICAL})["c"]
    assert isinstance(out.dtype, pd.CategoricalDtype)
    assert list(out.cat.categories) == ["7", "a", "b", "c"]
    assert out.isna().tolist() == [False, False, True, True, False, False, False]
    assert out.astype(object).where(out.notna(), None).tolist() == [
        "b",
        "a",
        None,
        None,
        "c",
        "a",
        "7",
    ]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["x", "y", " y", "z ", "", "10", "9"])),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 2**32 - 1),
)
def test_categories_do_not_depend_on_row_order(values: list[str | None], seed: int) -> None:
    raw = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    out = model_frame(raw, {"c": CATEGORICAL})["c"]
    cleaned = {v.strip() for v in values if v is not None and v.strip()}
    assert list(out.cat.categories) == sorted(cleaned)
    order = np.random.default_rng(seed).permutation(len(values)).tolist()
    shuffled = model_frame(raw.iloc[order], {"c": CATEGORICAL})["c"]
    assert list(shuffled.cat.categories) == list(out.cat.categories)
    assert shuffled.cat.codes.tolist() == out.cat.codes.iloc[order].tolist()


def test_a_missing_feature_is_named() -> None:
    raw = pd.DataFrame({"tenure": [1.0], "plan": ["a"]})
    with pytest.raises(SchemaError, match=r"features \['autopay'\] are missing") as err:
        model_frame(raw, {"tenure": NUMERIC, "autopay": BOOLEAN})
    assert err.value.field == "autopay"
    assert str(err.value).startswith("autopay: ")
    with pytest.raises(SchemaError, match=r"\['autopay', 'region'\]"):
        model_frame(raw, {"autopay": BOOLEAN, "plan": CATEGORICAL, "region": CATEGORICAL})


# ---------------------------------------------------------------------------- with XGBoost

FEATURES = {"x": NUMERIC, "plan": CATEGORICAL, "autopay": BOOLEAN}
EFFECT = {"basic": -1.5, "plus": -0.5, "pro": 0.5, "max": 1.5}


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(list(EFFECT), n)
    x = rng.normal(size=n)
    autopay = rng.random(n) < 0.5
    logit = 2 * pd.Series(plan).map(EFFECT).to_numpy() + 0.5 * x - 0.5 * autopay
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return pd.DataFrame({"x": x, "plan": plan, "autopay": autopay, "label": label})


@pytest.fixture(scope="module")
def trained() -> Trained:
    data = training_data(
        _rows(1500, 0),
        _rows(500, 1),
        FEATURES,
        "binary",
        {"n_estimators": 80, "learning_rate": 0.2, "n_jobs": 2},
        0,
    )
    fitted = builtin_xgboost(data)
    # a registered model carries its training levels; scoring uses them as the registry does
    return Trained(fitted.model, {**fitted.params, "levels": levels_of(data.x_train)})


def _score(trained: Trained, raw: pd.DataFrame) -> np.ndarray:
    typed = model_frame(raw, FEATURES, trained.params["levels"])
    return score_model(trained.model, typed, "binary", who="model")


# the same four requests in every test: one per plan
REQUESTS = pd.DataFrame(
    {
        "x": [0.3, -0.2, 0.1, 0.0],
        "plan": ["basic", "plus", "pro", "max"],
        "autopay": [True, False, "true", 0],
    }
)


def test_the_model_learned_the_plans(trained: Trained) -> None:
    scores = _score(trained, REQUESTS)
    # the plan effect dominates: scores rise from basic to max
    assert scores[0] < scores[1] < scores[2] < scores[3]


def test_scores_do_not_depend_on_the_order_levels_appear_in(trained: Trained) -> None:
    scores = _score(trained, REQUESTS)
    backwards = REQUESTS.iloc[::-1].reset_index(drop=True)
    assert _score(trained, backwards) == pytest.approx(scores[::-1], abs=1e-7)
    # the levels' order in the category dtype itself, not only in the rows
    typed = model_frame(REQUESTS, FEATURES)
    typed["plan"] = typed["plan"].cat.reorder_categories(["pro", "max", "basic", "plus"])
    assert score_model(trained.model, typed, "binary", who="m") == pytest.approx(scores, abs=1e-7)


@pytest.mark.parametrize("subset", [[3], [2, 0], [1, 3], [0, 1, 2]])
def test_scores_do_not_depend_on_which_levels_are_present(
    trained: Trained, subset: list[int]
) -> None:
    scores = _score(trained, REQUESTS)
    # a batch with fewer levels codes them differently (max alone is code 0, not 1)
    part = REQUESTS.iloc[subset].reset_index(drop=True)
    assert len(model_frame(part, FEATURES)["plan"].cat.categories) == len(subset)
    assert _score(trained, part) == pytest.approx(scores[subset], abs=1e-7)


def test_the_same_request_typed_in_other_ways_scores_alike(trained: Trained) -> None:
    raw = pd.DataFrame({"x": ["0.3"], "plan": [" basic "], "autopay": ["yes"]})
    assert _score(trained, raw) == pytest.approx(_score(trained, REQUESTS.iloc[[0]]), abs=1e-7)


# two requests: plan missing, plan pro
_MISSING_PLAN = pd.DataFrame({"x": [0.0, 0.0], "plan": [None, "pro"], "autopay": [True, True]})


def test_a_missing_level_scores_like_a_missing_value_in_a_mixed_batch(trained: Trained) -> None:
    empty = _MISSING_PLAN.assign(plan=["", "pro"])
    assert _score(trained, empty) == pytest.approx(_score(trained, _MISSING_PLAN), abs=1e-7)


# with the training levels, a level the model never saw is scored as missing (XGBoost 3.2 on
# its own would score it as a neighbouring level or raise: dmlc/xgboost#11826)
def test_an_unseen_level_is_scored_as_missing(trained: Trained) -> None:
    unseen = _MISSING_PLAN.assign(plan=["gold", "pro"])
    assert _score(trained, unseen) == pytest.approx(_score(trained, _MISSING_PLAN), abs=1e-7)


def test_an_unseen_level_after_the_known_ones_is_scored_as_missing(trained: Trained) -> None:
    unseen = _MISSING_PLAN.assign(plan=["zzz", "pro"])
    assert _score(trained, unseen) == pytest.approx(_score(trained, _MISSING_PLAN), abs=1e-7)


def test_a_batch_with_a_categorical_missing_everywhere_scores(trained: Trained) -> None:
    alone = _MISSING_PLAN.iloc[:1]
    assert _score(trained, alone) == pytest.approx(_score(trained, _MISSING_PLAN)[:1], abs=1e-7)
