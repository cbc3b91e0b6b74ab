"""Reading prediction and label files for ``driftpilot ingest``: parquet, CSV, JSON lines.

Parquet and CSV become Arrow tables (features as columns); JSON lines become records (each line
one object, features nested under ``features`` or as top-level keys). Large files are read in
batches, each validated and committed on its own; re-running an interrupted ingestion is safe
because prediction ids make re-sent rows count once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from driftpilot.errors import SourceError
from driftpilot.schema import FeatureType

__all__ = ["BATCH_ROWS", "read_batches"]

BATCH_ROWS = 1_000_000


def read_batches(
    path: str | Path, features: Mapping[str, FeatureType] | None = None
) -> Iterator[Any]:
    """Batches of ``path`` (Arrow tables, or lists of records for JSON lines)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no such file: {str(path)!r}")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            yield from _parquet(path)
        elif name.endswith((".csv", ".csv.gz", ".tsv")):
            yield from _csv(path, features or {}, "\t" if name.endswith(".tsv") else ",")
        elif name.endswith((".jsonl", ".ndjson", ".json")):
            yield from _jsonl(path, features or {})
        else:
            raise SourceError(
                f"cannot tell the format of {str(path)!r}: expected .parquet, .csv, .tsv or .jsonl",
                hint="rename the file or convert it",
            )
    except (OSError, ValueError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise SourceError(f"cannot read {str(path)!r}: {exc}") from exc


def _parquet(path: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        yield pa.Table.from_batches([batch])


def _csv(path: Path, features: Mapping[str, FeatureType], delimiter: str) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # categorical features and ids stay text even when they look like numbers
    text = {name for name, kind in features.items() if kind is FeatureType.CATEGORICAL}
    text |= {"prediction_id", "entity_id", "model_version", "model_name", "route"}
    header = pcsv.open_csv(path, parse_options=pcsv.ParseOptions(delimiter=delimiter)).schema.names
    options = pcsv.ConvertOptions(column_types={c: pa.string() for c in header if c in text})
    reader = pcsv.open_csv(
        path, parse_options=pcsv.ParseOptions(delimiter=delimiter), convert_options=options
    )
    for batch in reader:
        yield pa.Table.from_batches([batch])


def _jsonl(path: Path, features: Mapping[str, FeatureType]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise SourceError(f"{path.name} line {number} is not valid JSON: {exc}") from None
            if isinstance(record, dict) and "features" not in record and features:
                record = _nest(record, features)
            batch.append(record)
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    if batch:
        yield batch


def _nest(record: dict[str, Any], features: Mapping[str, FeatureType]) -> dict[str, Any]:
    """A flat record (features as top-level keys) in the nested form the validator reads."""
    nested = {k: v for k, v in record.items() if k not in features}
    nested["features"] = {k: v for k, v in record.items() if k in features}
    return nested
