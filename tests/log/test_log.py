"""Writing and reading the event log: idempotency, late labels, compaction, durability."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from driftpilot.engine.backend import Engine
from driftpilot.errors import SourceError
from driftpilot.log.maintenance import compact
from driftpilot.log.read import labeled_predictions, predictions, unmatched_labels
from driftpilot.log.writer import log_labels, log_predictions

from .conftest import record


def read(workspace) -> pd.DataFrame:
    engine = Engine.create()
    frame = engine.execute(labeled_predictions(engine, workspace)).to_pandas()
    return frame.sort_values("prediction_id").reset_index(drop=True)


def test_nothing_logged_is_a_clear_error(workspace) -> None:
    with pytest.raises(SourceError, match="no predictions are logged"):
        predictions(Engine.create(), workspace)


def test_resent_predictions_and_labels_count_once_and_corrections_win(workspace) -> None:
    log_predictions([record(0), record(1)], workspace=workspace)
    log_predictions(
        [record(1, score=0.9)], workspace=workspace
    )  # a re-send: the first version stays
    log_labels([{"prediction_id": "p0", "label": 0}], workspace=workspace)
    log_labels([{"prediction_id": "p0", "label": 1}], workspace=workspace)  # a correction
    frame = read(workspace)
    assert frame["prediction_id"].tolist() == ["p0", "p1"]
    assert frame["score"].tolist() == [0.25, 0.25]
    assert frame["label"].tolist()[0] == 1.0
    assert pd.isna(frame["label"].tolist()[1])


def test_the_label_logged_last_wins_whichever_key_it_used(workspace) -> None:
    log_predictions([record(0)], workspace=workspace)
    by_entity = {"entity_id": "c0", "timestamp": "2026-03-01T10:00:00Z"}
    steps = [({"prediction_id": "p0"}, 0), (by_entity, 1), ({"prediction_id": "p0"}, 0)]
    for key, label in steps:
        log_labels([{**key, "label": label}], workspace=workspace)
        assert read(workspace)["label"].tolist() == [float(label)]


def test_labels_join_by_entity_and_time_and_wait_for_predictions(workspace) -> None:
    log_labels(
        [
            {"entity_id": "c3", "timestamp": "2026-03-01T10:00:00Z", "label": 1},
            {"prediction_id": "later", "label": 0},
        ],
        workspace=workspace,
    )
    log_predictions([record(3)], workspace=workspace)
    engine = Engine.create()
    assert unmatched_labels(engine, workspace) == 1  # "later" waits for its prediction
    assert read(workspace)["label"].tolist() == [1.0]
    log_predictions([record(9, prediction_id="later")], workspace=workspace)
    assert unmatched_labels(engine, workspace) == 0
    assert read(workspace).set_index("prediction_id")["label"].to_dict() == {
        "p3": 1.0,
        "later": 0.0,
    }


def test_frames_and_records_land_in_the_same_table(workspace) -> None:
    log_predictions([record(0)], workspace=workspace)
    frame = pd.DataFrame(
        {
            "prediction_id": ["f1"],
            "tenure": [3.0],
            "plan": ["premium"],
            "autopay": [False],
            "score": [0.8],
            "model_version": [2],
        }
    )
    log_predictions(frame, workspace=workspace)
    got = read(workspace).set_index("prediction_id")
    assert got.loc["f1", "model_version"] == "2"
    assert got.loc["f1", "prediction"] == 1.0


def test_compaction_merges_small_commits_and_keeps_the_data(workspace) -> None:
    for i in range(12):
        log_predictions([record(i)], workspace=workspace)
    before = read(workspace)
    done = compact(workspace, retention_hours=0)
    assert done["predictions"]["files_removed"] == 12
    assert done["predictions"]["files_added"] == 1
    assert done["predictions"]["files_vacuumed"] == 12
    assert read(workspace).equals(before)
    assert len(DeltaTable(str(workspace.predictions_path)).file_uris()) == 1


WRITER = """
import sys
from driftpilot.log.writer import log_predictions
sys.path.insert(0, {tests!r})
from log.conftest import record
for batch in range({first}, 10_000):
    log_predictions([record(batch * 10 + k) for k in range(10)], workspace={root!r})
    print(batch, flush=True)  # acknowledged: the commit returned
"""


def test_a_killed_writer_loses_nothing_it_acknowledged(workspace) -> None:
    """SIGKILL the writer mid-ingestion: every acknowledged row is there, once, readable."""
    tests = str(Path(__file__).parents[1])
    root = str(workspace.root)
    acked: list[int] = []
    for first in (0, None):  # write, kill, then write again from the first unacknowledged batch
        start = first if first is not None else acked[-1] + 1
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER.format(tests=tests, root=root, first=start)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        deadline = time.monotonic() + 60
        target = start + 25
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(int(line))
            if acked[-1] >= target:
                time.sleep(0.013)  # land the kill inside a later write
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    table = DeltaTable(str(workspace.predictions_path))
    raw = table.to_pyarrow_table().column("prediction_id").to_pylist()  # reads cleanly
    frame = read(workspace)
    ids = set(frame["prediction_id"])
    expected = {f"p{b * 10 + k}" for b in acked for k in range(10)}
    assert expected <= ids
    assert len(frame) == len(ids)  # nothing counted twice
    per_batch = Counter(int(pid[1:]) // 10 for pid in raw)
    # no partial batch: each is there whole, twice at most (the batch the kill interrupted
    # may have committed unacknowledged and been sent again)
    assert set(per_batch.values()) <= {10, 20}
    assert sum(1 for count in per_batch.values() if count == 20) <= 2


def test_a_feature_whose_type_changed_is_refused_with_a_hint(workspace) -> None:
    from driftpilot.errors import SchemaError
    from driftpilot.workspace import Workspace

    log_predictions([record(0)], workspace=workspace)
    text = workspace.config_path.read_text().replace("tenure: numeric", "tenure: categorical")
    workspace.config_path.write_text(text)
    changed = Workspace.open(workspace.root)
    with pytest.raises(SchemaError, match="'tenure' holds double") as raised:
        log_predictions([record(1, features={"tenure": "long", "plan": "basic", "autopay": True})],
                        workspace=changed)  # fmt: skip
    assert "tenure_v2" in raised.value.hint
    assert read(workspace)["prediction_id"].tolist() == ["p0"]  # nothing else was written
