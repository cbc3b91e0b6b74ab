"""``driftpilot features apply|materialize|status|get|drift``: the workspace's Feast
repository."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from driftpilot.cli import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    _fail,
    open_workspace,
)
from driftpilot.errors import ConfigError, DriftpilotError

if TYPE_CHECKING:
    from driftpilot.features.check import FeatureCheck

__all__ = ["register_commands"]

features_app = typer.Typer(
    help="The feature store (Feast): apply definitions, materialize, check freshness and skew.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Judge at this ISO time instead of now (UTC when naive)."),
]


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--at: expected an ISO date or time such as 2026-03-01T12:00, got {text!r}",
            field="--at",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _failed(exc: Exception) -> NoReturn:
    """Exit with one line: driftpilot's error, or Feast's own (not a traceback)."""
    if isinstance(exc, DriftpilotError):
        _fail(exc)
    _fail(ConfigError(f"the feature store failed: {type(exc).__name__}: {exc}"))


@features_app.command()
def apply(workspace: WorkspaceOption = None, config: ConfigOption = None) -> None:
    """Register the repository's definitions (entities, feature views) in its registry."""
    try:
        from driftpilot.features.store import FeatureRepo

        repo = FeatureRepo(open_workspace(workspace, config))
        printed = repo.apply()
        views = repo.views()
    except Exception as exc:
        _failed(exc)
    typer.echo(printed.strip())
    for name, view in views.items():
        typer.echo(f"  {name} ({view.version}): {', '.join(view.features)}")


@features_app.command()
def materialize(
    at: AtOption = None,
    views: Annotated[
        list[str] | None, typer.Option("--view", help="Only this view (repeatable).")
    ] = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Load each view's values since its last materialization into the online store."""
    try:
        from driftpilot.features.store import FeatureRepo

        done = FeatureRepo(open_workspace(workspace, config)).materialize(_when(at), views)
    except Exception as exc:
        _failed(exc)
    if not done:
        typer.echo("nothing to materialize: every view is materialized up to then")
    for entry in done:
        typer.echo(f"{entry['view']}: {entry['start']} → {entry['end']}")


@features_app.command()
def status(
    at: AtOption = None,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Freshness and skew of every view now (exit 0 fresh, 2 when a view is not)."""
    try:
        from driftpilot.features.check import check_features

        check = check_features(open_workspace(workspace, config), _when(at))
    except Exception as exc:
        _failed(exc)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(check.to_dict(), default=str) + "\n")
    else:
        _print_check(check)
    raise typer.Exit(2 if check.stale else 0)


def _print_check(check: FeatureCheck) -> None:
    from driftpilot.drift.render import make_console
    from driftpilot.features.render import views_table

    console = make_console()
    console.print(views_table(check))
    for health in check.views.values():
        for reason in health.reasons:
            console.print(f"  {health.view}: {reason}")
    if check.skew:
        worst = sorted(check.skew.items(), key=lambda kv: -kv[1]["rate"])
        shown = ", ".join(f"{f} {s['rate']:.1%}" for f, s in worst[:5])
        console.print(f"skew (online vs offline, {worst[0][1]['compared']} entities): {shown}")


@features_app.command()
def get(
    ids: Annotated[list[str], typer.Argument(help="Entity ids.")],
    features: Annotated[
        list[str] | None, typer.Option("--feature", help="Only this feature (repeatable).")
    ] = None,
    at: AtOption = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Online values of entities with their event time, view version and freshness (the
    answer of GET /features, as JSON)."""
    try:
        from driftpilot.features.lookup import Lookup

        answer = Lookup(open_workspace(workspace, config)).get(ids, features, now=_when(at))
    except Exception as exc:
        _failed(exc)
    sys.stdout.write(json.dumps(answer, default=str) + "\n")


@features_app.command()
def drift(
    view: Annotated[str, typer.Argument(help="The feature view.")],
    window: Annotated[str, typer.Option("--window", help="hour, day, week or month.")] = "week",
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Drift of a view's features per window of its offline source, against the workspace's
    reference profile."""
    try:
        from driftpilot.features.drift import view_drift

        reports = view_drift(open_workspace(workspace, config), view, window=window)
    except Exception as exc:
        _failed(exc)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in reports], default=str) + "\n")
        return
    from rich.table import Table

    from driftpilot.drift.render import make_console

    table = Table(title=f"drift of {view} per {window} (offline source)", header_style="bold")
    for column in ("window", "rows", "drifted features", "largest score"):
        table.add_column(column)
    for report in reports:
        scored = [(f.score, n) for n, f in report.features.items() if f.score is not None]
        top = max(scored, default=None)
        table.add_row(
            f"{report.window:%Y-%m-%d}" if report.window else "—",
            f"{report.dataset.rows_current:,}",
            ", ".join(report.dataset.drifted_features) or "—",
            "—" if top is None else f"{top[1]} {top[0]:.3f}",
        )
    make_console().print(table)


def register_commands(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
