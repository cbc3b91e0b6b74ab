"""The reference profile: a versioned JSON summary from which every statistic can be computed.

A profile holds, per feature, exactly what the drift statistics need from the reference (bin
counts, value sums, categories, moments, data-quality counts, calibrated thresholds), so a
later window is compared without reloading the reference data. The file format is
``{"format": "driftpilot.profile", "version": 1, ...}``; a reader refuses versions it does not
know instead of guessing.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from driftpilot.errors import ProfileError
from driftpilot.profile.grid import Grid

__all__ = [
    "FORMAT",
    "VERSION",
    "Calibration",
    "CategoricalProfile",
    "FeatureProfile",
    "IsotonicMap",
    "MetricSpread",
    "NumericBins",
    "NumericProfile",
    "Profile",
    "ReferencePerformance",
    "StatisticCalibration",
]

FORMAT: Final = "driftpilot.profile"
VERSION: Final = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatisticCalibration(_Model):
    mean: float
    std: float


class Calibration(_Model):
    """Statistics of reference chunks against the whole reference."""

    method: Literal["time", "random"]
    chunks: int
    chunk_rows: int
    statistics: dict[str, StatisticCalibration]


class NumericBins(_Model):
    """The fine quantile grid: bin ``i`` holds grid cells ``[cells[i], cells[i+1])``.

    ``edges`` are the bin edges as values (``edges[0]`` is the reference minimum and
    ``edges[-1]`` the maximum); ``sums`` are per-bin sums of ``x − grid.center``.
    """

    cells: list[int]
    edges: list[float]
    counts: list[int]
    sums: list[float]


class NumericProfile(_Model):
    type: Literal["numeric"] = "numeric"
    rows: int
    nulls: int
    nan: int
    pos_inf: int
    neg_inf: int
    type_errors: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    grid: Grid
    bins: NumericBins | None
    calibration: Calibration | None

    @property
    def valid(self) -> int:
        """Finite values counted in the bins."""
        return sum(self.bins.counts) if self.bins else 0


class CategoricalProfile(_Model):
    """Top categories by count, an "other" bucket for the rest, and nulls.

    ``other_categories`` names the categories in the other bucket (all of them unless
    ``other_truncated``), so a later window can tell a rare known category from an unseen one.
    """

    type: Literal["categorical", "boolean"]
    rows: int
    nulls: int
    categories: list[str]
    counts: list[int]
    other_count: int
    other_categories: list[str]
    other_truncated: bool
    distinct: int
    numbers: bool = False  # the reference held numbers (their canonical text is compared)
    calibration: Calibration | None

    @property
    def valid(self) -> int:
        return sum(self.counts) + self.other_count


FeatureProfile = Annotated[NumericProfile | CategoricalProfile, Field(discriminator="type")]


class IsotonicMap(_Model):
    """A monotone map from score to P(label = 1): linear between the points (x, y)."""

    x: list[float]
    y: list[float]


class MetricSpread(_Model):
    mean: float
    std: float


class ReferencePerformance(_Model):
    """The model's performance on the reference: overall, its spread over chunks (for the
    estimate's standard error and alert thresholds) and the score calibration for CBPE."""

    task: Literal["binary", "regression"]
    labeled: int
    metrics: dict[str, float | None]
    chunks: dict[str, MetricSpread]
    chunk_rows: int
    calibration: IsotonicMap | None = None
    score_bins: int = 1000
    label_mean: float | None = None  # regression: where error sums are centred
    # regression: the 85th percentile of absolute errors; the detectors count errors above it
    large_error: float | None = None
    skipped: int = 0  # reference rows without a score or a label, left out


class ColumnRoles(_Model):
    id: list[str] = Field(default_factory=list)
    timestamp: str | None = None
    target: str | None = None
    prediction: str | None = None


class Profile(_Model):
    format: Literal["driftpilot.profile"] = FORMAT
    version: Literal[1] = VERSION
    created_at: datetime
    driftpilot_version: str
    source: str
    rows: int
    columns: ColumnRoles
    bins: int
    max_categories: int
    features: dict[str, FeatureProfile]
    outputs: dict[str, FeatureProfile] = Field(
        default_factory=dict, description="The model's score and the label, for their drift"
    )
    performance: ReferencePerformance | None = None
    excluded: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON (atomically: a reader never sees half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile file; a missing, malformed or newer-version file is a ProfileError."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProfileError(
                f"profile file {str(path)!r} does not exist",
                hint="create one with `driftpilot profile DATA --output FILE`",
            ) from None
        except (OSError, ValueError) as exc:
            raise ProfileError(f"cannot read profile {str(path)!r}: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: object, *, source: str = "profile") -> Profile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProfileError(
                f'{source} is not a driftpilot profile: expected "format": "{FORMAT}", '
                f"got {data.get('format') if isinstance(data, dict) else type(data).__name__!r}"
            )
        if data.get("version") != VERSION:
            raise ProfileError(
                f"{source} is profile format version {data.get('version')!r}; this driftpilot "
                f"reads version {VERSION}",
                hint="re-create the profile with this release, or upgrade driftpilot",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProfileError(f"{source} is malformed at {where}: {first['msg']}") from None
