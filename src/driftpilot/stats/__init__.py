"""Pure statistics over bin counts (and raw arrays where noted): no IO, no engine.

Each statistic has its formula and a reference in its docstring and is checked against scipy
on raw data in the tests.
"""

from driftpilot.stats.calibration import calibrated_threshold
from driftpilot.stats.chi2 import Chi2Result, chi2_test
from driftpilot.stats.divergence import (
    hellinger,
    js_distance,
    kl_divergence,
    linf,
    psi,
    total_variation,
)
from driftpilot.stats.exact import ks_exact, wasserstein_exact
from driftpilot.stats.ks import KSResult, ks_binned, ks_pvalue
from driftpilot.stats.wasserstein import wasserstein_binned

__all__ = [
    "Chi2Result",
    "KSResult",
    "calibrated_threshold",
    "chi2_test",
    "hellinger",
    "js_distance",
    "kl_divergence",
    "ks_binned",
    "ks_exact",
    "ks_pvalue",
    "linf",
    "psi",
    "total_variation",
    "wasserstein_binned",
    "wasserstein_exact",
]
