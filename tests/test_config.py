import pytest

from driftpilot.config import DriftpilotConfig, load_config, parse_config
from driftpilot.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "driftpilot.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config() == DriftpilotConfig()


def test_reads_the_file_in_the_current_folder(tmp_path, monkeypatch) -> None:
    write(tmp_path, "columns:\n  id: [customer_id]\ndrift:\n  drift_share: 0.3\n")
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.columns.id == ["customer_id"]
    assert config.drift.drift_share == 0.3


def test_unknown_key_names_file_path_valid_keys_and_a_close_match(tmp_path) -> None:
    path = write(tmp_path, "drift:\n  features:\n    tenure:\n      treshold: 0.3\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: drift.features.tenure.treshold: unknown key")
    assert "did you mean 'threshold'?" in message
    assert "valid keys: method, threshold, calibrated, k" in message


def test_every_problem_is_listed(tmp_path) -> None:
    path = write(
        tmp_path,
        "profile:\n  bins: 1\nquality:\n  max_unseen_share: 2\nengine:\n  backend: spark\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "profile.bins: Input should be greater than or equal to 2; got 1" in message
    assert "quality.max_unseen_share" in message
    assert "engine.backend: Input should be 'duckdb' or 'pyspark'; got 'spark'" in message


def test_unknown_method_lists_the_valid_ones() -> None:
    with pytest.raises(
        ConfigError,
        match=r"drift.default: unknown method 'psy'; valid methods: chi2_pvalue, hellinger",
    ):
        parse_config({"drift": {"default": {"method": "psy"}}})


def test_pvalue_methods_cannot_be_calibrated() -> None:
    with pytest.raises(ConfigError, match="p-value test and cannot be calibrated"):
        parse_config({"drift": {"default": {"method": "ks_pvalue", "calibrated": True}}})


def test_bad_yaml_and_wrong_top_level(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML at line 3"):
        load_config(write(tmp_path, "drift:\n  default: {method: psi\n  k: 2\n"))
    with pytest.raises(
        ConfigError, match="expected a mapping of settings at the top level, got list"
    ):
        load_config(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "absent.yaml")


def test_the_model_name_must_be_a_registry_name() -> None:
    with pytest.raises(ConfigError, match=r"model.name: expected a name of letters"):
        parse_config({"model": {"name": "churn' or name != '"}})
    assert parse_config({"model": {"name": "churn-v2.eu"}}).model.name == "churn-v2.eu"
