"""``driftpilot canary status|step|promote|rollback``: the canary controller by hand."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
    from driftpilot.canary.controller import Step

__all__ = ["register_commands"]

canary_app = typer.Typer(
    help="Canary rollout of the challenger: status, step, promote, rollback.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Recorded with the step.")]


def _step_json(done: Step | None) -> dict[str, Any] | None:
    if done is None:
        return None
    return {
        "action": done.action,
        "reason": done.reason,
        "state": json.loads(done.state.to_json()),
        "analysis": done.analysis.to_dict() if done.analysis else None,
    }


def _print_step(done: Step | None, output_format: OutputFormat) -> None:
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(_step_json(done), default=str) + "\n")
        return
    from driftpilot.drift.render import make_console

    console = make_console()
    if done is None:
        console.print("no challenger: nothing to do (a canary starts when one passes the gate)")
        return
    console.print(done.summary())
    if done.analysis is not None:
        console.print(_checks(done))


def _checks(done: Step) -> Any:
    from rich.table import Table

    table = Table(title=f"analysis at stage {done.state.stage_name}", header_style="bold")
    for column in ("check", "status", "detail"):
        table.add_column(column)
    colours = {"pass": "green", "fail": "red", "wait": "yellow", "skip": "dim"}
    for check in done.analysis.checks if done.analysis else []:
        table.add_row(check.name, f"[{colours[check.status]}]{check.status}[/]", check.detail)
    return table


@canary_app.command()
def status(
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """The canary in progress (stage, weights, a fresh analysis) and the steps taken so far."""
    from datetime import UTC, datetime

    try:
        from driftpilot.canary.controller import history, preview
        from driftpilot.canary.state import CanaryState
        from driftpilot.registry.client import Registry

        space = open_workspace(workspace, config)
        aliases, tags = Registry(space).model_state()
        state = CanaryState.from_tags(tags)
        done = preview(space, state, datetime.now(UTC)) if state is not None else None
        steps = history(space)
    except DriftpilotError as exc:
        _fail(exc)
    if output_format is OutputFormat.json:
        body = {"aliases": aliases, "next": _step_json(done), "steps": steps}
        sys.stdout.write(json.dumps(body, default=str) + "\n")
        return
    from driftpilot.drift.render import make_console

    console = make_console()
    console.print(f"aliases: {', '.join(f'{a} → v{v}' for a, v in sorted(aliases.items()))}")
    if state is None:
        console.print("no canary in progress")
    else:
        console.print(
            f"canary {state.id}: version {state.version} against champion {state.champion}, "
            f"{state.status} at stage {state.stage_name} (weight {state.weight:.0%}, shadow "
            f"{state.shadow:.0%}) since {state.stage_started:%Y-%m-%d %H:%M:%S}"
        )
        if done is not None:
            console.print(f"next: {done.action}: {done.reason}")
            if done.analysis is not None:
                console.print(_checks(done))
    for row in steps[-10:]:
        console.print(
            f"  {row['at']:%Y-%m-%d %H:%M:%S}  {row['action']:<8} v{row['version']}  "
            f"{row['stage']} → {row['stage_to'] or '-'}  {row['reason'][:120]}"
        )


@canary_app.command()
def step(
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Take the controller's step now: start a canary for a new challenger, approve one that
    waits, or analyse the running one and advance, promote or roll back."""
    try:
        from driftpilot.canary.controller import step as take_step

        done = take_step(open_workspace(workspace, config), approve=True)
    except DriftpilotError as exc:
        _fail(exc)
    _print_step(done, output_format)


def _finish(
    action: Literal["promote", "rollback"],
    reason: str | None,
    output_format: OutputFormat,
    **where: Any,
) -> None:
    try:
        from driftpilot.canary.controller import finish

        done = finish(open_workspace(**where), action, reason=reason)
    except DriftpilotError as exc:
        _fail(exc)
    _print_step(done, output_format)


@canary_app.command()
def promote(
    reason: ReasonOption = None,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Promote the canary's challenger to champion now, skipping the remaining stages."""
    _finish("promote", reason, output_format, workspace=workspace, config=config)


@canary_app.command()
def rollback(
    reason: ReasonOption = None,
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Take the canary's challenger out of traffic now (its challenger alias is removed)."""
    _finish("rollback", reason, output_format, workspace=workspace, config=config)


def register_commands(app: typer.Typer) -> None:
    app.add_typer(canary_app, name="canary")
