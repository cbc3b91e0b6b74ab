"""Query engines behind one small interface: DuckDB (default) and PySpark (scale).

The engine turns a source (a parquet or CSV file or glob, a folder of parquet files, a pandas
DataFrame, a pyarrow Table, or an Ibis table) into an Ibis table, and executes Ibis
expressions to Arrow. Every query driftpilot runs is an Ibis expression, so DuckDB and Spark
run the same one. Engines are chosen by name, as ``engine.backend`` in driftpilot.yaml.
"""

from __future__ import annotations

import glob as globbing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftpilot.errors import EngineError, SourceError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from driftpilot.config import EngineConfig

__all__ = ["BACKENDS", "Engine", "Source", "describe_source"]

Source = Any  # str | Path | Sequence[str | Path] | pandas.DataFrame | pyarrow.Table | ibis Table

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".csv.gz", ".tsv")


def _duckdb(config: EngineConfig) -> Any:
    import ibis

    kwargs = {"threads": config.threads} if config.threads else {}
    backend = ibis.duckdb.connect(**kwargs)
    backend.raw_sql("SET TimeZone = 'UTC'")  # windows and chunks are cut in UTC everywhere
    return backend


def _pyspark(config: EngineConfig) -> Any:
    import ibis
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[*]")
        .appName("driftpilot")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
    )
    for key, value in config.spark.items():
        builder = builder.config(key, value)
    return ibis.pyspark.connect(builder.getOrCreate())


BACKENDS: dict[str, Callable[[EngineConfig], Any]] = {"duckdb": _duckdb, "pyspark": _pyspark}


class Engine:
    """An Ibis backend plus the source-reading and error translation driftpilot needs."""

    def __init__(self, backend: Any, name: str) -> None:
        self.backend = backend
        self.name = name

    @classmethod
    def create(cls, config: EngineConfig | None = None) -> Engine:
        from driftpilot.config import EngineConfig

        config = config or EngineConfig()
        factory = BACKENDS.get(config.backend)
        if factory is None:
            raise EngineError(
                f"unknown engine {config.backend!r}; known engines: {', '.join(BACKENDS)}",
                field="engine.backend",
            )
        try:
            return cls(factory(config), config.backend)
        except ImportError as exc:
            raise EngineError(
                f"the {config.backend} engine needs a package that is not installed ({exc.name})",
                hint="install driftpilot with the 'spark' extra for pyspark",
            ) from exc

    def table(self, source: Source, *, csv_all_text: bool = False) -> ir.Table:
        """Open ``source`` as an Ibis table on this engine."""
        import ibis
        import ibis.expr.types as ir

        if isinstance(source, ir.Table):
            return source
        if _is_frame(source):
            return self.backend.create_view(
                _unique_name(), ibis.memtable(_arrow(source)), overwrite=True
            )
        if isinstance(source, (str, Path)) and (Path(source) / "_delta_log").is_dir():
            return self.delta(source)
        paths = _resolve_paths(source)
        suffix = _suffix(paths[0])
        if any(_suffix(p) != suffix for p in paths):
            raise SourceError(
                f"{describe_source(source)} mixes file formats; give one format at a time"
            )
        try:
            if suffix in PARQUET:
                return self._read_parquet(paths)
            return self._read_csv(paths, suffix, all_text=csv_all_text)
        except Exception as exc:  # the engines raise many types; all mean "cannot read it"
            raise SourceError(
                f"cannot read {describe_source(source)}: {_first_line(exc)}",
                hint="check that the files are complete and of the format their names say",
            ) from exc

    def delta(self, path: str | Path) -> ir.Table:
        """A Delta Lake table's current version (files an overwrite replaced are not read)."""
        from deltalake import DeltaTable

        try:
            table = DeltaTable(str(path))
        except Exception as exc:
            raise SourceError(
                f"cannot open the Delta table at {str(path)!r}: {_first_line(exc)}"
            ) from exc
        if self.name == "pyspark":
            uris = table.file_uris()
            if not uris:
                raise SourceError(f"the Delta table at {str(path)!r} holds no data yet")
            return self._read_parquet(uris)
        name = _unique_name()
        self.backend.con.register(name, table.to_pyarrow_dataset())
        return self.backend.table(name)

    def materialize(self, table: ir.Table) -> ir.Table:
        """Compute ``table`` once and keep the result for the queries that follow.

        (Ibis's own ``cache()`` leaves a DROP statement DuckDB 2 cannot parse.)
        """
        name = _unique_name()
        if self.name == "pyspark":
            frame = self.backend._session.sql(self.backend.compile(table)).cache()
            frame.createOrReplaceTempView(name)
        else:
            self.backend.con.execute(f'CREATE TEMP TABLE "{name}" AS {self.backend.compile(table)}')
        return self.backend.table(name)

    def sample(self, table: ir.Table, fraction: float, seed: int) -> ir.Table:
        """A seeded random sample of about ``fraction`` of the rows, whatever their order.

        DuckDB samples whole vectors; Ibis cannot seed Spark's sampler, so Spark's own is used.
        """
        if self.name == "pyspark":
            frame = self.backend._session.sql(self.backend.compile(table))
            name = _unique_name()
            frame.sample(
                withReplacement=False, fraction=fraction, seed=seed
            ).createOrReplaceTempView(name)
            return self.backend.table(name)
        return table.sample(fraction, method="block", seed=seed)

    def _read_parquet(self, paths: list[str]) -> ir.Table:
        """Files whose columns differ are read together, missing columns as nulls."""
        if self.name == "pyspark":
            frame = self.backend._session.read.parquet(*paths, mergeSchema="true")
            name = _unique_name()
            frame.createOrReplaceTempView(name)
            return self.backend.table(name)
        return self.backend.read_parquet(paths if len(paths) > 1 else paths[0], union_by_name=True)

    def _read_csv(self, paths: list[str], suffix: str, *, all_text: bool) -> ir.Table:
        target = paths if len(paths) > 1 else paths[0]
        options: dict[str, Any]
        if self.name == "pyspark":
            options = {"header": True, "inferSchema": not all_text}
            if suffix == ".tsv":
                options["sep"] = "\t"
        else:
            options = {"sample_size": -1, "union_by_name": True}  # sniff every row
            if suffix == ".tsv":
                options["delim"] = "\t"
            if all_text:
                options["all_varchar"] = True
        return self.backend.read_csv(target, **options)

    def execute(self, expr: ir.Expr) -> pa.Table:
        """Run an expression and return Arrow; engine failures become :class:`EngineError`."""
        try:
            return expr.to_pyarrow()
        except Exception as exc:
            raise EngineError(
                f"the {self.name} engine failed: {_first_line(exc)}",
                hint="check that the files are readable and not being rewritten; the full error "
                "is chained to this one",
            ) from exc


