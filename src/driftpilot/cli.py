"""The ``driftpilot`` command: thin commands over the Python API.

Only typer is imported at start-up; every command imports what it needs when it runs, so
``driftpilot --help`` answers at once. Exit codes: 0 success (whether or not drift is found),
2 a usage error, 3 a driftpilot error (bad input, configuration or data), with the message on
standard error.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from driftpilot import __version__

app = typer.Typer(
    name="driftpilot",
    help="Keep machine-learning models healthy in production: drift, quality, performance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: rich's formatter costs a third of a second of imports on every --help
    rich_markup_mode=None,
)

ERROR_EXIT = 3


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="driftpilot.yaml to use (default: the workspace's, if present)."
    ),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="DRIFTPILOT_WORKSPACE",
        show_envvar=True,
        help="Workspace folder (default: the current folder).",
    ),
]


def open_workspace(workspace: Path | None, config: Path | None = None) -> Any:
    """The workspace (its driftpilot.yaml, or ``config`` when given)."""
    from driftpilot.workspace import Workspace

    return Workspace.open(workspace, config=config)


def _fail(exc: Exception) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(ERROR_EXIT)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"driftpilot {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """driftpilot: notice, decide, act on model degradation."""


@app.command()
def profile(
    data: Annotated[
        list[str], typer.Argument(help="Reference data: parquet or CSV files, folders or globs.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the profile (default: the workspace's reference.json).",
        ),
    ] = None,
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Profile reference data: schema, quantile grids, categories, calibrated thresholds.

    With columns.prediction and columns.target declared, the profile also holds the model's
    score and label distributions and its reference performance (for the monitor).
    """
    from driftpilot.errors import DriftpilotError

    try:
        from driftpilot.profile.build import build_profile

        space = open_workspace(workspace, config)
        output = output or space.reference_path
        result = build_profile(data if len(data) > 1 else data[0], space.config)
        result.save(output)
    except DriftpilotError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(OSError(f"cannot write {exc.filename or output}: {exc.strerror}"))
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"profiled {result.rows:,} rows, {len(result.features)} features → {output}")


@app.command()
def drift(
    current: Annotated[
        str, typer.Option("--current", help="Current data: parquet or CSV file, folder or glob.")
    ],
    reference: Annotated[
        str | None, typer.Option("--reference", help="Reference data (or use --profile).")
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            help="A saved reference profile; with --reference, a cache: "
            "read when it exists, else built from the reference and saved.",
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here.")
    ] = None,
    config: ConfigOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Compare current data with a reference: drift per feature and data quality.

    Exits 0 whether or not drift is found (use `driftpilot check` to gate on it).
    """
    from driftpilot.errors import ConfigError, DriftpilotError

    try:
        if reference is None and profile is None:
            raise ConfigError(
                "give the reference: --reference DATA, --profile PROFILE.json, or both",
                hint="a profile is faster: `driftpilot profile REF --output ref.json`",
            )
        from driftpilot.drift import drift_report

        settings = open_workspace(workspace, config).config
        saved = None
        if profile is not None and (reference is None or profile.exists()):
            saved = str(profile)
        elif profile is not None and reference is not None:
            from driftpilot.profile.build import build_profile

            build_profile(reference, settings).save(profile)
            saved = str(profile)
        report = drift_report(
            current, reference=None if saved else reference, profile=saved, config=settings
        )
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
        if output_format is OutputFormat.json:
            text = report.to_json() + "\n"
            if output:
                output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return
        from driftpilot.drift.render import render_table

        render_table(report, output)
    except DriftpilotError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(OSError(f"cannot write {exc.filename or output}: {exc.strerror}"))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the demo data.")] = Path(
        "demo-data"
    ),
    rows: Annotated[int, typer.Option("--rows", help="Rows per week.", min=100)] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Scenario seed.")] = 7,
) -> None:
    """The end-to-end demo: 12 weeks of churn traffic scored, logged, monitored, alerted on,
    retrained, rolled out by canary; ends with the story in numbers and the HTML report."""
    from driftpilot.errors import DriftpilotError

    try:
        from driftpilot.demo.run import run_demo

        run_demo(directory, rows_per_week=rows, seed=seed)
    except DriftpilotError as exc:
        _fail(exc)


def main() -> None:
    app()


# the workspace commands live in their own module; it imports the options defined above
from driftpilot import cli_log  # noqa: E402

cli_log.register(app)
from driftpilot import cli_policy  # noqa: E402

cli_policy.register(app)
from driftpilot import cli_model  # noqa: E402

cli_model.register_commands(app)
from driftpilot import cli_canary  # noqa: E402

cli_canary.register_commands(app)
from driftpilot import cli_features  # noqa: E402

cli_features.register_commands(app)
from driftpilot import cli_report  # noqa: E402

cli_report.register_commands(app)
