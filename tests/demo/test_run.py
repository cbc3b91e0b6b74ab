import json


def test_the_demo_tells_its_story(demo_story) -> None:
    result, text = demo_story
    reports = result.reports
    root = result.workspace
    assert len(reports) == 8  # weeks 4–11
    week = dict(zip(range(4, 12), reports, strict=True))
    assert all(r.labels["coverage"] == 1.0 for r in reports)  # every label arrived in the end
    assert week[4].dataset.drifted_features == week[5].dataset.drifted_features == []
    assert week[6].dataset.drifted_features == ["monthly_usage"]
    assert week[7].dataset.drifted_features == ["monthly_usage"]
    for i in (4, 5, 6, 7):  # covariate shift only: the estimate holds
        assert abs(week[i].estimate["roc_auc"] - week[i].performance["roc_auc"]) < 0.02
    for i in (
        8,
        9,
    ):  # the concept changes in the south: realized AUC falls, the estimate cannot see it
        assert week[i].dataset.drifted_features == []
        regions = week[i].performance["by_segment"]["region"]
        assert (
            regions["south"]["recall"]
            < min(r["recall"] for k, r in regions.items() if k != "south") - 0.2
        )
        assert week[i].estimate["roc_auc"] - week[i].performance["roc_auc"] > 0.02
    assert week[10].performance["positive_rate"] > 0.3  # label shift
    assert list(week[11].dataset.quality_issues) == ["payment_delay"]
    assert not any(d["fired"] for d in week[4].detectors.values())
    # the policy: drift is a warning, the south's concept drift asks for a retrain, the broken
    # feature is an alert; every incident announced once in the workspace's alerts.jsonl
    assert "[WARN] data_drift" in text
    assert "[ALERT] performance_drop: retrain requested" in text
    assert "[ALERT] data_quality" in text
    messages = (root / "alerts.jsonl").read_text().splitlines()
    sent = [json.loads(m) for m in messages]
    events = [(m["rule"], m["status"]) for m in sent if m["rule"] != "canary"]
    assert len(events) == len(set(events))
    canary = [
        (m["incident_id"], m["action"], m["window_key"]) for m in sent if m["rule"] == "canary"
    ]
    assert len(canary) == len(set(canary)) == 8  # every canary step announced once
    assert ("data_drift", "open") in events
    assert ("data_drift", "resolved") in events
    # the retrain the incidents asked for: one candidate, trained on the labeled week 8, beats
    # the stale champion on the newest rows and becomes the challenger
    from driftpilot.registry.client import Registry
    from driftpilot.workspace import Workspace

    registry = Registry(Workspace.open(root))
    assert "retrained for: performance_drop" in text
    candidate = registry.version("2")
    assert candidate.tag("parent") == "1"
    assert candidate.tag("gate") == "passed"
    assert "version 2 → alias challenger" in text
    # the canary: live traffic through driftpilot serve takes version 2 through every stage
    # to champion; the candidate trained on the broken label feed passes the gate on those
    # labels and is rolled back by the canary at its first analysis
    from driftpilot.canary.controller import history

    assert registry.aliases() == {"champion": "2", "previous": "1"}
    steps = [(s["version"], s["action"], s["stage"]) for s in history(registry.workspace)]
    assert steps == [
        ("2", "start", "shadow"),
        *[("2", "advance", stage) for stage in ("shadow", "10%", "25%", "50%")],
        ("2", "promote", "100%"),
        ("3", "start", "shadow"),
        ("3", "rollback", "shadow"),
    ]
    broken = registry.version("3")
    assert broken.tag("gate") == "passed"
    assert broken.tags["driftpilot.canary"] == "rolled_back"
    assert "version 3 rolled back" in text
    assert "canary analyses" in text
    assert "recall by region" in text
    assert "driftpilot report -w" in text
    # the feature store: fresh every week, stale while materialization is paused, fresh again
    assert ("stale_features", "open") in events
    assert ("stale_features", "resolved") in events
    assert [e for e in events if e[0] == "stale_features"] == [
        ("stale_features", "open"),
        ("stale_features", "resolved"),
    ]
    assert "feature_skew" not in {rule for rule, _ in events}
    assert "monthly_usage stale" in text  # past its TTL while paused: never fresh
    assert "only the customer id" in text
    assert (root / "reference.json").is_file()


def test_the_demo_summary_numbers(demo_story) -> None:
    """The story in numbers the demo prints last, read back from its workspace."""
    result, text = demo_story
    summary = result.summary
    reports = result.reports
    assert summary.windows == 8
    assert summary.predictions == summary.labels == 8 * 6000
    assert summary.drifted_features == ["monthly_usage"]
    assert summary.drift_windows == [r.window_key[:10] for r in reports[2:4]]  # weeks 6, 7
    low, high = summary.auc_during_drift
    assert summary.auc_reference - low < 0.05  # the AUC held while the feature drifted
    assert high <= summary.auc_reference
    assert summary.south_windows == [r.window_key[:10] for r in reports[4:6]]  # weeks 8, 9
    assert summary.south_recall < summary.others_recall - 0.2
    assert summary.opened == {
        "data_drift": 1,
        "performance_drop": 1,
        "segment_recall_drop": 1,
        "data_quality": 1,
        "stale_features": 1,
    }
    assert summary.resolved == {key: 1 for key in summary.opened if key != "data_quality"}
    assert summary.still_open == ["data_quality"]
    gates = [(v["version"], v["gate"], v["canary"]) for v in summary.versions]
    assert gates == [("1", "passed", ""), ("2", "passed", "promoted"),
                     ("3", "passed", "rolled_back")]  # fmt: skip
    assert summary.aliases == {"champion": "2", "previous": "1"}
    # what the table says, as printed
    assert "the story in numbers" in text
    assert "8 weekly windows, 48,000 predictions, 48,000 labels" in text
    assert "data_drift opened 1 incident(s)" in text
    assert "promoted at 100%" in text
    assert "rolled back at shadow" in text
    assert "champion → version 2, previous → version 1" in text
    # where to look further
    assert result.html == result.workspace.parent / "report.html"
    assert f"driftpilot ui -w {result.workspace}" in text
    assert "mlflow ui --backend-store-uri sqlite:///" in text
