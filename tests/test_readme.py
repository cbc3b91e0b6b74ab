"""The README's examples run, its configuration is valid configuration, and its references
(the command line, the HTTP routes, its own links) match the code."""

import re
import sys
import types
from datetime import UTC, datetime

import pytest
import yaml

from driftpilot.config import parse_config
from tests.readme import files
from tests.readme.markdown import (
    README,
    anchors,
    blocks,
    code_spans,
    links,
    section,
    table_rows,
)
from tests.readme.session import BEFORE, ELSEWHERE, EXIT_CODES, KNOWN_BUGS, SKIPPED, Session


def test_python_examples_run() -> None:
    found = blocks("python")
    assert found
    for block in found:
        exec(compile(block.text, "README.md", "exec"), {})  # noqa: S102 - our own README


def test_configuration_reference_is_valid() -> None:
    (text,) = [b.text for b in blocks("yaml", section("Configuration (`driftpilot.yaml`)"))]
    config = parse_config(yaml.safe_load(text), source="README.md")
    assert config.drift.features["tenure"].method == "ks_pvalue"
    assert config.profile.sample_rows == 50_000
    assert config.policy.rules["field_guide"].action == "retrain"
    assert [sink.type for sink in config.alerts.sinks] == ["log", "jsonl", "slack", "webhook"]
    assert [stage.weight for stage in config.canary.stages] == [0.0, 0.05, 0.25, 0.5, 1.0]
    assert config.features.enabled
    assert config.features.allowed_staleness().days == 2
    assert config.report.dashboard_windows == 104


def test_policy_example_is_valid_configuration() -> None:
    (text,) = re.findall(r"```\n(policy:\n  triggers:.*?)```", README, flags=re.S)
    data = yaml.safe_load(text)
    data["monitor"] = {"segments": ["region"]}
    config = parse_config(data, source="README.md")
    rules = config.policy.rules
    assert rules["field_guide"].action == "retrain"
    assert rules["south_recall"].persistence.describe() == "2 of the last 3 windows"
    assert rules["quiet_majority"].severity == "warn"


def feast_repo_config(data: dict) -> object:
    """Feast's own model of a feature_store.yaml. Feast imports redis-py beside its Redis
    config class, and driftpilot's lock has no redis extra: stand-ins let the class load (its
    fields are all the check needs; they leave sys.modules afterwards)."""
    from feast.repo_config import RepoConfig

    names = {
        "redis": ["Redis"],
        "redis.asyncio": ["Redis", "RedisCluster"],
        "redis.cluster": ["ClusterNode", "RedisCluster"],
        "redis.sentinel": ["Sentinel"],
    }
    fake = {module: types.ModuleType(module) for module in names}
    for module, classes in names.items():
        for name in classes:
            setattr(fake[module], name, type(name, (), {}))
    fake["redis"].asyncio = fake["redis.asyncio"]
    if "redis" in sys.modules:
        return RepoConfig(**data).online_store
    # only the stand-ins (and Feast's redis module bound to them) leave sys.modules afterwards:
    # restoring the whole dict would drop extension modules imported meanwhile (duckdb), and
    # importing one of those a second time aborts the process
    before = set(sys.modules)
    sys.modules.update(fake)
    try:
        return RepoConfig(**data).online_store
    finally:
        for name in set(sys.modules) - before:
            if "redis" in name:
                del sys.modules[name]


def test_yaml_examples_are_valid_configuration() -> None:
    """Each ```yaml block parses: driftpilot's configuration, or Feast's for a block headed
    by a feature_store.yaml."""
    checked = {"driftpilot": 0, "feast": 0}
    for block in blocks("yaml"):
        data = yaml.safe_load(block.text)
        if (block.header or "").endswith("feature_store.yaml"):
            online = feast_repo_config(data)
            assert type(online).__name__ == "RedisOnlineStoreConfig"
            assert online.connection_string == "localhost:6379"
            checked["feast"] += 1
        else:
            parse_config(data, source=f"README.md:{block.line}")
            checked["driftpilot"] += 1
    assert checked["feast"] == 1
    assert checked["driftpilot"] >= 6
    misspelt = yaml.safe_load(blocks("yaml", section("Scaling out"))[-1].text)
    misspelt["online_store"]["connection_strng"] = misspelt["online_store"].pop("connection_string")
    with pytest.raises(Exception, match="connection_strng"):  # Feast refuses unknown keys
        feast_repo_config(misspelt)


