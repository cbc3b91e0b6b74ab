"""Partial failures: aliases are repaired or put back, errors name what failed."""

from __future__ import annotations

import pytest

from driftpilot.errors import ConfigError, RegistryError, TrainingError
from driftpilot.registry.client import Registry
from driftpilot.retrain.pipeline import promote_version, retrain
from driftpilot.retrain.trainers import Trained, run_trainer

from .conftest import Deployment
from .test_pipeline import _with


def test_a_passed_version_whose_alias_was_lost_gets_it_on_the_next_ask(
    churn: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(churn.workspace)
    before = registry.aliases()

    def refuse(self: Registry, alias: str, version: str) -> None:
        raise RegistryError("MLflow went away")

    with monkeypatch.context() as patched:
        patched.setattr(Registry, "set_alias", refuse)
        with pytest.raises(RegistryError, match="went away"):
            retrain(churn.workspace, decision="lost-alias", now=churn.closes[9])
    assert registry.aliases() == before
    again = retrain(churn.workspace, decision="lost-alias", now=churn.closes[9])
    assert again.existing
    assert again.alias == "challenger"
    assert registry.alias("challenger") == again.version.version


def test_a_promotion_that_fails_halfway_puts_the_aliases_back(
    churn: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(churn.workspace)
    target = registry.alias("challenger")
    assert target is not None
    before = registry.aliases()
    reference = churn.workspace.reference_path.read_bytes()
    real = Registry.set_alias

    def fail_on_previous(self: Registry, alias: str, version: str) -> None:
        if alias == "previous":
            raise RegistryError("MLflow went away")
        real(self, alias, version)

    with monkeypatch.context() as patched:
        patched.setattr(Registry, "set_alias", fail_on_previous)
        with pytest.raises(RegistryError):
            promote_version(churn.workspace, target)
    assert registry.aliases() == before
    assert churn.workspace.reference_path.read_bytes() == reference


def test_unknown_versions_and_foreign_ids_are_named(churn: Deployment) -> None:
    with pytest.raises(ConfigError, match=r"has no version '99'; it has 1, "):
        promote_version(churn.workspace, "99")
    with pytest.raises(ConfigError, match="expected a decision id"):
        retrain(churn.workspace, decision="x' or name != '", now=churn.closes[9])
    with pytest.raises(ConfigError, match="reserved"):
        retrain(churn.workspace, decision="manual", now=churn.closes[9])


def test_a_tracking_uri_mlflow_cannot_open_is_a_registry_error(churn: Deployment) -> None:
    space = _with(churn.workspace, "registry: {tracking_uri: 'htp://nowhere'}")
    with pytest.raises(RegistryError, match=r"MLflow at htp://nowhere failed to open"):
        Registry(space).alias("champion")


def test_a_segment_the_log_does_not_hold_is_refused(churn: Deployment) -> None:
    space = _with(churn.workspace, "monitor: {window: week, segments: [channel]}")
    with pytest.raises(ConfigError, match=r"monitor.segments names \['channel'\]"):
        retrain(space, now=churn.closes[9])


def test_trainer_metrics_must_be_numbers() -> None:
    with pytest.raises(TrainingError, match="not finite numbers"):
        run_trainer(lambda data: Trained(object(), metrics={"x": None}), None, "t")  # type: ignore[arg-type, dict-item]


def test_a_registered_model_scores_an_unseen_level_as_missing(churn: Deployment) -> None:
    model = Registry(churn.workspace).load("1")
    assert model.levels is not None
    assert "region" in model.levels
    rows = churn.scenario.week(5).head(2)
    unseen = rows.assign(region=["atlantis", "south"])
    missing = rows.assign(region=[None, "south"])
    assert model.score(unseen).tolist() == model.score(missing).tolist()
    assert len(model.score(rows.head(1).assign(region=[None]))) == 1  # one request, no region
