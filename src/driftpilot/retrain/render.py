"""Tables of a retrain's result for people: champion against candidate on the holdout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from driftpilot.retrain.config import LOWER_IS_BETTER

if TYPE_CHECKING:
    from driftpilot.retrain.pipeline import RetrainResult

__all__ = ["comparison_table"]


def comparison_table(result: RetrainResult) -> Any:
    """Champion against candidate on the holdout, overall and per segment."""
    from rich.table import Table

    gate = result.gate
    table = Table(title=f"holdout ({gate.rows:,} rows)" if gate else "holdout", header_style="bold")
    for column in (
        "metric",
        f"champion v{result.champion}",
        f"candidate v{result.version.version}",
        "better by",
    ):
        table.add_column(column, justify="left" if column == "metric" else "right")
    if gate is None:
        return table
    for name, value in gate.candidate.items():
        before = (gate.champion or {}).get(name)
        sign = -1 if name in LOWER_IS_BETTER else 1  # positive is better, as for segments
        change = "" if before is None or value is None else f"{sign * (value - before):+.4f}"
        table.add_row(name, _num(before), _num(value), change)
    for check in gate.segments:
        flag = "" if check.ok else " ✘"
        change = "" if check.change is None else f"{check.change:+.4f}{flag}"
        table.add_row(
            f"{gate.metric} {check.column}={check.value}",
            _num(check.champion),
            _num(check.candidate),
            change,
        )
    return table


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
