"""One contract for both validators: JSON records and data frames accept and refuse alike."""

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftpilot.config import ModelConfig
from driftpilot.log.frames import label_frame, prediction_frame
from driftpilot.log.records import ValidationFailed, label_records, prediction_records
from driftpilot.log.schema import prediction_schema
from driftpilot.log.writer import EventLog

from .conftest import FEATURES, MODEL, NOW, record


def flat(records: list[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if k != "features"}
        row.update(r.get("features", {}))
        rows.append(row)
    return pd.DataFrame(rows)


def both(records: list[dict]) -> tuple[pa.Table, pa.Table]:
    schema = prediction_schema(FEATURES)
    from_records = EventLog.rows_to_table(
        prediction_records(records, FEATURES, MODEL, now=NOW), schema, NOW
    )
    frame = prediction_frame(flat(records), FEATURES, MODEL, now=NOW)
    from_frame = frame.append_column(
        "ingested_at", pa.array([NOW] * frame.num_rows, pa.timestamp("us", tz="UTC"))
    )
    return from_records, from_frame.select(schema.names).cast(schema)


def test_valid_batches_give_identical_rows() -> None:
    records = [
        record(0),
        record(
            1,
            score=0.75,
            model_version="2",
            latency_ms=3.5,
            features={"tenure": None, "plan": "premium", "autopay": False},
        ),
    ]
    a, b = both(records)
    assert a.equals(b)
    rows = a.to_pylist()
    assert rows[0]["prediction"] == 0.0 and rows[1]["prediction"] == 1.0  # noqa: PT018 - from score ≥ 0.5
    assert rows[0]["model_version"] == "unversioned"
    assert rows[0]["route"] == "default"
    assert rows[0]["timestamp"].isoformat() == "2026-03-01T10:00:00+00:00"


def test_defaults_fill_missing_ids_and_times() -> None:
    bare = [{"features": {"tenure": 1.0, "plan": "basic", "autopay": True}, "score": 0.1}] * 2
    a, b = both(bare)
    for table in (a, b):
        ids = table.column("prediction_id").to_pylist()
        assert len(set(ids)) == 2 and all(ids)  # noqa: PT018
        assert table.column("timestamp").to_pylist() == [NOW, NOW]


BAD = [
    ("missing feature", [record(features={"tenure": 1.0, "plan": "x"})], "missing"),
    (
        "extra feature",
        [record(features={"tenure": 1.0, "plan": "x", "autopay": True, "age": 3})],
        "unknown",
    ),
    (
        "text in a number",
        [record(features={"tenure": "twelve", "plan": "x", "autopay": True})],
        "tenure: expected a number or null",
    ),
    (
        "number as boolean",
        [record(features={"tenure": 1.0, "plan": "x", "autopay": 3})],
        "autopay: expected true, false or null",
    ),
    ("NaN score", [record(score=math.nan)], "score: expected a probability between 0 and 1"),
    ("infinite score", [record(score=math.inf)], "score: expected a probability between 0 and 1"),
    (
        "score above 1",
        [record(score=1.2)],
        "score: expected a probability between 0 and 1, got 1.2",
    ),
    ("score below 0", [record(score=-0.1)], "score: expected a probability"),
    ("missing score", [{k: v for k, v in record().items() if k != "score"}], "score"),
    ("prediction not 0/1", [record(prediction=2)], "prediction: expected 0 or 1"),
    ("negative latency", [record(latency_ms=-1.0)], "latency_ms: expected a non-negative number"),
    ("duplicate ids", [record(0), record(0)], r"predictions\[1\]\.prediction_id"),
    ("bad time", [record(timestamp="yesterday")], "timestamp: expected an ISO 8601 time"),
    ("epoch milliseconds", [record(timestamp=1_772_366_400_000)], "epoch milliseconds"),
    ("before 1970", [record(timestamp="1969-12-31T23:00:00Z")], "between 1970 and 2200"),
    ("empty id", [record(prediction_id="")], "prediction_id: expected non-empty text"),
    ("long id", [record(prediction_id="x" * 300)], "at most 256 characters"),
    ("empty batch", [], "expected at least one"),
]


@pytest.mark.parametrize(("case", "records", "message"), BAD, ids=[c for c, _, _ in BAD])
def test_both_validators_refuse_with_the_field_path(case, records, message) -> None:
    with pytest.raises(ValidationFailed, match=message) as raised:
        prediction_records(records, FEATURES, MODEL, now=NOW)
    assert "nothing was written" in str(raised.value)
    if case in ("missing score",):  # a frame without the column: refused for the column
        with pytest.raises(ValidationFailed, match="missing columns"):
            prediction_frame(flat(records), FEATURES, MODEL, now=NOW)
        return
    frame = flat(records) if records else pd.DataFrame({"score": pd.Series([], dtype=float)})
    with pytest.raises(
        ValidationFailed, match=message if case != "empty batch" else "at least one"
    ):
        prediction_frame(frame, FEATURES, MODEL, now=NOW)


def test_every_problem_is_listed_with_its_row() -> None:
    records = [record(i, score=1.5) for i in range(30)]
    with pytest.raises(ValidationFailed) as raised:
        prediction_records(records, FEATURES, MODEL, now=NOW)
    assert len(raised.value.problems) == 20
    assert raised.value.problems[3].startswith("predictions[3].score")
    assert "and 10 more" in str(raised.value)


def test_regression_models_need_a_prediction_not_a_score() -> None:
    model = ModelConfig(task="regression")
    rows = prediction_records([record(score=None, prediction=12.5)], FEATURES, model, now=NOW)
    assert rows[0]["prediction"] == 12.5
    with pytest.raises(ValidationFailed, match="prediction: expected a finite number"):
        prediction_records([record(score=None)], FEATURES, model, now=NOW)


def test_labels_by_id_or_entity_and_time() -> None:
    rows = label_records(
        [
            {"prediction_id": "p1", "label": 1},
            {"entity_id": "c9", "timestamp": "2026-03-01T10:00:00Z", "label": False},
        ],
        MODEL,
        now=NOW,
    )
    assert [r["label"] for r in rows] == [1.0, 0.0]
    frame = label_frame(
        pd.DataFrame(
            {
                "prediction_id": ["p1", None],
                "entity_id": [None, "c9"],
                "timestamp": [None, "2026-03-01T10:00:00Z"],
                "label": [1, 0],
            }
        ),
        MODEL,
        now=NOW,
    )
    assert frame.column("label").to_pylist() == [1.0, 0.0]


def test_times_keep_microseconds_and_refuse_unit_mistakes() -> None:
    stamp = pd.Timestamp("2026-03-01T10:00:00.123456789Z")
    frame = flat([record(0), record(1)])
    frame["timestamp"] = [stamp, stamp]  # nanoseconds: the digits beyond microseconds go
    got = prediction_frame(frame, FEATURES, MODEL, now=NOW).column("timestamp").to_pylist()
    rows = prediction_records([record(0, timestamp=stamp.isoformat())], FEATURES, MODEL, now=NOW)
    assert got[0] == rows[0]["timestamp"] == stamp.floor("us").to_pydatetime()
    seconds = flat([record(0, timestamp=1_772_366_400.5)])
    got = prediction_frame(seconds, FEATURES, MODEL, now=NOW).column("timestamp").to_pylist()
    assert got[0].isoformat() == "2026-03-01T12:00:00.500000+00:00"
    for wrong in (1_772_366_400_000, 1_772_366_400_000_000_000):  # epoch ms, epoch ns
        frame = flat([record(0, timestamp=wrong)])
        with pytest.raises(ValidationFailed, match="epoch milliseconds"):
            prediction_frame(frame, FEATURES, MODEL, now=NOW)


def test_booleans_stand_for_binary_labels_and_classes() -> None:
    records = [record(0, prediction=True), record(1, prediction=False)]
    a, b = both(records)
    assert a.column("prediction").to_pylist() == b.column("prediction").to_pylist() == [1.0, 0.0]
    labels = [{"prediction_id": "p0", "label": True}, {"prediction_id": "p1", "label": False}]
    assert [r["label"] for r in label_records(labels, MODEL, now=NOW)] == [1.0, 0.0]
    frame = label_frame(pd.DataFrame(labels), MODEL, now=NOW)
    assert frame.column("label").to_pylist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([{"label": 1}], "give prediction_id, or entity_id and the prediction's timestamp"),
        (
            [{"prediction_id": None, "entity_id": "c1", "label": 1}],
            "give prediction_id, or entity_id and the prediction's timestamp",
        ),
        ([{"prediction_id": "", "label": 1}], "expected non-empty text"),
        ([{"prediction_id": "p", "label": 0.5}], "label: expected 0 or 1"),
        ([{"prediction_id": "p", "label": 1}, {"prediction_id": "p", "label": 0}], "duplicate"),
    ],
)
def test_bad_labels_are_refused(labels, message) -> None:
    with pytest.raises(ValidationFailed, match=message):
        label_records(labels, MODEL, now=NOW)
    frame = pd.DataFrame(labels)
    with pytest.raises(
        ValidationFailed,
        match=message.split(":")[0] if "duplicate" not in message else "more than once",
    ):
        label_frame(frame, MODEL, now=NOW)


def test_large_frames_validate_fast() -> None:
    import time

    n = 200_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n).astype(float),
            "plan": rng.choice(["basic", "premium"], n),
            "autopay": rng.random(n) < 0.5,
            "score": rng.random(n),
            "prediction_id": [f"id{i}" for i in range(n)],
        }
    )
    start = time.perf_counter()
    table = prediction_frame(frame, FEATURES, MODEL, now=NOW)
    assert table.num_rows == n
    assert time.perf_counter() - start < 2.0