def test_commands_are_in_shell_blocks() -> None:
    """A command shown in an untagged block would be run by no test: tag it ```sh."""
    for block in blocks(""):
        for line in block.text.splitlines():
            assert not re.match(r"\s*(driftpilot|curl|make|uv) ", line), (
                f"README.md:{block.line}: {line.strip()!r} is in an untagged block"
            )


def test_shell_examples_run(tmp_path, monkeypatch) -> None:
    """Every ```sh block's commands, in README order, in one folder holding the files they
    name (tests/readme/session.py says what is skipped or run elsewhere, and why)."""
    import xgboost

    for variable in ("DRIFTPILOT_WORKSPACE", "DRIFTPILOT_TOKEN", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(variable, raising=False)
    root = tmp_path / "reader"
    root.mkdir()
    now = datetime.now(UTC)
    files.write_churn_files(root, now)
    monkeypatch.chdir(root)
    session = Session(root, now)
    # XGBoost on one thread: on a busy 2-core machine its OpenMP threads wait on each other
    # (measured here: a first retrain took 10-13 s on every core, 4-5 s on one)
    with xgboost.config_context(nthread=1):
        session.walk(blocks())
    assert len(session.ran) >= 30, session.ran
    listed = set(SKIPPED) | set(BEFORE) | set(ELSEWHERE) | set(EXIT_CODES) | set(KNOWN_BUGS)
    assert session.used == listed, f"entries no README command uses: {listed - session.used}"


def command_paths() -> set[str]:
    """Every command the typer app answers: its leaves, and groups that run on their own."""
    import typer.main

    from driftpilot.cli import app

    def walk(command: object, path: tuple[str, ...]) -> set[str]:
        if not hasattr(command, "commands"):  # typer's own click: a group has subcommands
            return {" ".join(path)}
        own = {" ".join(path)} if path and command.invoke_without_command else set()
        return own.union(*(walk(sub, (*path, name)) for name, sub in command.commands.items()))

    return walk(typer.main.get_command(app), ())


def test_the_command_line_reference_lists_every_command() -> None:
    rows = table_rows(section("Command line reference"))
    documented = [code_spans(row[0])[0].removeprefix("driftpilot ") for row in rows]
    assert len(documented) == len(set(documented)), "a command is listed twice"
    assert set(documented) == command_paths()


def routes(declared: list, prefix: str = "") -> list[tuple[str, set[str]]]:
    """Path and methods of every route, those of included routers too."""
    found = []
    for route in declared:
        if hasattr(route, "original_router"):  # FastAPI's include_router
            inner = prefix + route.include_context.prefix
            found += routes(route.original_router.routes, inner)
        else:
            found.append((prefix + route.path, getattr(route, "methods", None) or {"GET"}))
    return found


def test_the_http_api_table_lists_every_route(tmp_path) -> None:
    from driftpilot.serve.app import create_app
    from driftpilot.workspace import Workspace

    (tmp_path / "driftpilot.yaml").write_text("model: {features: {tenure: numeric}}\n")
    app = create_app(Workspace.open(tmp_path))  # a logging-only server: no model, no store
    served = {
        (method, path)
        for path, methods in routes(app.routes)
        for method in methods
        if method != "HEAD"
    }
    served.discard(("GET", "/docs/oauth2-redirect"))  # Swagger UI's own helper page
    documented = {
        tuple(span.split(" ", 1))
        for row in table_rows(section("HTTP API"))
        for span in code_spans(row[0])
    }
    assert documented == served


def test_links_to_sections_resolve() -> None:
    assert set(links()) <= anchors(), set(links()) - anchors()
