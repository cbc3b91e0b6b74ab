"""The HTML report over the demo's workspace: its data against the stored reports, registry and
checks; its page self-contained; each part built on its own."""

import re
import shutil

import pytest
from typer.testing import CliRunner

from driftpilot.cli import app
from driftpilot.monitor.report import history
from driftpilot.report.figures import overlay_figure, performance_figure, segment_heatmap
from driftpilot.report.html import render_html
from driftpilot.report.sparkline import sparkline
from driftpilot.report.view import build_view
from driftpilot.workspace import Workspace, init_workspace


@pytest.fixture(scope="module")
def story(demo_story):
    result, _ = demo_story
    space = Workspace.open(result.workspace)
    return result, space, build_view(space, mlflow_url="http://mlflow.example:5000")


def test_drift_part_follows_the_stored_reports(story) -> None:
    _, space, view = story
    reports = history(space)
    rows = {f["name"]: f for f in view["drift"]["features"]}
    usage = rows["monthly_usage"]
    ratios = [(not f["drift"], -(f["score"] / f["threshold"])) for f in view["drift"]["features"]]
    assert ratios == sorted(ratios)  # drifted first, then by how close to the threshold
    assert usage["history_drift"] == [r.features["monthly_usage"].drift for r in reports]
    assert usage["drifted_windows"] == 2
    assert usage["history"] == [r.features["monthly_usage"].score for r in reports]
    assert usage["score"] == reports[-1].features["monthly_usage"].score
    assert rows["payment_delay"]["issues"]  # the broken feed of the last week
    (overlay,) = view["overlays"]
    assert overlay["feature"] == "monthly_usage"
    drifted = [r for r in reports if r.features["monthly_usage"].drift][-1]
    histogram = overlay["histogram"]
    assert sum(histogram["current"]) + histogram["below"] + histogram["above"] == drifted.rows
    assert overlay["window"] == drifted.window_key[:10]


def test_performance_and_segments_parts(story) -> None:
    _, space, view = story
    reports = history(space)
    windows = view["performance"]["windows"]
    assert [w["realized"]["roc_auc"] for w in windows] == [
        r.performance["roc_auc"] for r in reports
    ]
    assert [w["band"]["roc_auc"] for w in windows] == [
        r.estimate["bands"]["roc_auc"] for r in reports
    ]
    segments = view["segments"]
    recalls = [row["recall"] for row in segments["rows"]]
    assert recalls == sorted(recalls)  # worst first
    assert len(segments["windows"]) == len(reports)
    south = next(row for row in segments["rows"] if row["segment"] == "south")
    by_week = [r.performance["by_segment"]["region"]["south"]["recall"] for r in reports]
    assert south["history"] == by_week
    assert min(by_week) == min(by_week[4:6])  # the south's concept drift, weeks 8 and 9


def test_performance_is_judged_against_the_windows_own_reference(story, tmp_path) -> None:
    import math

    from driftpilot.monitor.job import run_monitor

    result, space, view = story
    reports = history(space)
    judged = {r.reference["created_at"] for r in reports}
    assert len(judged) == 1  # one reference for every stored window
    reference = reports[-1].reference
    # the demo promotes version 2 after its last monitor run: the workspace's reference
    # changed, and the windows were judged against version 1's
    current = space.reference()
    assert current.created_at.isoformat() not in judged
    performance = view["performance"]
    assert performance["reference"]["roc_auc"] == reference["metrics"]["roc_auc"]
    assert performance["reference_pending"]["roc_auc"] == current.performance.metrics["roc_auc"]
    verdict = next(v for v in view["summary"]["verdicts"] if v["area"] == "performance")
    chunk = reference["chunks"]["roc_auc"]
    labels = reports[-1].performance["labeled"]
    floor = chunk["mean"] - 3 * chunk["std"] * math.sqrt(reference["chunk_rows"] / labels)
    assert f"its reference {reference['metrics']['roc_auc']:.3f}" in verdict["text"]
    assert f"alert below {floor:.3f}" in verdict["text"]
    # the chart draws the same floor in every window, scaled to its labels
    figure = performance_figure(performance, "roc_auc", "ROC AUC")
    (trace,) = [t for t in figure["data"] if t["name"].startswith("alert floor")]
    by_hand = [
        chunk["mean"]
        - 3 * chunk["std"] * math.sqrt(reference["chunk_rows"] / r.performance["labeled"])
        for r in reports
    ]
    assert trace["y"] == pytest.approx(by_hand, rel=1e-12)
    assert trace["y"][-1] == pytest.approx(floor)
    assert "the workspace's new reference" in figure["layout"]["title"]["text"]
    # the next monitor run judges every window against the new reference
    copy = tmp_path / "workspace"
    shutil.copytree(result.workspace, copy)
    moved = Workspace.open(copy)
    run_monitor(moved)
    assert {r.reference["created_at"] for r in history(moved)} == {current.created_at.isoformat()}
    again = build_view(moved)["performance"]
    assert again["reference_pending"] is None
    assert again["reference"]["roc_auc"] == current.performance.metrics["roc_auc"]


def test_models_part_shows_versions_timeline_and_links(story) -> None:
    _, _, view = story
    models = view["models"]
    versions = {v["version"]: v for v in models["versions"]}
    assert versions["2"]["aliases"] == ["champion"]
    assert versions["1"]["aliases"] == ["previous"]
    assert versions["3"]["canary"] == "rolled_back"
    assert versions["2"]["run_url"].startswith("http://mlflow.example:5000/#/experiments/")
    assert versions["2"]["run_url"].endswith(f"/runs/{versions['2']['run_id']}")
    kinds = [(e["version"], e["kind"]) for e in models["timeline"]]
    assert ("2", "canary promote") in kinds
    assert ("3", "canary rollback") in kinds
    assert kinds.index(("2", "retrained")) < kinds.index(("2", "canary promote"))
    times = [e["at"] for e in models["timeline"]]
    assert times == sorted(times)


