"""Commands over a workspace: init, ingest, log compact, serve, monitor."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from driftpilot.cli import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    _fail,
    open_workspace,
)

__all__ = ["register"]


class Kind(StrEnum):
    predictions = "predictions"
    labels = "labels"


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def init(
    directory: Annotated[Path, typer.Argument(help="The workspace folder.")] = Path("."),
    features: Annotated[
        bool,
        typer.Option(
            "--features", help="Also write the churn demo's Feast repository (features/)."
        ),
    ] = False,
) -> None:
    """Create a workspace: a folder with driftpilot.yaml, where the log and reports live."""
    from driftpilot.errors import DriftpilotError
    from driftpilot.workspace import init_workspace

    try:
        space = init_workspace(directory, features=features)
    except DriftpilotError as exc:
        _fail(exc)
    typer.echo(
        f"workspace ready at {space.root}\n"
        f"  1. edit {space.config_path}\n"
        f"  2. driftpilot profile REFERENCE_DATA -w {directory}\n"
        f"  3. log predictions: driftpilot ingest predictions FILE -w {directory}, "
        f"or driftpilot serve -w {directory}"
        + (
            f"\n  features: write rows to {space.root / 'features' / 'data'}/<view>/, then "
            f"driftpilot features apply -w {directory} and driftpilot features materialize"
            if features
            else ""
        )
    )


def ingest(
    kind: Annotated[Kind, typer.Argument(help="predictions or labels")],
    files: Annotated[list[Path], typer.Argument(help="Parquet, CSV or JSON-lines files.")],
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate and append predictions or labels to the workspace's event log."""
    from driftpilot.errors import DriftpilotError
    from driftpilot.log.files import read_batches
    from driftpilot.log.writer import EventLog

    total = 0
    try:
        space = open_workspace(workspace, config)
        log = EventLog(space) if kind is Kind.predictions else EventLog(space, features={})
        for path in files:
            for batch in read_batches(path, log.features):
                if kind is Kind.predictions:
                    total += log.append_predictions(log.prediction_table(batch))
                else:
                    total += log.append_labels(log.label_table(batch))
    except DriftpilotError as exc:
        if total:
            typer.secho(
                f"{total:,} {kind.value} were written before the error; re-running is "
                "safe (ids are not counted twice)",
                fg=typer.colors.YELLOW,
                err=True,
            )
        _fail(exc)
    typer.echo(f"logged {total:,} {kind.value}")


def compact(
    retention_hours: Annotated[
        int | None,
        typer.Option(
            "--retention-hours", help="Vacuum files older than this (default: log.vacuum_hours)."
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Compact the log's tables into large files and vacuum the files they replaced."""
    from driftpilot.errors import DriftpilotError
    from driftpilot.log.maintenance import compact as run

    try:
        done = run(open_workspace(workspace, config), retention_hours=retention_hours)
    except DriftpilotError as exc:
        _fail(exc)
    for name, facts in done.items():
        typer.echo(
            f"{name}: {facts['files_removed']} files compacted into {facts['files_added']}, "
            f"{facts['files_vacuumed']} vacuumed, {facts['size_bytes']:,} bytes, "
            f"version {facts['version']}"
        )
    if not done:
        typer.echo("nothing logged yet")


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address (default 127.0.0.1).")] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Port (default 8000; 0: any free port)."),
    ] = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the models and the HTTP API: POST /v1/predict (champion, or the challenger for
    its canary share), POST /v1/predictions and /v1/labels, /healthz, /readyz, /metrics, /docs."""
    from driftpilot.errors import DriftpilotError

    try:
        import uvicorn

        from driftpilot.serve.app import create_app

        space = open_workspace(workspace, config)
        app = create_app(space, freeze=True)
    except DriftpilotError as exc:
        _fail(exc)
    settings = space.config.serve
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_level="info",  # the startup lines say where it listens; requests are not logged
        access_log=False,
    )


def monitor(
    engine: Annotated[
        EngineName | None,
        typer.Option("--engine", help="duckdb or spark (default: engine.backend)."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Recompute every window.")] = False,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Compute the report of every window with new predictions or labels, and store it."""
    from driftpilot.errors import DriftpilotError

    try:
        from driftpilot.engine.backend import Engine
        from driftpilot.monitor.job import run_monitor

        space = open_workspace(workspace, config)
        settings = space.config.engine
        if engine is not None:
            backend = "pyspark" if engine is EngineName.spark else "duckdb"
            settings = settings.model_copy(update={"backend": backend})
        result = run_monitor(space, engine=Engine.create(settings), everything=everything)
    except DriftpilotError as exc:
        _fail(exc)
    if output_format is OutputFormat.json:
        sys.stdout.write("[" + ",".join(r.model_dump_json() for r in result.computed) + "]\n")
        return
    from driftpilot.drift.render import make_console
    from driftpilot.monitor.render import history_table

    console = make_console()
    if result.computed:
        console.print(history_table(result.computed))
    console.print(
        f"{len(result.computed)} windows computed, {result.unchanged} unchanged; "
        f"{result.unmatched_labels} labels wait for their predictions"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(ingest)
    app.command()(serve)
    app.command()(monitor)
    log_app = typer.Typer(
        help="Maintain the event log.", no_args_is_help=True, rich_markup_mode=None
    )
    log_app.command("compact")(compact)
    app.add_typer(log_app, name="log")
