"""Policy commands: check (CI and cron), explain, run (the embedded scheduler)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from driftpilot.cli import (
    ERROR_EXIT,
    ConfigOption,
    FormatOption,
    OutputFormat,
    WorkspaceOption,
    _fail,
    open_workspace,
)

if TYPE_CHECKING:
    from driftpilot.policy.cycle import CycleResult

__all__ = ["register"]

STYLE = {
    "firing": "red",
    "cooldown": "yellow",
    "pending": "yellow",
    "ok": "green",
    "too_small": "dim",
}


def check(
    output_format: FormatOption = OutputFormat.table,
    notify: Annotated[
        bool, typer.Option("--notify/--no-notify", help="Send incident messages to the sinks.")
    ] = True,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Monitor the due windows, decide, notify; exit 0 (ok), 1 (warn) or 2 (alert).

    The exit code is the worst severity of the rules active on the latest closed window;
    3 means driftpilot itself failed (bad configuration or data). Safe to run from cron,
    CI or an orchestrator as often as you like: every step is idempotent.
    """
    from driftpilot.errors import DriftpilotError

    try:
        from driftpilot.policy.cycle import run_cycle

        result = run_cycle(open_workspace(workspace, config), send=notify)
    except DriftpilotError as exc:
        _fail(exc)
    except Exception as exc:  # exit 1 and 2 mean warn and alert: a crash must not look like one
        _fail(RuntimeError(f"the policy cycle failed: {type(exc).__name__}: {exc}"))
    if output_format is OutputFormat.json:
        latest = [d.to_dict() for d in result.outcome.latest()]
        body = {
            "level": result.outcome.level,
            "window": result.outcome.latest_key,
            "decisions": latest,
            "sent": [{"alert": s.alert.to_dict(), "ok": s.ok} for s in result.sent],
            "retrains": [
                {"version": r.version.version, "alias": r.alias, "gate": r.gate and r.gate.passed}
                for r in result.retrains
            ],
            "errors": result.errors,
        }
        sys.stdout.write(json.dumps(body, default=str) + "\n")
    else:
        _print_check(result)
    raise typer.Exit(result.outcome.exit_code)


def _print_check(result: CycleResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    from driftpilot.drift.render import make_console

    console = make_console()
    outcome = result.outcome
    monitored = result.monitor
    console.print(
        f"monitor: {len(monitored.computed)} windows computed, {monitored.unchanged} unchanged"
    )
    if not outcome.decisions:
        console.print("no closed window to judge yet")
        return
    table = Table(title=f"decisions on window {outcome.latest_key}")
    for column in ("id", "rule", "severity", "status", "action", "evidence"):
        table.add_column(column)
    for d in outcome.latest():
        colour = STYLE.get(d.status, "")
        action = (d.action + " (taken)") if d.acted else d.action
        table.add_row(
            d.id, d.rule, d.severity, f"[{colour}]{d.status}[/]", action, escape(d.summary)
        )
    console.print(table)
    for sent in result.sent:
        state = "sent" if sent.ok else "NOT sent"
        failed = [f"{x.sink}: {x.error}" for x in sent.deliveries if not x.ok]
        line = f"{state}: {sent.alert.title()}" + (f" ({'; '.join(failed)})" if failed else "")
        console.print(escape(line))
    for done in result.retrains:
        console.print(escape(f"retrained: {done.summary()}"))
    for error in result.errors:
        console.print(f"[yellow]{escape(error)}[/]")
    console.print(f"level: {outcome.level} (exit {outcome.exit_code})")


def explain(
    decision_id: Annotated[str, typer.Argument(help="A decision id from `driftpilot check`.")],
    output_format: FormatOption = OutputFormat.table,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Print why a decision was taken: the rule, each trigger's value and threshold."""
    from driftpilot.errors import DriftpilotError

    try:
        from driftpilot.policy.store import find_decision

        decision = find_decision(open_workspace(workspace, config), decision_id)
    except DriftpilotError as exc:
        _fail(exc)
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(decision, indent=2) + "\n")
        return
    typer.echo(render_explanation(decision))


def render_explanation(d: dict[str, Any]) -> str:
    lines = [
        f"decision {d['id']}: rule {d['rule']} on window {d['window_key']}",
        f"  condition:   {d['when']}",
        f"  status:      {d['status']} ({'held' if d['held'] else 'did not hold'} on this window; "
        f"{d['persistence']})",
        f"  severity:    {d['severity']}; action: {d['action']}"
        + (" — taken at this window" if d["acted"] else ""),
    ]
    if d.get("incident"):
        lines.append(f"  incident:    {d['incident']}")
    if d.get("resolved"):
        lines.append(f"  resolved:    {d['resolved']}")
    lines.append(f"  decided at:  {d.get('decided_at')}")
    lines.append("  evidence:")
    for e in d["evidence"]:
        mark = "✔" if e["met"] else "✘"
        value = "no value" if e.get("value") is None else f"{e['value']:.6g}"
        against = f" (threshold {e['threshold']:.6g})" if e.get("threshold") is not None else ""
        where = f" [{e['where']}]" if e.get("where") else ""
        note = f" — {e['note']}" if e.get("note") else ""
        lines.append(f"    {mark} {e['text']}{where}: {value}{against}{note}")
    return "\n".join(lines)


def run(
    cycles: Annotated[
        int | None,
        typer.Option("--cycles", help="Stop after N cycles (default: run until stopped).", min=1),
    ] = None,
    workspace: WorkspaceOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the policy on a schedule: on each window close and every schedule.interval.

    A failing cycle is logged and retried with backoff; SIGINT or SIGTERM stop the scheduler
    after the cycle in progress.
    """
    import logging

    from driftpilot.errors import DriftpilotError

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        from driftpilot.policy.cycle import run_schedule

        space = open_workspace(workspace, config)
        space.reference()  # fail now, not in every cycle, when there is no reference
        good = run_schedule(space, cycles=cycles)
    except DriftpilotError as exc:
        _fail(exc)
    if cycles is not None and good == 0:
        raise typer.Exit(ERROR_EXIT)


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(explain)
    app.command()(run)
