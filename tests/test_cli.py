import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftpilot.cli import ERROR_EXIT, app
from driftpilot.demo import ChurnScenario, WeekSpec, stationary

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    scenario = ChurnScenario(seed=1, rows_per_week=3000)
    paths = {"ref": folder / "ref.parquet", "cur": folder / "cur.csv", "config": folder / "dp.yaml"}
    scenario.weeks(stationary(2)).to_parquet(paths["ref"], index=False)
    scenario.week(5, WeekSpec(covariate_shift={"monthly_usage": 1.0})).to_csv(
        paths["cur"], index=False
    )
    paths["config"].write_text(
        "columns:\n  id: [customer_id]\n  timestamp: timestamp\n  target: churn\n"
    )
    return paths


def test_profile_then_drift_as_json(files, tmp_path) -> None:
    profile = tmp_path / "ref.json"
    result = runner.invoke(
        app, ["profile", str(files["ref"]), "-o", str(profile), "-c", str(files["config"])]
    )
    assert result.exit_code == 0, result.output
    assert "profiled 6,000 rows, 12 features" in result.output
    result = runner.invoke(
        app,
        [
            "drift",
            "--profile",
            str(profile),
            "--current",
            str(files["cur"]),
            "--format",
            "json",
            "-c",
            str(files["config"]),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dataset"]["drifted_features"] == ["monthly_usage"]
    assert report["dataset"]["rows_current"] == 3000


def test_drift_from_reference_data_as_a_table_into_a_file(files, tmp_path) -> None:
    out = tmp_path / "report.txt"
    result = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(files["ref"]),
            "--current",
            str(files["cur"]),
            "-c",
            str(files["config"]),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "monthly_usage" in text.splitlines()[3]  # the drifted feature comes first
    assert "DRIFT" in text
    assert "1 of 12 features drifted" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--current", "x.parquet"], "give the reference: --reference DATA"),
        (
            ["--current", "missing.parquet", "--reference", "missing.parquet"],
            "no such file: 'missing.parquet'",
        ),
        (["--current", "data.txt", "--reference", "data.txt"], "cannot tell the format"),
    ],
)
def test_errors_exit_3_with_a_message(args, message, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("a\n1\n")
    result = runner.invoke(app, ["drift", *args])
    assert result.exit_code == ERROR_EXIT
    assert message in result.output


def test_bad_config_file_exits_3(files, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("drift:\n  share: 0.5\n")
    result = runner.invoke(
        app, ["profile", str(files["ref"]), "-o", str(tmp_path / "p.json"), "-c", str(bad)]
    )
    assert result.exit_code == ERROR_EXIT
    assert "drift.share: unknown key" in result.output


def test_help_answers_in_well_under_half_a_second() -> None:
    script = Path(sys.executable).with_name("driftpilot")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        done = subprocess.run([str(script), "--help"], capture_output=True, env=env, check=True)
        timings.append(time.perf_counter() - start)
    assert b"drift" in done.stdout
    assert sorted(timings)[2] < 0.5, timings
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, driftpilot.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'ibis','duckdb','pyspark','scipy','sklearn','mlflow','feast','pandas','numpy','pyarrow','xgboost'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert heavy.stdout.strip() == "[]"
    # the help is click's plain text: rich's formatter alone imports for a third of a second
    helped = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom driftpilot.cli import app\ntry:\n    app(['features', '--help'])\n"
            "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] "
            "in {'rich', 'markdown_it', 'pygments'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert helped.stdout.strip().endswith("[]"), helped.stdout


def test_reference_and_profile_together_make_a_cache(files, tmp_path) -> None:
    cache = tmp_path / "cache" / "ref.json"
    args = [
        "drift",
        "--reference",
        str(files["ref"]),
        "--profile",
        str(cache),
        "--current",
        str(files["cur"]),
        "-c",
        str(files["config"]),
        "--format",
        "json",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert cache.stat().st_mtime_ns == stamp  # read, not rebuilt
    assert json.loads(second.stdout)["dataset"] == json.loads(first.stdout)["dataset"]


def test_output_into_a_new_folder(files, tmp_path) -> None:
    out = tmp_path / "new" / "deeper" / "report.json"
    result = runner.invoke(
        app,
        [
            "drift",
            "--reference",
            str(files["ref"]),
            "--current",
            str(files["cur"]),
            "-c",
            str(files["config"]),
            "--format",
            "json",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["dataset"]["rows_current"] == 3000
