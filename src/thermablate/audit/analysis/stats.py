"""Confidence intervals used throughout the audit.

- Proportions: the Wilson score interval (Wilson EB. Probable inference, the law of
  succession, and statistical inference. J Am Stat Assoc 1927;22(158):209-212,
  doi:10.1080/01621459.1927.10502953), which keeps its coverage for the small counts and
  rates near 0 that adverse events give, unlike the normal ("Wald") interval.
- Mean of paired changes: Student's t interval (mean +/- t(n-1) x SD / sqrt(n)).
- Median of paired changes: the distribution-free order-statistic interval based on the
  sign test (Conover WJ. Practical Nonparametric Statistics, 3rd ed. Wiley 1999, section 3.2;
  Altman DG et al. Statistics with Confidence, 2nd ed. BMJ Books 2000, ch. 5): the interval
  [x(k), x(n-k+1)] of the sorted changes, with k the largest rank such that
  P(Binomial(n, 1/2) <= k-1) <= alpha/2. Its actual coverage is at least 95 % and is reported.
  No bootstrap, so the figures are exactly reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Proportion:
    count: int
    total: int
    low: float | None
    high: float | None

    @property
    def share(self) -> float | None:
        return self.count / self.total if self.total else None


def wilson_interval(count: int, total: int, confidence: float = CONFIDENCE) -> Proportion:
    """Wilson score interval for count/total; (None, None) bounds when total is 0."""
    if total < 0 or count < 0 or count > total:
        raise ValueError(f"need 0 <= count <= total, got {count}/{total}")
    if total == 0:
        return Proportion(count, total, None, None)
    z = sps.norm.ppf(0.5 + confidence / 2)
    p = count / total
    denominator = 1 + z**2 / total
    centre = (p + z**2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z**2 / (4 * total**2)) / denominator
    return Proportion(count, total, float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval; bounds are None when n is too small."""

    n: int
    value: float | None
    low: float | None
    high: float | None
    coverage: float | None = None  # achieved coverage, for the order-statistic interval


def mean_with_t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return Estimate(0, None, None, None)
    mean = float(data.mean())
    if n < 2:
        return Estimate(n, mean, None, None)
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1) * data.std(ddof=1) / math.sqrt(n))
    return Estimate(n, mean, mean - half, mean + half)


def median_with_order_statistic_interval(
    values: Sequence[float], confidence: float = CONFIDENCE
) -> Estimate:
    """Median and its sign-test (order-statistic) interval; bounds None when n < 6.

    With n <= 5 even the widest interval [min, max] covers the median with probability
    1 - 2 x 0.5**n < 95 %, so no 95 % interval exists.
    """
    data = np.sort(np.asarray(values, dtype=float))
    n = len(data)
    if n == 0:
        return Estimate(0, None, None, None)
    median = float(np.median(data))
    alpha = 1 - confidence
    # Largest k with P(B <= k - 1) <= alpha / 2, B ~ Binomial(n, 1/2).
    k = int(sps.binom.ppf(alpha / 2, n, 0.5))
    while k > 0 and sps.binom.cdf(k - 1, n, 0.5) > alpha / 2:
        k -= 1
    while sps.binom.cdf(k, n, 0.5) <= alpha / 2:
        k += 1
    if k < 1:
        return Estimate(n, median, None, None)
    coverage = float(1 - 2 * sps.binom.cdf(k - 1, n, 0.5))
    return Estimate(n, median, float(data[k - 1]), float(data[n - k]), coverage)