def describe_source(source: Source) -> str:
    if isinstance(source, (str, Path)):
        return repr(str(source))
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        return f"{len(source)} files"
    return type(source).__name__


def _is_frame(source: Source) -> bool:
    module = type(source).__module__
    return module.startswith(("pandas", "pyarrow", "polars"))


def _arrow(frame: Any) -> Any:
    """pandas frames go through Arrow themselves: ibis would cut nanosecond timestamps to µs.

    A column of mixed Python objects (numbers with a stray 'n/a', text with a stray number)
    becomes text, so a numeric feature counts the text as type errors instead of failing.
    Zoned nanosecond times become UTC wall-clock nanoseconds (naive times are UTC to the
    engines): ibis has no type for DuckDB's zoned nanosecond timestamps.
    """
    if not type(frame).__module__.startswith("pandas"):
        return frame
    import pyarrow as pa

    try:
        return _naive_ns(pa.Table.from_pandas(frame, preserve_index=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        fixed = frame.copy()
        for name in fixed.columns:
            column = fixed[name]
            if column.dtype == object:
                fixed[name] = column.map(lambda v: None if _missing(v) else str(v)).astype("string")
        try:
            return _naive_ns(pa.Table.from_pandas(fixed, preserve_index=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise SourceError(
                f"cannot convert the data frame to columns: {exc}", hint="give each column one type"
            ) from exc


def _naive_ns(table: Any) -> Any:
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_timestamp(kind) and kind.tz is not None and kind.unit == "ns":
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("ns")))
    return table


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _suffix(path: str) -> str:
    lower = path.lower()
    for suffix in (*PARQUET, *CSV):
        if lower.endswith(suffix):
            return suffix
    raise SourceError(
        f"cannot tell the format of {path!r}: expected a file ending in {', '.join(PARQUET + CSV)}",
        hint="rename the file or convert it to parquet",
    )


def _resolve_paths(source: Source) -> list[str]:
    items = [source] if isinstance(source, (str, Path)) else list(source)
    paths: list[str] = []
    for item in items:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matched = sorted(globbing.glob(text, recursive=True))
            if not matched:
                raise SourceError(f"the pattern {text!r} matches no file")
            paths.extend(matched)
        elif Path(text).is_dir():
            found = sorted(str(p) for p in Path(text).rglob("*") if p.suffix in (".parquet", ".pq"))
            if not found:
                raise SourceError(f"the folder {text!r} holds no parquet files")
            paths.extend(found)
        elif Path(text).is_file():
            paths.append(text)
        else:
            raise SourceError(f"no such file: {text!r}", hint="check the path, or quote a glob")
    if not paths:
        raise SourceError("no input files were given")
    return paths


_counter = [0]


def _unique_name() -> str:
    _counter[0] += 1
    return f"driftpilot_frame_{_counter[0]}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]
