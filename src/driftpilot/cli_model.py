"""Model commands: register, retrain, models (list, promote), metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from driftpilot.cli import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    _fail,
    open_workspace,
)
from driftpilot.errors import DriftpilotError

if TYPE_CHECKING:
    from driftpilot.retrain.pipeline import RetrainResult

__all__ = ["register_commands"]

models_app = typer.Typer(
    help="The deployment's model versions and aliases (MLflow registry).",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)


def _print_result(result: RetrainResult, output_format: OutputFormat) -> None:
    if output_format is OutputFormat.json:
        body = {
            "version": result.version.version,
            "alias": result.alias,
            "champion": result.champion,
            "existing": result.existing,
            "tags": result.version.tags,
            "training": result.training,
            "gate": result.gate.to_dict() if result.gate else None,
        }
        sys.stdout.write(json.dumps(body, default=str) + "\n")
        return
    from driftpilot.drift.render import make_console

    console = make_console()
    console.print(result.summary())
    if result.gate is not None:
        from driftpilot.retrain.render import comparison_table

        console.print(comparison_table(result))


def _instant(text: str) -> Any:
    from datetime import UTC, datetime

    from driftpilot.errors import ConfigError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"expected an ISO 8601 time such as 2026-03-16T00:00Z, got {text!r}", field="--as-of"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Training data (or, with --model-uri, "
            "labeled reference data to profile the model on).",
        ),
    ] = None,
    model_uri: Annotated[
        str | None,
        typer.Option(
            "--model-uri",
            help="Import an MLflow model instead of training one (runs:/…, models:/…, a folder).",
        ),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept as a tag).")] = "initial model",
    force: Annotated[
        bool, typer.Option("--force", help="Register a new champion even if one exists.")
    ] = False,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Bootstrap a deployment: train (or import) the first model, profile it, alias champion."""
    try:
        from driftpilot.engine.backend import Engine
        from driftpilot.retrain.pipeline import register as run_register

        space = open_workspace(workspace, config)
        frame = None
        if data is not None:
            engine = Engine.create(space.config.engine)
            frame = engine.execute(engine.table(str(data))).to_pandas()
        result = run_register(
            space,
            frame,
            model_uri=model_uri,
            reason=reason,
            force=force,
            data_path=str(data.resolve()) if data else None,
        )
    except DriftpilotError as exc:
        _fail(exc)
    _print_result(result, output_format)
    if result.alias is None:
        raise typer.Exit(1)


def retrain(
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept as a tag).")] = None,
    decision: Annotated[
        str | None,
        typer.Option("--decision", help="Retrain for a policy decision (once per decision)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Try again after retrain.max_attempts failures.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Train as of this time (ISO 8601; default: now)."),
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Train a candidate on the latest labeled window; gate it against the champion.

    Exit 0 when the candidate passed the gate (alias challenger) or was trained before for
    the same decision, 1 when it failed the gate (registered without alias), 3 on an error.
    """
    try:
        from driftpilot.policy.store import find_decision
        from driftpilot.retrain.pipeline import retrain as run_retrain

        space = open_workspace(workspace, config)
        decision_id = find_decision(space, decision)["id"] if decision else None
        now = _instant(as_of) if as_of else None
        result = run_retrain(space, decision=decision_id, reason=reason, force=force, now=now)
    except DriftpilotError as exc:
        _fail(exc)
    _print_result(result, output_format)
    passed = result.version.tag("gate") == "passed" if result.existing else result.alias
    if not passed:
        raise typer.Exit(1)


@models_app.callback()
def models(
    ctx: typer.Context,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """List the model versions, their aliases, gate verdicts and lineage."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        from driftpilot.registry.client import Registry

        registry = Registry(open_workspace(workspace, config))
        versions = registry.versions()
        aliases = registry.aliases()
    except DriftpilotError as exc:
        _fail(exc)
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    if output_format is OutputFormat.json:
        rows = [
            {
                "version": v.version,
                "aliases": by_version.get(v.version, []),
                "run_id": v.run_id,
                "tags": v.tags,
                "description": v.description,
            }
            for v in versions
        ]
        sys.stdout.write(
            json.dumps({"model": registry.name, "uri": registry.uri, "versions": rows}) + "\n"
        )
        return
    from rich.table import Table

    from driftpilot.drift.render import make_console

    table = Table(title=f"{registry.name} at {registry.uri}", header_style="bold")
    for column in ("version", "aliases", "gate", "decision", "parent", "rows", "window end"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            v.version,
            ", ".join(by_version.get(v.version, [])),
            v.tag("gate") or "",
            v.tag("decision") or "",
            v.tag("parent") or "",
            v.tag("rows") or "",
            (v.tag("window_end") or "")[:19],
        )
    make_console().print(table)


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Make VERSION the champion (the old one becomes previous) and use its reference."""
    try:
        from driftpilot.retrain.pipeline import promote_version

        old = promote_version(open_workspace(workspace, config), version)
    except DriftpilotError as exc:
        _fail(exc)
    typer.echo(f"champion: version {version}" + (f" (previous: version {old})" if old else ""))


def metrics(
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Model version (default: champion).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--metric", "-m", help="Only metrics matching this glob.")
    ] = None,
    last: Annotated[int, typer.Option("--last", help="Windows shown in the table.", min=1)] = 6,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """The monitoring metrics logged to MLflow for a model version, window by window."""
    import fnmatch

    try:
        from driftpilot.registry.client import Registry
        from driftpilot.registry.monitoring import read_metrics

        registry = Registry(open_workspace(workspace, config))
        chosen = version or registry.alias("champion")
        if chosen is None:
            from driftpilot.errors import ConfigError

            raise ConfigError(
                "the deployment has no champion",
                field="--version",
                hint="name a version with --version, or register a model",
            )
        registry.version(chosen)  # an unknown version is an error, not an empty list
        found = read_metrics(registry, chosen)
    except DriftpilotError as exc:
        _fail(exc)
    if name:
        found = {k: v for k, v in found.items() if fnmatch.fnmatch(k, name)}
    if output_format is OutputFormat.json:
        body = {k: [p.__dict__ for p in points] for k, points in found.items()}
        sys.stdout.write(json.dumps({"version": chosen, "metrics": body}) + "\n")
        return
    from rich.table import Table

    from driftpilot.drift.render import make_console

    steps = sorted({p.step for points in found.values() for p in points})[-last:]
    table = Table(
        title=f"{registry.name} version {chosen}: monitoring metrics by window", header_style="bold"
    )
    table.add_column("metric")
    for step in steps:
        table.add_column(f"w{step}", justify="right")
    for key, points in found.items():
        values = {p.step: p.value for p in points}
        table.add_row(key, *(f"{values[s]:.4g}" if s in values else "" for s in steps))
    console = make_console()
    console.print(table if found else f"no monitoring metrics for version {chosen} yet")


def register_commands(app: typer.Typer) -> None:
    app.command("register")(register)
    app.command()(retrain)
    app.command()(metrics)
    app.add_typer(models_app, name="models")
