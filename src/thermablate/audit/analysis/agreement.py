"""Agreement of two measurements of the same quantity: Bland and Altman's mean difference and
95 % limits of agreement.

[BA86] Bland JM, Altman DG. Statistical methods for assessing agreement between two methods of
    clinical measurement. Lancet 1986;1(8476):307-310. doi:10.1016/S0140-6736(86)90837-8
    (its worked example draws the limits at the mean difference +- 2 SD).
[BA99] Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods
    Med Res 1999;8(2):135-160. doi:10.1177/096228029900800204 (limits at +- 1.96 SD of the
    differences, as here; the mean difference's confidence interval from the t distribution).

The audit compares the ablation zone a plan predicted with the zone measured on post-procedure
imaging: difference = measured - predicted, so a positive mean says the plans under-predict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Agreement:
    n: int
    mean_difference: float | None
    sd: float | None
    lower_limit: float | None
    upper_limit: float | None
    mean_ci: tuple[float, float] | None
    """95 % confidence interval of the mean difference (t distribution, n - 1 df)."""

    @property
    def enough(self) -> bool:
        return self.sd is not None


def bland_altman(pairs: list[tuple[float, float]]) -> Agreement:
    """Agreement of (predicted, measured) pairs; differences are measured - predicted. With
    fewer than two pairs there is no spread, so no limits."""
    differences = [m - p for p, m in pairs]
    n = len(differences)
    if n == 0:
        return Agreement(0, None, None, None, None, None)
    mean = sum(differences) / n
    if n < 2:
        return Agreement(n, mean, None, None, None, None)
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return Agreement(n, mean, sd, mean - 1.96 * sd, mean + 1.96 * sd, (mean - half, mean + half))
