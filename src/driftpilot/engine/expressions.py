"""The Ibis expressions behind every window statistic.

Two queries summarise any table, window or segment: rows per numeric grid cell (with value
sums, and the minimum and maximum when profiling the reference) and rows per category. Each is
a UNION ALL of one GROUP BY per feature, written once here and run unchanged by DuckDB or
Spark. Only counts and sums leave the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftpilot.errors import SchemaError
from driftpilot.profile.grid import CODES, HALF, SUB, Z_CLIP, Grid
from driftpilot.schema import zoned_nanoseconds

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "CategorySpec",
    "NumericSpec",
    "category_counts",
    "category_ranked",
    "category_value",
    "cell_expression",
    "numeric_cell_counts",
    "numeric_value",
    "parse_number",
    "utc_time",
]


MAX_FINITE = 1.7976931348623157e308
INTEGRAL_LIMIT = 1e15  # integral floats below this print as integers
TRUE_TEXT = ["true", "t", "yes", "y", "1"]
FALSE_TEXT = ["false", "f", "no", "n", "0"]


def numeric_value(
    column: ir.Column, kind: str, name: str
) -> tuple[ir.FloatingValue, ir.BooleanValue | None]:
    """The column as float64, and (for text) a flag for values that are not numbers."""
    if kind in ("numeric", "boolean", "null"):
        return column.cast("float64"), None
    if kind == "string":
        value = parse_number(column)
        return value, column.notnull() & value.isnull()
    raise SchemaError(
        f"feature {name!r} is numeric in the reference but the data holds {column.type()}",
        hint="cast the column to a number, or declare the feature in columns.types",
    )


def parse_number(column: ir.StringValue) -> ir.FloatingValue:
    """Text as a number, NULL where it is not one; surrounding blanks are ignored.

    (The trim also keeps DuckDB from pushing the cast into its CSV reader, which would then
    fail on the first value that is not a number instead of yielding NULL.)
    """
    return column.strip().try_cast("float64")


def utc_time(column: ir.Column) -> ir.TimestampValue:
    """A time column as UTC wall-clock time: text with offsets and zoned times are converted,
    naive times are taken as UTC (engines run with their session time zone set to UTC)."""
    dtype = column.type()
    if dtype.is_string() or zoned_nanoseconds(dtype):
        return column.cast("timestamp('UTC')").cast("timestamp")
    if dtype.is_timestamp() and dtype.timezone is not None:
        return column.cast("timestamp")
    return column.cast("timestamp")


def category_value(
    column: ir.Column, kind: str, name: str, *, boolean: bool = False, numbers: bool = False
) -> ir.StringValue:
    """The column as category text.

    Numbers become one canonical text (``3`` for 3 and 3.0, ``1.5`` for 1.5), so a float
    reference matches an integer or CSV window. With ``numbers`` (the reference held numbers),
    text that reads as a number is canonicalised the same way. For a boolean feature, text
    spellings (True, FALSE, yes, no, t, f, 1, 0) and the numbers 1 and 0 become
    'true'/'false', so a CSV file matches a parquet reference.
    """
    import ibis

    if boolean and kind == "string":
        text = column.strip().lower()
        return ibis.cases(
            (text.isin(TRUE_TEXT), "true"), (text.isin(FALSE_TEXT), "false"), else_=column
        )
    if boolean and kind == "numeric":
        return ibis.cases((column == 1, "true"), (column == 0, "false"), else_=_number_text(column))
    if kind == "numeric":
        return _number_text(column)
    if kind == "string":
        if not numbers:
            return column
        parsed = parse_number(column)
        return ibis.cases((parsed.notnull(), _number_text(parsed)), else_=column)
    if kind in ("boolean", "null"):
        return column.cast("string")
    raise SchemaError(
        f"feature {name!r} is categorical in the reference but the data holds {column.type()}",
        hint="cast the column to text, or exclude it in driftpilot.yaml",
    )


def _number_text(column: ir.NumericValue) -> ir.StringValue:
    """Integral values without a fraction (both engines agree on those); others as cast."""
    import ibis

    value = column.cast("float64")
    integral = (value == value.floor()) & (value.abs() < INTEGRAL_LIMIT)
    return ibis.cases((integral, value.cast("int64").cast("string")), else_=value.cast("string"))


def cell_expression(
    x: ir.FloatingValue,
    grid: Grid,
    *,
    missing: ir.BooleanValue,
    type_error: ir.BooleanValue | None = None,
    low: float | None = None,
    high: float | None = None,
) -> ir.IntegerValue:
    """The encoded grid cell of ``x`` as an int64, or a code from :data:`CODES`; NULL when missing.

    With ``low``/``high`` (the reference range), values outside it get the UNDER/OVER codes so
    that out-of-range shares are exact. The first branch takes the common case (a finite value
    in range) with a single test; every branch is safe to evaluate on every row.
    """
    import ibis

    base = _base_cell(x, grid)
    cell: Any = base * SUB + HALF
    if grid.refinements:
        refined = [
            (
                base == parent,
                parent * SUB
                + HALF
                + ibis.greatest(ibis.least(_base_cell(x, sub), HALF - 1), -HALF),
            )
            for parent, sub in sorted(grid.refinements.items())
        ]
        cell = ibis.cases(*refined, else_=cell)
    ranged = low is not None and high is not None
    # NaN and ±inf fail the first test in DuckDB and Spark alike (NaN compares greatest there).
    # NaN is tested before missing values: Ibis on Spark counts NaN as null in isnull().
    inside = x.between(low, high) if ranged else x.abs() <= MAX_FINITE
    branches: list[tuple[Any, Any]] = [
        (inside, cell),
        (x.isnan(), CODES.NAN),
        (missing, ibis.null("int64")),
    ]
    if type_error is not None:
        branches.append((type_error, CODES.TYPE_ERROR))
    branches += [(x > MAX_FINITE, CODES.POS_INF), (x < -MAX_FINITE, CODES.NEG_INF)]
    if ranged:
        branches.append((x < low, CODES.UNDER))
    return ibis.cases(*branches, else_=CODES.OVER if ranged else CODES.NEG_INF).cast("int64")


def _base_cell(x: ir.FloatingValue, grid: Grid) -> Any:
    """The base cell, mirroring :meth:`Grid.base_cells` operation for operation."""
    import ibis

    lin = grid.linear_cells
    z = (x - grid.center) * (1.0 / grid.scale)
    log_cells = (ibis.least(z.abs(), Z_CLIP) / grid.limit).ln() / grid.log_growth
    return ibis.cases(
        (z >= grid.limit, log_cells.floor() + lin),
        (z < -grid.limit, -lin - log_cells.ceil()),
        else_=(z * (1.0 / grid.step)).floor(),
    )


@dataclass(frozen=True)
class NumericSpec:
    name: str
    value: Any  # ir.FloatingValue
    missing: Any  # ir.BooleanValue
    type_error: Any  # ir.BooleanValue | None
    grid: Grid
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class CategorySpec:
    name: str
    value: Any  # ir.StringValue
    known: Sequence[str] | None = None  # categories kept by name; None: group by every value
    other: Sequence[str] | None = None  # known categories in the "other" bucket
    other_truncated: bool = False


def numeric_cell_counts(
    table: ir.Table, specs: Sequence[NumericSpec], keys: dict[str, Any], *, with_range: bool
) -> ir.Table:
    """Rows per (keys…, feature, cell): count, sum and sum of squares of ``x − centre``.

    ``with_range`` adds each cell's minimum and maximum (needed once, to profile the reference).
    """
    import ibis

    parts = []
    for spec in specs:
        cell = cell_expression(
            spec.value,
            spec.grid,
            missing=spec.missing,
            type_error=spec.type_error,
            low=spec.low,
            high=spec.high,
        )
        centred = spec.value - spec.grid.center
        aggregates: dict[str, Any] = {
            "n": table.count(),
            "s": centred.sum(),
            "ss": (centred * centred).sum(),
        }
        if with_range:
            aggregates.update(lo=spec.value.min(), hi=spec.value.max())
        grouped = table.group_by(**keys, cell=cell).aggregate(**aggregates)
        parts.append(grouped.mutate(feature=ibis.literal(spec.name, type="string")))
    return ibis.union(*parts)


def category_counts(
    table: ir.Table, specs: Sequence[CategorySpec], keys: dict[str, Any]
) -> ir.Table:
    """Rows per (keys…, feature, value) with their count ``n``; missing values have value NULL."""
    import ibis

    parts = []
    for spec in specs:
        grouped = table.group_by(**keys, value=spec.value).aggregate(n=table.count())
        parts.append(grouped.mutate(feature=ibis.literal(spec.name, type="string")))
    return ibis.union(*parts)


def category_ranked(
    table: ir.Table, specs: Sequence[CategorySpec], keys: dict[str, Any], *, examples: int = 5
) -> ir.Table:
    """Per (keys…, feature): the counts of every known value, NULL, and the ``examples`` most
    frequent other values, plus each group's ``total`` rows.

    The engine groups by the raw value (as cheap as a plain GROUP BY) and only the grouped rows
    are compared with the known categories, so a window full of new values still returns a
    small result: whatever is not listed is unseen, ``total`` minus what is.
    """
    import ibis

    parts = []
    for spec in specs:
        known = [*(spec.known or []), *(spec.other or [])]
        grouped = table.group_by(**keys, value=spec.value).aggregate(n=table.count())
        listed = grouped.value.isnull() | grouped.value.isin(known)
        order = [ibis.desc(listed.cast("int8")), ibis.desc(grouped.n), grouped.value]
        ranked = grouped.mutate(
            total=grouped.n.sum().over(group_by=list(keys)),
            rank=ibis.row_number().over(group_by=list(keys), order_by=order),
        )
        kept = ranked.filter(ranked["rank"] < len(known) + 1 + examples).drop("rank")
        parts.append(kept.mutate(feature=ibis.literal(spec.name, type="string")))
    return ibis.union(*parts)
