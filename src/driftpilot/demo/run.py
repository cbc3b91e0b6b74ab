"""The end-to-end demo at this stage: the churn story's data, a reference profile from the
training month, and drift reports for the weeks that follow.

Each step is a plain API call a user would make: write the weeks as parquet files, profile the
training month once, then compare later weeks with the saved profile (the reference data is not
read again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from driftpilot.config import DriftpilotConfig, load_config
from driftpilot.demo.churn import ChurnScenario, story
from driftpilot.drift import drift_report
from driftpilot.drift.render import make_console, render_table
from driftpilot.drift.report import DriftReport
from driftpilot.engine.backend import Engine
from driftpilot.profile.build import build_profile

__all__ = ["CONFIG_TEXT", "STEPS", "DemoStep", "run_demo"]

CONFIG_TEXT = """\
# driftpilot.yaml for the churn demo
columns:
  id: [customer_id]
  timestamp: timestamp
  target: churn
drift:
  default: {method: psi, threshold: 0.2}
"""


@dataclass(frozen=True)
class DemoStep:
    title: str
    weeks: tuple[int, ...]
    expect: str


STEPS = (
    DemoStep("weeks 4–5: control weeks, nothing changed", (4, 5), "no drift"),
    DemoStep(
        "weeks 6–7: customers use more data (monthly_usage +1 std)", (6, 7), "monthly_usage drifts"
    ),
    DemoStep(
        "weeks 8–9: churn behaviour changes in the south",
        (8, 9),
        "the features do not move: only performance monitoring can see this",
    ),
    DemoStep(
        "week 11: payment_delay arrives broken (30% missing)",
        (11,),
        "a data-quality issue on payment_delay",
    ),
)


def run_demo(
    directory: Path, *, rows_per_week: int = 20_000, seed: int = 7, console: Console | None = None
) -> list[tuple[DemoStep, DriftReport]]:
    """Generate the story, profile the training month and print a report per step."""
    console = console or make_console()
    directory.mkdir(parents=True, exist_ok=True)
    weeks_dir = directory / "weeks"
    weeks_dir.mkdir(exist_ok=True)
    config_path = directory / "driftpilot.yaml"
    config_path.write_text(CONFIG_TEXT, encoding="utf-8")
    config: DriftpilotConfig = load_config(config_path)
    scenario = ChurnScenario(seed=seed, rows_per_week=rows_per_week)
    paths = []
    with console.status("generating 12 weeks of churn traffic"):
        for index, spec in enumerate(story()):
            path = weeks_dir / f"week-{index:02d}.parquet"
            scenario.week(index, spec).to_parquet(path, index=False)
            paths.append(str(path))
    console.print(f"wrote 12 weeks × {rows_per_week:,} rows to {weeks_dir}/")
    engine = Engine.create(config.engine)
    profile = build_profile(paths[:4], config, engine=engine)
    profile_path = profile.save(directory / "reference-profile.json")
    console.print(
        f"profiled the training month (weeks 0–3, {profile.rows:,} rows, "
        f"{len(profile.features)} features) → {profile_path}\n"
    )
    results = []
    for step in STEPS:
        report = drift_report(
            [paths[i] for i in step.weeks], profile=profile, config=config, engine=engine
        )
        render_table(report, title=f"{step.title} (expected: {step.expect})", console=console)
        console.print()
        results.append((step, report))
    console.print(_summary(results))
    console.print(
        f"\nTry it yourself:\n  driftpilot drift --profile {profile_path} "
        f"--current '{weeks_dir}/week-0[67].parquet' --config {config_path}\n"
        f"  driftpilot drift --profile {profile_path} --current {paths[11]} --format json"
    )
    return results


def _summary(results: list[tuple[DemoStep, DriftReport]]) -> Table:
    table = Table(title="summary", header_style="bold")
    for column in ("weeks", "drifted features", "quality issues", "dataset drift"):
        table.add_column(column)
    for step, report in results:
        d = report.dataset
        table.add_row(
            ", ".join(str(w) for w in step.weeks),
            ", ".join(d.drifted_features) or "—",
            ", ".join(d.quality_issues) or "—",
            "yes" if d.drift else "no",
        )
    return table
