"""Data-quality values of one feature in one window, and the issues they raise.

Shares are fractions of the window's rows (null, non-finite, type errors) or of its valid
values (out of range, unseen). Issues are plain sentences, raised when a share passes the
limits in the ``quality`` section of driftpilot.yaml.
"""

from __future__ import annotations

from typing import Any

from driftpilot.config import QualityConfig
from driftpilot.engine.windows import CategoricalCounts, NumericCounts
from driftpilot.profile.model import CategoricalProfile, NumericProfile

__all__ = ["categorical_quality", "numeric_quality"]


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def _pct(value: float) -> str:
    return f"{100 * value:.3g}%"


def _nulls(
    reference_nulls: int,
    reference_rows: int,
    nulls: int,
    rows: int,
    limits: QualityConfig,
    issues: list[str],
) -> dict[str, float]:
    before, now = _share(reference_nulls, reference_rows), _share(nulls, rows)
    if rows and nulls == rows:
        issues.append("every value is missing")
    elif now - before > limits.max_null_share_increase:
        issues.append(f"missing values rose from {_pct(before)} to {_pct(now)}")
    return {
        "null_share_reference": before,
        "null_share_current": now,
        "null_share_change": now - before,
    }


def numeric_quality(
    reference: NumericProfile, counts: NumericCounts, limits: QualityConfig
) -> dict[str, Any]:
    issues: list[str] = []
    values: dict[str, Any] = {"rows_current": counts.rows}
    values.update(
        _nulls(reference.nulls, reference.rows, counts.nulls, counts.rows, limits, issues)
    )
    nonfinite_ref = _share(reference.nan + reference.pos_inf + reference.neg_inf, reference.rows)
    nonfinite = _share(counts.nan + counts.pos_inf + counts.neg_inf, counts.rows)
    type_errors = _share(counts.type_errors, counts.rows)
    valid = counts.valid
    below, above = _share(counts.counts[0], valid), _share(counts.counts[-1], valid)
    mean = std = None
    if valid:
        centred = counts.total / valid
        mean = reference.grid.center + centred
        std = max(counts.total_squares / valid - centred**2, 0.0) ** 0.5
    values.update(
        nonfinite_share_reference=nonfinite_ref,
        nonfinite_share_current=nonfinite,
        type_error_share=type_errors,
        out_of_range_share=below + above,
        below_range_share=below,
        above_range_share=above,
        mean_reference=reference.mean,
        mean_current=mean,
        std_reference=reference.std,
        std_current=std,
    )
    if type_errors > limits.max_type_error_share:
        issues.append(f"{_pct(type_errors)} of values are not numbers")
    if nonfinite - nonfinite_ref > limits.max_nonfinite_share:
        issues.append(f"{_pct(nonfinite)} of values are NaN or infinite")
    if below + above > limits.max_out_of_range_share:
        issues.append(
            f"{_pct(below + above)} of values are outside the reference range "
            f"[{reference.min:.6g}, {reference.max:.6g}]"
        )
    values["issues"] = issues
    return values


def categorical_quality(
    reference: CategoricalProfile, counts: CategoricalCounts, limits: QualityConfig
) -> dict[str, Any]:
    issues: list[str] = []
    values: dict[str, Any] = {"rows_current": counts.rows}
    values.update(
        _nulls(reference.nulls, reference.rows, counts.nulls, counts.rows, limits, issues)
    )
    unseen = _share(counts.counts[-1], counts.valid) if counts.unseen_known else None
    values["unseen_share"] = unseen
    if counts.unseen_examples:
        values["unseen_examples"] = [[value, n] for value, n in counts.unseen_examples]
    if unseen is not None and unseen > limits.max_unseen_share:
        named = ", ".join(repr(v) for v, _ in counts.unseen_examples[:3])
        issues.append(
            f"{_pct(unseen)} of values are categories the reference never had"
            + (f" ({named}{', …' if len(counts.unseen_examples) > 3 else ''})" if named else "")
        )
    values["issues"] = issues
    return values
