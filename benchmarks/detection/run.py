"""Detection quality: windows until detection and false alarms, per scenario and method.

Scenarios come from the churn generator: a reference of four stationary weeks, then
stationary windows (false alarms are counted there) and the changed windows. Each scenario
runs with several seeds; a run "caught" the change when a changed window within one window
of its start was flagged (delay 0: the first changed window, 1: the second).
The model is the stationary churn rule itself, so a covariate shift does not hurt it while a
concept drift in one region does.

Methods, on the same windows:

- driftpilot's default policy (``decide`` with no rules written): a window is flagged when any
  rule is active (warn or alert); the rules that fired are listed;
- Evidently 0.7.23 ``DataDriftPreset`` with its defaults, in its own environment: a window is
  flagged when Evidently reports dataset drift (half of the columns drifted) — and, as a
  second line, when any column drifted;
- a plain per-feature two-sample KS test (scipy) on every numeric feature, flagged when any
  p-value is below 0.05.

    uv run python benchmarks/detection/run.py [--quick] [--skip-evidently] [--seeds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from scipy.stats import ks_2samp

from driftpilot.demo import ChurnScenario, SegmentConcept, WeekSpec, gradual, stationary
from driftpilot.demo._spec import FEATURES
from driftpilot.log.writer import log_labels, log_predictions
from driftpilot.monitor.job import run_monitor
from driftpilot.monitor.report import history
from driftpilot.policy.decide import decide
from driftpilot.profile.build import build_profile
from driftpilot.workspace import Workspace, init_workspace

HERE = Path(__file__).resolve().parent


def evidently_python() -> Path:
    """The drift benchmark's Evidently environment (installed there on first use)."""
    spec = importlib.util.spec_from_file_location(
        "drift_benchmark", HERE.parent / "drift" / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.evidently_python()


CONFIG = """
columns: {id: [customer_id], timestamp: timestamp, target: churn, prediction: score}
model: {name: churn, task: binary, threshold: 0.5}
monitor: {window: week, segments: [region]}
"""
NUMERIC = [name for name, kind in FEATURES.items() if kind == "numeric"]
REFERENCE_WEEKS = 4


@dataclass
class Scenario:
    name: str
    rows: int
    specs: list[WeekSpec]  # the monitored windows (after the reference weeks)
    start: int | None  # index of the first changed window (None: a control)
    note: str = ""
    flags: dict[str, list[list[bool]]] = field(default_factory=dict)  # per method, per seed
    fired: set[str] = field(default_factory=set)  # driftpilot rules behind its detections

    def add(self, method: str, flags: list[bool]) -> None:
        self.flags.setdefault(method, []).append(flags)


def scenarios(quick: bool) -> list[Scenario]:
    before = stationary(3)
    usage = "monthly_usage"
    sizes = [1000, 10_000, 100_000] + ([] if quick else [1_000_000])
    out = [
        Scenario(
            f"stationary control, {n:,} rows/window", n, stationary(6 if n < 10**6 else 3), None
        )
        for n in sizes
    ]
    for size in (0.1, 0.25, 0.5, 1.0):
        spec = WeekSpec(covariate_shift={usage: size})
        out.append(
            Scenario(f"covariate shift {usage} +{size} std", 10_000, [*before, spec, spec, spec], 3)
        )
    out.append(
        Scenario(
            f"gradual drift {usage} to +1 std in 5 windows",
            10_000,
            [*before, *gradual(usage, 1.0, 5)],
            3,
        )
    )
    south = WeekSpec(concept=SegmentConcept(column="region", value="south", strength=1.0))
    out.append(
        Scenario(
            "concept drift in region south (accuracy holds)",
            10_000,
            [*before, south, south, south],
            3,
        )
    )
    label = WeekSpec(churn_rate=0.35)
    out.append(
        Scenario("label shift: churn 20 % to 35 %", 10_000, [*before, label, label, label], 3)
    )
    broken = WeekSpec(broken={"payment_delay": "nulls"})
    out.append(
        Scenario(
            "broken feature: 30 % of payment_delay missing",
            10_000,
            [*before, broken, broken, broken],
            3,
        )
    )
    return out


def frames(s: Scenario, seed: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    gen = ChurnScenario(seed=seed, rows_per_week=s.rows)
    reference_rows = min(s.rows, 250_000)
    reference = pd.concat(
        [gen.week(i, WeekSpec(), rows=reference_rows) for i in range(REFERENCE_WEEKS)],
        ignore_index=True,
    )
    reference["score"] = gen.churn_probability(reference)
    windows = []
    for k, spec in enumerate(s.specs):
        week = gen.week(REFERENCE_WEEKS + k, spec)
        week["score"] = gen.churn_probability(week)  # the model: the stationary rule
        week["prediction_id"] = [f"w{k}-{i}" for i in range(len(week))]
        windows.append(week)
    return reference, windows


def driftpilot_flags(
    s: Scenario, reference: pd.DataFrame, windows: list[pd.DataFrame], root: Path
) -> None:
    init_workspace(root)
    (root / "driftpilot.yaml").write_text(CONFIG)
    space = Workspace.open(root)
    build_profile(reference, space.config).save(space.reference_path)
    for week in windows:
        log_predictions(
            week.drop(columns=["churn"]).rename(columns={"customer_id": "entity_id"}),
            workspace=space,
        )
        log_labels(
            pd.DataFrame({"prediction_id": week["prediction_id"], "label": week["churn"]}),
            workspace=space,
        )
    run_monitor(space)
    outcome = decide(history(space), space.config, datetime.now(UTC), profile=space.reference())
    by_window: dict[str, list[str]] = {}
    for d in outcome.decisions:
        by_window.setdefault(d.window_key, [])
        if d.active:
            by_window[d.window_key].append(d.rule)
    keys = sorted(by_window)
    # the rules behind the detection: those active on the first flagged changed window
    # (on a control, on any window)
    flagged = [k for i, k in enumerate(keys) if (s.start is None or i >= s.start) and by_window[k]]
    if flagged:
        s.fired.update(by_window[flagged[0]] if s.start is not None else
                       [r for k in flagged for r in by_window[k]])  # fmt: skip
    s.add("driftpilot", [bool(by_window[k]) for k in keys])


def ks_flags(s: Scenario, reference: pd.DataFrame, windows: list[pd.DataFrame]) -> None:
    flags = []
    for week in windows:
        p = [
            ks_2samp(
                reference[f].dropna().to_numpy(float),
                pd.to_numeric(week[f], errors="coerce").dropna().to_numpy(float),
            ).pvalue
            for f in NUMERIC
        ]
        flags.append(min(p) < 0.05)
    s.add("ks", flags)


EVIDENTLY_JOB = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_parquet(sys.argv[1])
out = []
for path in sys.argv[2:]:
    snapshot = Report([DataDriftPreset()]).run(pd.read_parquet(path), reference).dict()
    share = any_drift = None
    for m in snapshot["metrics"]:
        name = m["metric_name"]
        if name.startswith("DriftedColumnsCount"):
            share = m["value"]["share"]
            threshold = m["config"].get("drift_share", 0.5)
    out.append({"dataset": share >= threshold, "any": share > 0, "share": share})
print(json.dumps(out))
"""


def evidently_flags(
    s: Scenario, reference: pd.DataFrame, windows: list[pd.DataFrame], root: Path, python: str
) -> None:
    columns = list(FEATURES)
    ref_path = root / "reference.parquet"
    reference[columns].to_parquet(ref_path)
    paths = []
    for k, week in enumerate(windows):
        path = root / f"window{k}.parquet"
        week[columns].to_parquet(path)
        paths.append(str(path))
    job = root / "evidently_job.py"
    job.write_text(EVIDENTLY_JOB)
    done = subprocess.run(
        [python, str(job), str(ref_path), *paths], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    found = json.loads(done.stdout.strip().splitlines()[-1])
    s.add("evidently", [w["dataset"] for w in found])
    s.add("evidently_any", [w["any"] for w in found])


def verdict(runs: list[list[bool]], start: int | None) -> str:
    """False alarms over every stationary window; detections per run with their delay."""
    if start is None:
        alarms, windows = sum(sum(f) for f in runs), sum(len(f) for f in runs)
        return f"{alarms} false alarm{'s' if alarms != 1 else ''} in {windows} windows"
    false = sum(sum(f[:start]) for f in runs)
    delays = [next((i for i, hit in enumerate(f[start:]) if hit), None) for f in runs]
    caught = [d for d in delays if d is not None and d <= 1]
    text = f"caught {len(caught)}/{len(runs)}"
    if caught:
        low, high = min(caught), max(caught)
        text += f" (delay {low})" if low == high else f" (delay {low}–{high})"
    return f"{text}, {false} false in {start * len(runs)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000-row control")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--seeds", type=int, default=5, help="runs per scenario (1 at 1M rows)")
    args = parser.parse_args()
    python = None if args.skip_evidently else str(evidently_python())
    methods = ["driftpilot", "ks"] + ([] if args.skip_evidently else ["evidently", "evidently_any"])
    found = []
    for s in scenarios(args.quick):
        started = time.perf_counter()
        for seed in range(11, 11 + (args.seeds if s.rows < 10**6 else 1)):
            reference, windows = frames(s, seed)
            root = Path(tempfile.mkdtemp(prefix="detection-"))
            try:
                driftpilot_flags(s, reference, windows, root / "workspace")
                ks_flags(s, reference, windows)
                if python:
                    evidently_flags(s, reference, windows, root, python)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        found.append(s)
        print(
            f"{s.name}: "
            + "; ".join(f"{m} {verdict(s.flags[m], s.start)}" for m in methods)
            + f"; driftpilot rules: {', '.join(sorted(s.fired)) or 'none'}"
            + f" ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    titles = {
        "driftpilot": "driftpilot default policy",
        "ks": "KS p < 0.05, any numeric feature",
        "evidently": "Evidently DataDriftPreset (dataset drift)",
        "evidently_any": "Evidently (any column drifted)",
    }
    print(
        "\n| scenario | "
        + " | ".join(titles[m] for m in methods)
        + " | driftpilot rules at detection |"
    )
    print("| --- | " + " | ".join("---" for _ in methods) + " | --- |")
    for s in found:
        cells = " | ".join(verdict(s.flags[m], s.start) for m in methods)
        print(f"| {s.name} | {cells} | {', '.join(sorted(s.fired)) or '—'} |")


if __name__ == "__main__":
    main()
