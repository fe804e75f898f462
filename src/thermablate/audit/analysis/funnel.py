"""Funnel plot of complication rates across units (operators or sites).

Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24(8):1185-1202, doi:10.1002/sim.1970. Exact binomial control limits around the overall
rate p0 for a unit with n cases, at 95 % (2 SD) and 99.8 % (3 SD) two-sided, smoothed by the
interpolation of his Appendix A.1.1: for the quantile probability q, r_q is the smallest r
with P(R <= r) >= q, alpha = (P(R <= r_q) - q) / (P(R <= r_q) - P(R <= r_q - 1)), and the limit
is (r_q - alpha) / n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVELS = {"95%": 0.95, "99.8%": 0.998}


def binomial_limit(n, target: float, q: float):
    """The q-quantile of Binomial(n, target) / n, interpolated (Spiegelhalter 2005, A.1.1).

    ``n`` may be a number or an array of numbers (one limit each).
    """
    cases = np.asarray(n, dtype=float)
    if np.any(cases <= 0):
        raise ValueError("n must be positive")
    r = sps.binom.ppf(q, cases, target)
    upper_cdf = sps.binom.cdf(r, cases, target)
    lower_cdf = np.where(r > 0, sps.binom.cdf(r - 1, cases, target), 0.0)
    step = upper_cdf - lower_cdf
    alpha = np.divide(upper_cdf - q, step, out=np.zeros_like(step), where=step > 0)
    limit = np.clip((r - alpha) / cases, 0.0, 1.0)
    return float(limit) if limit.ndim == 0 else limit


@dataclass(frozen=True)
class FunnelPoint:
    unit: str
    cases: int
    events: int
    rate: float
    verdict: str  # "within", "above 95%", "above 99.8%", "below 95%"


@dataclass(frozen=True)
class Funnel:
    target: float
    points: list[FunnelPoint]
    n_grid: np.ndarray
    limits: dict[str, tuple[np.ndarray, np.ndarray]]  # level -> (lower, upper) over n_grid


def funnel(
    units: Sequence[str], cases: Sequence[int], events: Sequence[int], target: float | None = None
) -> Funnel:
    cases_arr = np.asarray(cases, dtype=int)
    events_arr = np.asarray(events, dtype=int)
    if target is None:
        target = float(events_arr.sum() / cases_arr.sum()) if cases_arr.sum() else 0.0
    points = []
    for unit, n, x in zip(units, cases_arr, events_arr, strict=True):
        rate = x / n if n else 0.0
        verdict = "within"
        if n and 0 < target < 1:
            if rate > binomial_limit(n, target, 0.999):
                verdict = "above 99.8%"
            elif rate > binomial_limit(n, target, 0.975):
                verdict = "above 95%"
            elif rate < binomial_limit(n, target, 0.025):
                verdict = "below 95%"
        points.append(FunnelPoint(str(unit), int(n), int(x), float(rate), verdict))
    top = max(int(cases_arr.max()) if len(cases_arr) else 1, 10)
    n_grid = np.unique(np.linspace(1, top * 1.1, 120).astype(int))
    limits = {}
    if 0 < target < 1:
        for name, level in LEVELS.items():
            tail = (1 - level) / 2
            limits[name] = (
                binomial_limit(n_grid, target, tail),
                binomial_limit(n_grid, target, 1 - tail),
            )
    return Funnel(target, points, n_grid, limits)
