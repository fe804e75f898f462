"""Bernoulli CUSUM of complications, one chart per operator.

Steiner SH, Cook RJ, Farewell VT, Treasure T. Monitoring surgical performance using
risk-adjusted cumulative sum charts. Biostatistics 2000;1(4):441-52,
doi:10.1093/biostatistics/1.4.441. For case t with predicted risk p_t and outcome y_t
(1 = complication), testing an odds ratio R_A against 1, the log-likelihood-ratio weight is

    W_t = y_t ln(R_A) - ln(1 - p_t + R_A p_t)

and the chart is X_t = max(0, X_{t-1} + W_t), signalling when X_t >= h.

Not risk-adjusted here: no validated model of complication risk for thermal ablation of bone
or spine exists in Thermablate's sources, and the registry does not hold the case-mix
variables one would need; so every case gets the same acceptable risk p_t = p0 (the
function takes per-case risks, so a model can be plugged in later). The defaults are a local
choice the governance committee should set: p0 = 10 % of procedures with any adverse event,
alarm at a doubling of the odds (R_A = 2, as in Steiner et al.'s example) and h = 4.5 (their
decision limit). A signal means "look at these cases now", not "this operator is unsafe".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ACCEPTABLE_RATE = 0.10
ODDS_RATIO_TO_DETECT = 2.0
DECISION_LIMIT = 4.5


@dataclass(frozen=True)
class CusumChart:
    unit: str
    values: np.ndarray  # X_t after each case, in order
    outcomes: np.ndarray  # y_t
    limit: float
    signalled_at: int | None  # 1-based case number of the first signal

    @property
    def cases(self) -> int:
        return len(self.values)


def bernoulli_cusum(
    outcomes: Sequence[int],
    risks: Sequence[float] | float = ACCEPTABLE_RATE,
    odds_ratio: float = ODDS_RATIO_TO_DETECT,
    limit: float = DECISION_LIMIT,
    unit: str = "",
) -> CusumChart:
    y = np.asarray(outcomes, dtype=float)
    p = np.broadcast_to(np.asarray(risks, dtype=float), y.shape)
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("risks must be strictly between 0 and 1")
    weights = y * math.log(odds_ratio) - np.log(1 - p + odds_ratio * p)
    values = np.empty_like(weights)
    level = 0.0
    signalled_at = None
    for index, weight in enumerate(weights):
        level = max(0.0, level + weight)
        values[index] = level
        if signalled_at is None and level >= limit:
            signalled_at = index + 1
    return CusumChart(unit, values, y.astype(int), limit, signalled_at)


def cusum_by_operator(
    procedures: pd.DataFrame,
    operators: pd.DataFrame,
    complications: pd.Series,
    **parameters,
) -> list[CusumChart]:
    """One chart per operator over their cases in date order (a case counts for each operator)."""
    cases = operators.merge(
        procedures[["procedure_id", "procedure_date"]], on="procedure_id"
    ).sort_values(["operator_name", "procedure_date", "procedure_id"])
    cases["complication"] = complications.reindex(cases.procedure_id).to_numpy()
    return [
        bernoulli_cusum(group.complication.to_numpy(), unit=str(name), **parameters)
        for name, group in cases.groupby("operator_name", sort=True)
    ]