def test_summary_and_features_parts(story) -> None:
    _, _, view = story
    verdicts = {v["area"]: v for v in view["summary"]["verdicts"]}
    assert verdicts["data quality"]["status"] == "alert"  # payment_delay, the last week
    assert verdicts["data drift"]["status"] == "ok"
    assert verdicts["feature store"]["status"] == "ok"  # materialization resumed
    assert [i["rule"] for i in view["summary"]["incidents"]] == ["data_quality"]
    assert all(d["status"] != "ok" for d in view["summary"]["decisions"])
    checks = view["features"]["checks"]
    assert [c["stale"] for c in checks][-2:] == [2, 0]  # stale while paused, then fresh


def test_the_demo_writes_a_self_contained_report(story) -> None:
    result, _, view = story
    page = result.html.read_text()
    assert result.html.stat().st_size > 3_000_000  # plotly.js is inside
    assert "<script src=" not in page  # nothing loaded from elsewhere
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)  # plotly.js's own code
    assert not re.search(r"""(src|href)=["']https?://(?!127\.0\.0\.1)""", markup)
    for section in ("summary", "drift", "performance", "segments", "models", "features"):
        assert f'<section id="{section}">' in page
    table = page[page.index('id="performance-table"') :]
    for window in view["performance"]["windows"]:
        assert f"{window['realized']['roc_auc']:.3f}" in table
    assert page.count('class="chart"') == 1 + 2 + 1 + 1 + 1  # overlay, 2 performance, ...


def test_report_command_writes_html(story, tmp_path) -> None:
    result, _, _ = story
    out = tmp_path / "out" / "r.html"
    run = CliRunner().invoke(
        app, ["report", "-w", str(result.workspace), "--html", str(out), "--last", "3"]
    )
    assert run.exit_code == 0, run.output
    assert "wrote" in run.output
    assert out.is_file()
    assert "3 week windows" in out.read_text()
    blocked = tmp_path / "file"
    blocked.write_text("")
    run = CliRunner().invoke(
        app, ["report", "-w", str(result.workspace), "--html", str(blocked / "r.html")]
    )
    assert run.exit_code == 3
    assert "cannot write" in run.output


def test_a_part_that_cannot_be_read_does_not_stop_the_report(story, tmp_path) -> None:
    result, _, _ = story
    root = tmp_path / "ws"
    shutil.copytree(result.workspace, root)
    (root / "mlflow.db").write_bytes(b"not a database")
    view = build_view(Workspace.open(root))
    assert "could not be read" in view["models"]["error"]
    assert view["drift"]["features"]  # the rest is there
    page = render_html(view, plotly_src="/p.js")
    assert "could not be read" in page


def test_an_empty_workspace_renders(tmp_path) -> None:
    view = build_view(init_workspace(tmp_path))
    page = render_html(view, plotly_src="/p.js")
    assert "no window reports yet" in page
    assert view["models"]["versions"] == []


def test_sparkline_marks_the_values_over_the_threshold_or_flagged() -> None:
    svg = sparkline([0.1, 0.5, None, 0.3, 0.05], 0.2)
    assert svg.count("<circle") == 2  # 0.5 and 0.3
    runs = [points.split() for points in re.findall(r'points="([^"]*)"', svg)]
    assert [len(run) for run in runs] == [2, 2]  # the missing value breaks the line
    flagged = sparkline([0.1, 0.5, 0.3], 0.2, flags=[True, False, False])
    assert flagged.count("<circle") == 1  # each window's own verdict, not today's threshold
    assert "stroke-dasharray" in sparkline([0.0, 0.1], 0.0)  # a zero threshold is drawn
    assert sparkline([None, None], 0.2) == ""


def test_data_strings_are_escaped_in_the_page_and_the_charts(tmp_path) -> None:
    evil = '<img src=x onerror="alert(1)">'
    view = build_view(init_workspace(tmp_path))
    view["drift"]["features"] = [
        {"name": evil, "type": "numeric", "method": "psi", "threshold": 0.2, "score": 0.5,
         "drift": True, "error": None, "history": [0.5], "history_drift": [True],
         "drifted_windows": 1, "issues": [evil]}
    ]  # fmt: skip
    view["overlays"] = [
        {"feature": evil, "window": "w", "method": "psi", "score": 0.5, "threshold": 0.2,
         "histogram": {"kind": "categorical", "labels": [evil, "b"], "reference": [1, 1],
                       "current": [2, 0], "edges": [], "below": 0, "above": 0}}
    ]  # fmt: skip
    page = render_html(view, plotly_src="/p.js")
    assert evil not in page
    assert "&lt;img src=x" in page
    figure = overlay_figure(view["overlays"][0])
    assert "<img" not in figure["layout"]["title"]["text"]
    assert figure["data"][0]["x"][0].startswith("&lt;img")
    segments = {"rows": [{"column": "region", "segment": evil, "history": [0.1]}],
                "overall_history": [0.2], "windows": ["w"]}  # fmt: skip
    assert "<img" not in segment_heatmap(segments)["data"][0]["y"][0]


def test_a_broken_reports_table_is_reported_not_fatal(tmp_path) -> None:
    space = init_workspace(tmp_path)
    (space.reports_path / "_delta_log").mkdir(parents=True)
    (space.reports_path / "_delta_log" / "00000000000000000000.json").write_text("{broken")
    view = build_view(space)
    assert "window reports could not be read" in view["meta"]["error"]
    assert "window reports could not be read" in render_html(view, plotly_src="/p.js")
