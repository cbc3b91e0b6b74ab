"""The README's examples run, and its configuration reference is valid configuration."""

import re
from pathlib import Path

import yaml

from driftpilot.config import parse_config

README = (Path(__file__).parents[1] / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_examples_run() -> None:
    found = blocks("python")
    assert found
    for code in found:
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README


def test_configuration_reference_is_valid() -> None:
    (text,) = blocks("yaml")
    config = parse_config(yaml.safe_load(text), source="README.md")
    assert config.drift.features["tenure"].method == "ks_pvalue"
    assert config.profile.sample_rows == 50_000
    assert config.policy.rules["field_guide"].action == "retrain"
    assert [sink.type for sink in config.alerts.sinks] == ["log", "jsonl", "slack", "webhook"]
    assert [stage.weight for stage in config.canary.stages] == [0.0, 0.05, 0.25, 0.5, 1.0]
    assert config.features.enabled
    assert config.features.allowed_staleness().days == 2


def test_policy_example_is_valid_configuration() -> None:
    (text,) = re.findall(r"```\n(policy:\n  triggers:.*?)```", README, flags=re.S)
    data = yaml.safe_load(text)
    data["monitor"] = {"segments": ["region"]}
    config = parse_config(data, source="README.md")
    rules = config.policy.rules
    assert rules["field_guide"].action == "retrain"
    assert rules["south_recall"].persistence.describe() == "2 of the last 3 windows"
    assert rules["quiet_majority"].severity == "warn"
