"""Commands that show a workspace: ``report`` (terminal, JSON or one HTML file) and ``ui``
(the live dashboard)."""

from __future__ import annotations

import sys
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

__all__ = ["register_commands"]

MlflowOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow-url",
        help="Where `mlflow ui` answers, for links to the runs (default: report.mlflow_url; "
        "'' for none).",
    ),
]


def _mlflow_url(given: str | None, configured: str | None) -> str | None:
    if given is None:
        return configured
    return given or None


def report(
    output_format: FormatOption = OutputFormat.table,
    last: Annotated[
        int | None, typer.Option("--last", help="Only the last N windows.", min=1)
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write the whole report to this HTML file instead: summary, drift, "
            "performance and its estimate, segments, models, feature freshness (one file, "
            "works offline).",
        ),
    ] = None,
    mlflow_url: MlflowOption = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Print the stored window reports, one row per window; or write the HTML report."""
    from driftpilot.errors import DriftpilotError

    try:
        space = open_workspace(workspace, config)
        if html is not None:
            from driftpilot.report.html import write_html
            from driftpilot.report.view import build_view

            url = _mlflow_url(mlflow_url, space.config.report.mlflow_url)
            view = build_view(space, mlflow_url=url, last=last)
            path = write_html(view, html)
            typer.echo(
                f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {view['meta']['windows']} "
                "windows); open it in a browser"
            )
            return
        from driftpilot.monitor.report import history

        reports = history(space)
    except DriftpilotError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(OSError(f"cannot write {exc.filename or html}: {exc.strerror}"))
    if last:
        reports = reports[-last:]
    if output_format is OutputFormat.json:
        sys.stdout.write("[" + ",".join(r.model_dump_json() for r in reports) + "]\n")
        return
    from driftpilot.drift.render import make_console
    from driftpilot.monitor.render import history_table

    make_console().print(
        history_table(reports) if reports else "no reports yet: run `driftpilot monitor`"
    )


def ui(
    host: Annotated[str, typer.Option("--host", help="Address.")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Port (default: report.port, 8050)."),
    ] = None,
    refresh: Annotated[
        str | None,
        typer.Option("--refresh", help="Seconds between updates, e.g. 10s (default 30s)."),
    ] = None,
    mlflow_url: MlflowOption = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """The live dashboard over the workspace at http://HOST:PORT/ui: the HTML report's views,
    updated as windows, decisions, canary steps and checks land."""
    from driftpilot.errors import ConfigError, DriftpilotError

    try:
        import uvicorn

        from driftpilot.policy.config import parse_duration
        from driftpilot.serve.ui import create_ui_app, dashboard_tokens

        space = open_workspace(workspace, config)
        settings = space.config.report
        try:
            every = parse_duration(refresh or settings.refresh).total_seconds()
        except ValueError as exc:
            raise ConfigError(f"--refresh: {exc}", hint="give a duration such as 10s") from exc
        if every <= 0:
            raise ConfigError(
                f"--refresh: expected a duration above zero, got {refresh!r}",
                hint="give a duration such as 10s",
            )
        app = create_ui_app(
            space,
            mlflow_url=_mlflow_url(mlflow_url, settings.mlflow_url),
            refresh=every,
            tokens=dashboard_tokens(space.config),
            windows=settings.dashboard_windows,
        )
    except DriftpilotError as exc:
        _fail(exc)
    chosen = settings.port if port is None else port
    typer.echo(f"dashboard of {space.root}: http://{host}:{chosen}/ui (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=chosen, log_level="warning", access_log=False)


def register_commands(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(ui)
