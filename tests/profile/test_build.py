import json

import numpy as np
import pandas as pd
import pytest

from driftpilot.config import parse_config
from driftpilot.errors import ConfigError, ProfileError, SchemaError
from driftpilot.profile.build import build_profile
from driftpilot.profile.model import CategoricalProfile, NumericProfile, Profile

from ..conftest import mixed_frame

CONFIG = parse_config({"columns": {"id": ["customer_id"], "timestamp": "timestamp"}})


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return mixed_frame(20_000, seed=11)


@pytest.fixture(scope="module")
def profile(engine, data) -> Profile:
    return build_profile(data, CONFIG, engine=engine)


def test_schema_roles_and_types(profile) -> None:
    assert list(profile.features) == ["usage", "calls", "delay", "plan", "autopay"]
    assert profile.excluded == {
        "customer_id": "declared as id",
        "timestamp": "declared as timestamp",
    }
    assert profile.features["plan"].type == "categorical"
    assert profile.features["autopay"].type == "boolean"
    assert profile.rows == 20_000


def test_numeric_summary_matches_numpy(profile, data) -> None:
    for name in ("usage", "calls", "delay"):
        feature = profile.features[name]
        assert isinstance(feature, NumericProfile)
        values = data[name].to_numpy()
        finite = values[np.isfinite(values)]
        assert feature.nulls == int(np.isnan(values).sum())
        assert sum(feature.bins.counts) == finite.size
        assert feature.min == finite.min()
        assert feature.max == finite.max()
        assert feature.mean == pytest.approx(finite.mean(), rel=1e-9)
        assert feature.std == pytest.approx(finite.std(), rel=1e-6)
        assert sum(feature.bins.sums) == pytest.approx(
            (finite - feature.grid.center).sum(), abs=1e-6
        )
        assert np.all(np.diff(feature.bins.edges) > 0)


def test_continuous_feature_gets_near_equal_mass_bins(profile) -> None:
    counts = np.asarray(profile.features["usage"].bins.counts)
    assert len(counts) == 100
    assert counts.max() / counts.sum() < 0.015
    assert counts.min() / counts.sum() > 0.005


def test_ties_stay_whole(profile, data) -> None:
    calls = profile.features["calls"]
    # every distinct count value is a point mass: each bin holds whole values only
    values = data["calls"].dropna().to_numpy()
    for count, lo, hi in zip(
        calls.bins.counts, calls.bins.edges[:-1], calls.bins.edges[1:], strict=True
    ):
        inside = values[(values >= lo) & (values < hi)] if hi != calls.max else values[values >= lo]
        assert count == inside.size
    delay = profile.features["delay"]
    assert max(delay.bins.counts) / sum(delay.bins.counts) > 0.5  # the zero point mass


def test_categories_by_count_with_other_bucket(engine, data) -> None:
    config = parse_config({"columns": {"id": ["customer_id"]}, "profile": {"max_categories": 2}})
    plan = build_profile(data, config, engine=engine).features["plan"]
    assert isinstance(plan, CategoricalProfile)
    expected = data["plan"].value_counts()
    assert plan.categories == list(expected.index[:2])
    assert plan.counts == list(expected.iloc[:2])
    assert plan.other_count == int(expected.iloc[2:].sum())
    assert plan.other_categories == list(expected.index[2:])


def test_calibration_by_time_and_random(engine, data, profile) -> None:
    calibration = profile.features["usage"].calibration
    assert calibration.method == "time"
    assert calibration.chunks == 10
    assert 1500 <= calibration.chunk_rows <= 2500
    assert calibration.statistics["psi"].mean > 0
    assert set(calibration.statistics) == {
        "psi",
        "kl",
        "js",
        "hellinger",
        "tv",
        "ks",
        "wasserstein",
    }
    assert set(profile.features["plan"].calibration.statistics) == {
        "psi",
        "kl",
        "js",
        "hellinger",
        "tv",
        "linf",
    }
    untimed = build_profile(data.drop(columns="timestamp"), parse_config({}), engine=engine)
    assert untimed.features["usage"].calibration.method == "random"


def approx_equal(a, b) -> bool:
    """Equal, with floats compared to 1e-9: parallel sums may add in a different order."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(approx_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(approx_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return a == b


def test_profile_is_deterministic_and_round_trips(engine, data, profile, tmp_path) -> None:
    again = build_profile(data, CONFIG, engine=engine)
    assert approx_equal(
        again.model_dump(exclude={"created_at"}), profile.model_dump(exclude={"created_at"})
    )
    path = profile.save(tmp_path / "profile.json")
    assert Profile.load(path) == profile


def test_type_override_and_id_like_text(engine, data) -> None:
    frame = data.assign(ticket=[f"T{i:06d}" for i in range(len(data))])
    config = parse_config({"columns": {"id": ["customer_id"], "types": {"calls": "categorical"}}})
    profile = build_profile(frame, config, engine=engine)
    assert profile.features["calls"].type == "categorical"
    assert "ticket" in profile.excluded
    assert any("ticket" in w for w in profile.warnings)


def test_declared_columns_must_exist(engine, data) -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'customer_id'"):
        build_profile(data, parse_config({"columns": {"id": ["customerid"]}}), engine=engine)


def test_no_features_is_an_error(engine) -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2026-01-01"])})
    with pytest.raises(SchemaError, match="no feature columns"):
        build_profile(frame, parse_config({}), engine=engine)


def test_all_null_and_constant_features(engine) -> None:
    frame = pd.DataFrame({"empty": [np.nan] * 50, "constant": [3.0] * 50, "one": ["a"] * 50})
    profile = build_profile(frame, parse_config({}), engine=engine)
    assert profile.features["empty"].bins is None
    assert profile.features["empty"].nulls == 50
    assert profile.features["constant"].bins.counts == [50]
    assert profile.features["one"].categories == ["a"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "version 2"),
        ({"format": "other"}, "not a driftpilot profile"),
        ({"rows": "many"}, "malformed at rows"),
    ],
)
def test_unreadable_profiles_are_refused(profile, tmp_path, change, message) -> None:
    data = json.loads(profile.model_dump_json())
    data.update(change)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=message):
        Profile.load(path)
    with pytest.raises(ProfileError, match="does not exist"):
        Profile.load(tmp_path / "missing.json")
