"""The workspace's small Delta tables: upsert by key, read back, failures named."""

import pyarrow as pa
import pytest

from driftpilot.errors import EngineError
from driftpilot.tables import read_rows, upsert_rows

SCHEMA = pa.schema([("key", pa.string()), ("value", pa.int64())])


def test_upsert_replaces_rows_with_the_same_key(tmp_path) -> None:
    path = str(tmp_path / "t")
    assert read_rows(path) == []
    upsert_rows(
        path,
        [{"key": "a", "value": 1}, {"key": "b", "value": 2}],
        SCHEMA,
        "key",
        what="t",
        hint="h",
    )
    upsert_rows(
        path,
        [{"key": "b", "value": 3}, {"key": "c", "value": 4}],
        SCHEMA,
        "key",
        what="t",
        hint="h",
    )
    upsert_rows(path, [], SCHEMA, "key", what="t", hint="h")
    rows = sorted(read_rows(path), key=lambda r: r["key"])
    assert rows == [{"key": "a", "value": 1}, {"key": "b", "value": 3}, {"key": "c", "value": 4}]
    assert sorted(r["key"] for r in read_rows(path, ["key"])) == ["a", "b", "c"]


def test_a_failed_write_names_what_was_stored(tmp_path) -> None:
    path = str(tmp_path / "t")
    upsert_rows(path, [{"key": "a", "value": 1}], SCHEMA, "key", what="decisions", hint="re-run")
    other = pa.schema([("key", pa.string()), ("value", pa.string())])
    with pytest.raises(EngineError, match=r"(?s)could not store decisions at .*; re-run"):
        upsert_rows(
            path, [{"key": "a", "value": "x"}], other, "missing", what="decisions", hint="re-run"
        )
