"""Model performance from sufficient statistics computed by the engine.

Binary classifiers: rows per (label, predicted class, score bin) with score sums, squared
sums and log-likelihood sums give accuracy, precision, recall and F1 exactly, ROC AUC within a
stated bound (ties inside a bin count half, as scikit-learn counts equal scores), log loss and
Brier score exactly, and a calibration table. Unlabeled rows keep their own label state, so
the same statistics feed the label-free estimate. Regression: sums of errors, absolute errors,
squared errors and relative errors give MAE, RMSE, MAPE and R² exactly.

Score bins: equal-width bins of ``1 / score_bins`` between 0.1 and 0.9, and bins evenly
spaced in log-odds below 0.1 (down to 3·10⁻⁷) and above 0.9, as wide in score as a middle bin
where they meet and narrower towards 0 and 1 (3,106 bins in all for the default 1,000). A
model whose scores crowd near 0 or 1 (a rare event: churn at 0.5 %) still has its scores
spread over hundreds of bins, so the AUC stays within 1e-3; the equal-width middle keeps the
calibration table's deciles exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from driftpilot.config import KPIConfig, KPITerm
from driftpilot.engine.results import Group

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "EPS",
    "BinaryStats",
    "RegressionStats",
    "auc",
    "bin_count",
    "binary_metrics",
    "binary_query",
    "coarse_groups",
    "kpi_values",
    "regression_metrics",
    "regression_query",
    "sum_regression",
]

EPS = float(np.finfo(np.float64).eps)  # scikit-learn's clip for log loss and MAPE
LABELS = 3  # label 0, label 1, not labeled yet
CELLS = {"tn": (0, 0), "fp": (0, 1), "fn": (1, 0), "tp": (1, 1)}


TAIL = 0.1  # below it (and above 1 − TAIL) bins are spaced in log-odds
LOGIT_SPAN = 15.0  # scores beyond logit ±15 (3·10⁻⁷ from 0 or 1) share the outermost bin


def _layout(bins: int) -> tuple[int, int, int, float]:
    """(bins per tail, first middle bin's score index, middle bins, tail width in log-odds).

    The tail width makes a bin at the middle's edge as wide in score as a middle bin, and
    bins grow narrower in score towards 0 and 1."""
    width = 1 / (bins * TAIL * (1 - TAIL))
    tails = math.ceil((LOGIT_SPAN + math.log(TAIL / (1 - TAIL))) / width)
    start = round(bins * TAIL)
    return tails, start, bins - 2 * start, width


def bin_count(bins: int) -> int:
    """Score bins in all for a ``score_bins`` setting."""
    tails, _, middle, _ = _layout(bins)
    return 2 * tails + middle


def _score_bin(score: Any, bins: int) -> Any:
    tails, start, middle, width = _layout(bins)
    floor = 1 / (1 + math.exp(LOGIT_SPAN))
    clipped = score.clip(lower=floor, upper=1 - floor)
    logit = (clipped / (1 - clipped)).ln()
    low = ((logit + LOGIT_SPAN) / width).floor().clip(lower=0, upper=tails - 1)
    edge = -math.log(TAIL / (1 - TAIL))  # logit(1 − TAIL)
    high = ((logit - edge) / width).floor().clip(lower=0, upper=tails - 1) + (tails + middle)
    mid = (score * bins).floor().clip(lower=start, upper=start + middle - 1) + (tails - start)
    return (score < TAIL).ifelse(low, (score >= 1 - TAIL).ifelse(high, mid)).cast("int32")


def coarse_groups(bins: int, coarse: int) -> NDArray[np.int64]:
    """The equal-width score range (of ``coarse``) each score bin lies in: exact for the
    middle bins, by the bin's centre in the tails (exact there too when ``coarse`` ≤ 10)."""
    tails, start, middle, width = _layout(bins)
    mid = np.minimum((np.arange(middle) + start) * coarse // bins, coarse - 1)
    steps = (np.arange(tails) + 0.5) * width
    edge = -math.log(TAIL / (1 - TAIL))
    centres = np.concatenate([-LOGIT_SPAN + steps, edge + steps])
    tail = np.floor(coarse / (1 + np.exp(-centres))).astype(np.int64)
    # a tail's last bin reaches a little past its edge: its scores are still on this side
    low = np.minimum(tail[:tails], math.ceil(coarse * TAIL) - 1)
    high = np.clip(tail[tails:], math.floor(coarse * (1 - TAIL)), coarse - 1)
    return np.concatenate([low, mid, high])


def binary_query(
    table: ir.Table, keys: dict[str, Any], *, bins: int, value_columns: Sequence[str] = ()
) -> ir.Table:
    """Rows per (keys…, label, prediction, score bin) with the sums the metrics need."""
    score = table.score
    aggregates: dict[str, Any] = {
        "n": table.count(),
        "s": score.sum(),
        "ss": (score * score).sum(),
        "lp": score.clip(lower=EPS).ln().sum(),
        "lq": (1 - score).clip(lower=EPS).ln().sum(),
    }
    for i, column in enumerate(value_columns):
        aggregates[f"v{i}"] = table[column].cast("float64").sum()
    grouped = table.group_by(
        **keys, label=table.label, prediction=table.prediction, bin=_score_bin(score, bins)
    )
    return grouped.aggregate(**aggregates)


def regression_query(table: ir.Table, keys: dict[str, Any], *, center: float) -> ir.Table:
    """Rows per (keys…, labeled) with error sums (values centred on ``center``, e.g. the
    reference's mean label, so R²'s Σ(y − ȳ)² keeps its precision)."""
    import ibis

    y, p = table.label - center, table.prediction - center
    error = table.prediction - table.label
    labeled = table.label.notnull()
    return table.group_by(**keys, labeled=labeled).aggregate(
        n=table.count(),
        sy=y.sum(),
        syy=(y * y).sum(),
        sp=p.sum(),
        spp=(p * p).sum(),
        se=error.sum(),
        sae=error.abs().sum(),
        see=(error * error).sum(),
        sape=(error.abs() / ibis.greatest(table.label.abs(), EPS)).sum(),
    )


@dataclass
class BinaryStats:
    """Arrays indexed [label state, predicted class, score bin]: label state 0, 1, or 2 (none)."""

    n: NDArray[np.float64]
    s: NDArray[np.float64]
    ss: NDArray[np.float64]
    lp: NDArray[np.float64]
    lq: NDArray[np.float64]
    values: list[NDArray[np.float64]] = field(default_factory=list)
    bins: int = 1000  # the score_bins setting the arrays were binned with

    @classmethod
    def empty(cls, bins: int, value_columns: int = 0) -> BinaryStats:
        """All zeros, for a ``score_bins`` setting of ``bins``."""
        shape = (LABELS, 2, bin_count(bins))
        return cls(
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            [np.zeros(shape) for _ in range(value_columns)],
            bins,
        )

    @classmethod
    def from_group(cls, group: Group, bins: int, value_columns: int = 0) -> BinaryStats:
        stats = cls.empty(bins, value_columns)
        label = np.where(group.nulls["label"], 2, group["label"]).astype(np.int64)
        prediction = np.where(group.nulls["prediction"], 0, group["prediction"]).astype(np.int64)
        index = (label, prediction, group["bin"].astype(np.int64))
        for name in ("n", "s", "ss", "lp", "lq"):
            np.add.at(getattr(stats, name), index, group[name].astype(np.float64))
        for i in range(value_columns):
            np.add.at(stats.values[i], index, group[f"v{i}"].astype(np.float64))
        return stats

    def zeros(self) -> BinaryStats:
        """All zeros, shaped like this."""
        zero = np.zeros_like(self.n)
        return BinaryStats(
            zero,
            zero.copy(),
            zero.copy(),
            zero.copy(),
            zero.copy(),
            [zero.copy() for _ in self.values],
            self.bins,
        )

    def __add__(self, other: BinaryStats) -> BinaryStats:
        return BinaryStats(
            self.n + other.n,
            self.s + other.s,
            self.ss + other.ss,
            self.lp + other.lp,
            self.lq + other.lq,
            [a + b for a, b in zip(self.values, other.values, strict=True)],
            self.bins,
        )

    @property
    def rows(self) -> int:
        return int(self.n.sum())

    @property
    def labeled(self) -> int:
        return int(self.n[:2].sum())


def auc(
    positives: NDArray[np.float64], negatives: NDArray[np.float64]
) -> tuple[float, float] | None:
    """ROC AUC from per-bin class counts (bins ordered by score) and its error bound.

    ``AUC = Σ_b pos_b·(neg below b + ½·neg_b) / (P·N)``: pairs in different bins are ordered
    exactly, pairs inside a bin count half. The raw-score AUC differs by at most
    ``½·Σ_b pos_b·neg_b / (P·N)``. Counts may be fractional (expected counts for CBPE).
    """
    total_pos, total_neg = float(positives.sum()), float(negatives.sum())
    if total_pos <= 0 or total_neg <= 0:
        return None
    below = np.cumsum(negatives) - negatives
    value = float(np.sum(positives * (below + 0.5 * negatives)) / (total_pos * total_neg))
    bound = float(0.5 * np.sum(positives * negatives) / (total_pos * total_neg))
    return value, bound


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def confusion_metrics(tp: float, fp: float, tn: float, fn: float) -> dict[str, float | None]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return {
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def binary_metrics(stats: BinaryStats, *, calibration_bins: int = 10) -> dict[str, Any]:
    """Realized metrics over the labeled rows (None where a metric is undefined)."""
    n = stats.n
    labeled = float(n[:2].sum())
    cells = {name: float(n[label, pred].sum()) for name, (label, pred) in CELLS.items()}
    out: dict[str, Any] = confusion_metrics(cells["tp"], cells["fp"], cells["tn"], cells["fn"])
    found = auc(n[1].sum(axis=0), n[0].sum(axis=0))
    out["roc_auc"], out["roc_auc_error_bound"] = found if found else (None, None)
    if labeled:
        out["log_loss"] = float(-(stats.lp[1].sum() + stats.lq[0].sum()) / labeled)
        brier = stats.ss[:2].sum() - 2 * stats.s[1].sum() + n[1].sum()
        out["brier"] = float(brier / labeled)
    else:
        out["log_loss"] = out["brier"] = None
    out["calibration"] = calibration_table(stats, calibration_bins)
    out["labeled"] = int(labeled)
    out["positive_rate"] = _ratio(float(n[1].sum()), labeled)
    return out


def calibration_table(stats: BinaryStats, coarse: int) -> list[dict[str, float]]:
    """Mean score and observed positive rate per equal-width score range, labeled rows only."""
    group = coarse_groups(stats.bins, coarse)
    count = np.bincount(group, weights=stats.n[:2].sum(axis=(0, 1)), minlength=coarse)
    scores = np.bincount(group, weights=stats.s[:2].sum(axis=(0, 1)), minlength=coarse)
    positives = np.bincount(group, weights=stats.n[1].sum(axis=0), minlength=coarse)
    return [
        {
            "low": i / coarse,
            "high": (i + 1) / coarse,
            "rows": float(count[i]),
            "mean_score": float(scores[i] / count[i]),
            "observed_rate": float(positives[i] / count[i]),
        }
        for i in range(coarse)
        if count[i] > 0
    ]


def kpi_values(
    kpis: dict[str, KPIConfig],
    stats: BinaryStats,
    columns: Sequence[str],
    *,
    expected: NDArray[np.float64] | None = None,
) -> dict[str, float | None]:
    """Business KPIs from confusion cells (counts, or sums of a logged value column).

    With ``expected`` (per [label, prediction, bin] expected counts), counts are estimates and
    value sums are split across cells in proportion to them.
    """

    def term(spec: KPITerm) -> float:
        total = 0.0
        for cell in spec.over:
            label, pred = CELLS[cell]
            if expected is not None:
                weights = expected[label, pred]
                if spec.count:
                    total += float(weights.sum())
                else:
                    rows = stats.n[:, pred].sum(axis=0)
                    sums = stats.values[columns.index(spec.sum or "")][:, pred].sum(axis=0)
                    share = np.divide(weights, rows, out=np.zeros_like(weights), where=rows > 0)
                    total += float(np.sum(sums * share))
            elif spec.count:
                total += float(stats.n[label, pred].sum())
            else:
                total += float(stats.values[columns.index(spec.sum or "")][label, pred].sum())
        return total

    out: dict[str, float | None] = {}
    for name, kpi in kpis.items():
        numerator = term(kpi.numerator)
        out[name] = (
            numerator if kpi.denominator is None else _ratio(numerator, term(kpi.denominator))
        )
    return out


@dataclass
class RegressionStats:
    """Sums over labeled rows (and the prediction sums over every row)."""

    rows: int
    labeled: int
    sy: float
    syy: float
    sp: float
    spp: float
    se: float
    sae: float
    see: float
    sape: float

    @classmethod
    def from_group(cls, group: Group) -> RegressionStats:
        yes = group["labeled"].astype(bool) & ~group.nulls["labeled"]

        def total(name: str, mask: Any = None) -> float:
            values = group[name].astype(np.float64)
            return float(values[mask].sum() if mask is not None else values.sum())

        return cls(
            rows=int(group["n"].sum()),
            labeled=int(group["n"][yes].sum()),
            sy=total("sy", yes),
            syy=total("syy", yes),
            sp=total("sp"),
            spp=total("spp"),
            se=total("se", yes),
            sae=total("sae", yes),
            see=total("see", yes),
            sape=total("sape", yes),
        )


def regression_metrics(stats: RegressionStats) -> dict[str, float | None]:
    n = stats.labeled
    if n == 0:
        return {"mae": None, "rmse": None, "mape": None, "r2": None, "labeled": 0}
    total = stats.syy - stats.sy * stats.sy / n  # Σ (y − ȳ)², from values centred near ȳ
    return {
        "mae": stats.sae / n,
        "rmse": float(np.sqrt(stats.see / n)),
        "mape": stats.sape / n,
        "r2": 1 - stats.see / total if total > 0 else None,
        "mean_error": stats.se / n,
        "labeled": n,
    }


def sum_regression(groups: list[RegressionStats]) -> RegressionStats:
    names = ("rows", "labeled", "sy", "syy", "sp", "spp", "se", "sae", "see", "sape")
    return RegressionStats(**{n: sum(getattr(g, n) for g in groups) for n in names})
