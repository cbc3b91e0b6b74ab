"""Drift benchmark: the whole job (profile the reference, count the current data, compute the
statistics) on a reference of 1,000,000 rows × 25 features (20 numeric, 5 categorical of 8
levels) against a current 1,000,000 rows, side by side in one run with Evidently's
DataDriftPreset (installed in its own environment: it needs pandas < 2.3) and with a bare DuckDB
scan of the same columns. Every measurement runs in a fresh process; figures are medians.

    uv run python benchmarks/drift/run.py [--rows 1000000] [--repeats 3] [--evidently-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "benchmarks" / ".data"
PEER = ROOT / "benchmarks" / ".peers" / "evidently"
EVIDENTLY = ["evidently==0.7.23", "pandas<2.3", "pyarrow"]
ROW_GROUP = 122_880  # DuckDB's own default; pyarrow would write one group per million rows


def make_data(rows: int) -> tuple[Path, Path]:
    """Write the reference and current parquet files (cached by size)."""
    DATA.mkdir(parents=True, exist_ok=True)
    paths = DATA / f"drift-ref-{rows}.parquet", DATA / f"drift-cur-{rows}.parquet"
    if all(p.exists() for p in paths):
        return paths
    levels = np.array([f"level_{i}" for i in range(8)])
    for path, seed, shifted in ((paths[0], 1, False), (paths[1], 2, True)):
        rng = np.random.default_rng(seed)
        columns = {}
        for i in range(20):
            shift = 0.5 if shifted and i < 4 else 0.0  # four numeric features drift
            columns[f"num_{i:02d}"] = rng.normal(shift, 1.0, rows)
        weights = np.full(8, 1 / 8)
        for i in range(5):
            p = np.array([0.4] + [0.6 / 7] * 7) if shifted and i == 0 else weights
            columns[f"cat_{i}"] = levels[rng.choice(8, rows, p=p)]
        pq.write_table(pa.table(columns), path, row_group_size=ROW_GROUP)
    return paths


def evidently_python() -> Path:
    python = PEER / "bin" / "python"
    if not python.exists():
        print("installing Evidently 0.7.23 in its own environment …", flush=True)
        uv = os.environ.get("UV", "uv")
        subprocess.run([uv, "venv", "--quiet", "--python", "3.11", str(PEER)], check=True)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(python), *EVIDENTLY], check=True
        )
    return python


def measure(python: str, tool: str, paths: tuple[Path, Path], repeats: int) -> list[dict]:
    runs = []
    for i in range(repeats):
        out = subprocess.run(
            [python, str(HERE / "jobs.py"), tool, *map(str, paths)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"{tool} failed:\n{out.stderr[-3000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            f"  {tool} run {i + 1}: {runs[-1]['seconds']:.2f} s, {runs[-1]['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    return runs


def cli_seconds(paths: tuple[Path, Path], repeats: int) -> float:
    command = [
        str(Path(sys.executable).with_name("driftpilot")),
        "drift",
        "--reference",
        str(paths[0]),
        "--current",
        str(paths[1]),
        "--format",
        "json",
    ]
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--evidently-repeats", type=int, default=3)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    paths = make_data(args.rows)
    print(f"data: {args.rows:,} × 25 reference and current, {paths[0].parent}/", flush=True)
    results = {
        "driftpilot": measure(sys.executable, "driftpilot", paths, args.repeats),
        "bare": measure(sys.executable, "bare", paths, args.repeats),
    }
    if not args.skip_evidently:
        results["evidently"] = measure(
            str(evidently_python()), "evidently", paths, args.evidently_repeats
        )
    cli = cli_seconds(paths, args.repeats)
    med = {
        tool: (
            statistics.median(r["seconds"] for r in runs),
            statistics.median(r["peak_rss_mb"] for r in runs),
        )
        for tool, runs in results.items()
    }
    print(
        f"\nmedians over {args.repeats} runs ({args.evidently_repeats} for Evidently), "
        f"{args.rows:,} × 25 against {args.rows:,} × 25:\n"
    )
    print("| job | time (s) | peak memory (MB) | vs driftpilot (time) |")
    print("| --- | ---: | ---: | ---: |")
    ours = med["driftpilot"][0]
    for tool, label in (
        ("driftpilot", "driftpilot: profile + window counts + statistics"),
        ("evidently", "Evidently 0.7.23 DataDriftPreset (read + run)"),
        ("bare", "bare DuckDB scan of the same columns"),
    ):
        if tool in med:
            seconds, memory = med[tool]
            print(f"| {label} | {seconds:.2f} | {memory:.0f} | {seconds / ours:.2f}× |")
    print(
        f"| `driftpilot drift --reference … --current …` end to end (process start, imports) "
        f"| {cli:.2f} | | |"
    )
    print()
    for tool in ("driftpilot", "evidently"):
        if tool in results:
            print(f"{tool} flagged: {results[tool][0]['drifted']}")
    if "evidently" in med:
        print(
            f"speed-up over Evidently: {med['evidently'][0] / ours:.0f}× "
            f"(target ≥ 100×); memory: {med['driftpilot'][1] / med['evidently'][1]:.2f} of "
            f"Evidently's (target ≤ 0.25)"
        )
    print(f"against the bare scan: {ours / med['bare'][0]:.1f}× (target ≤ 5×)")
    (DATA / "drift-results.json").write_text(
        json.dumps({"rows": args.rows, "runs": results, "cli_seconds": cli}, indent=1)
    )


if __name__ == "__main__":
    main()
