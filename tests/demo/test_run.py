from rich.console import Console

from driftpilot.demo.run import STEPS, run_demo


def test_the_demo_tells_its_story(tmp_path) -> None:
    console = Console(record=True, width=140)
    results = run_demo(tmp_path / "demo", rows_per_week=4000, seed=7, console=console)
    by_weeks = {step.weeks: report.dataset for step, report in results}
    assert [step for step, _ in results] == list(STEPS)
    assert by_weeks[(4, 5)].drifted_features == []
    assert by_weeks[(6, 7)].drifted_features == ["monthly_usage"]
    assert by_weeks[(8, 9)].drifted_features == []  # concept drift: invisible to data drift
    assert list(by_weeks[(11,)].quality_issues) == ["payment_delay"]
    assert not any(d.drift for d in by_weeks.values())
    assert (tmp_path / "demo" / "reference-profile.json").is_file()
    assert len(list((tmp_path / "demo" / "weeks").glob("week-*.parquet"))) == 12
    text = console.export_text()
    assert "missing values rose from" in text
    assert "driftpilot drift --profile" in text
