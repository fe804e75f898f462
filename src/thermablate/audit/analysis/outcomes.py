"""The key efficacy outcomes (HTG670 3.2): pain, analgesic (opioid) use and quality of life,
as paired change from each patient's baseline at each follow-up time point.

Only procedures with both the baseline and that follow-up answered enter a time point (a
complete-case, paired analysis); how many were left out is reported beside every figure.

Measures and what counts as a clinically important improvement:

- Worst pain in the last 24 h (NRS 0-10), the primary pain end point of the international
  consensus on palliative radiotherapy of bone metastases (Chow et al. 2012, Int J Radiat
  Oncol Biol Phys 82(5):1730-7). Improvement: a fall of >= 2 points or >= 30 % (IMMPACT,
  Dworkin et al. 2008; ``thermablate.clinical.pain``); baseline 0 is not evaluable.
- Oral morphine equivalent (OME, mg/day, ``thermablate.clinical.opioids``). No minimal
  important difference for OME has been validated, so we report the share whose opioid use
  fell at all, among those taking opioids at baseline. Pairs with an analgesic the table could
  not convert are left out (their OME is a lower bound) and counted.
- EQ-5D-5L index under the default value set (``thermablate.clinical.eq5d.describe()``).
  Improvement: a rise of >= 0.074, the mean minimally important difference of the UK EQ-5D
  index (Walters SJ, Brazier JE. Qual Life Res 2005;14(6):1523-32,
  doi:10.1007/s11136-004-7713-0), which applies to the 3L values the default maps onto.
- EQ VAS (0-100, health today). Improvement: a rise of >= 7 points, the lower end of the
  minimally important differences estimated in cancer (Pickard AS, Neary MP, Cella D. Health
  Qual Life Outcomes 2007;5:70, doi:10.1186/1477-7525-5-70: 7 to 12), which its authors
  propose as the MID.
- Oswestry Disability Index (%, ``thermablate.clinical.odi``: Fairbank & Pynsent 2000,
  doi:10.1097/00007632-200011150-00017), asked after spinal procedures. Improvement: a fall of
  >= 10 points or >= 30 % of baseline, the minimal important change of the international
  consensus (Ostelo RW et al. Spine 2008;33(1):90-4, doi:10.1097/BRS.0b013e31815e3a10).
- Brief Pain Inventory severity and interference (0-10, ``thermablate.clinical.bpi``: Cleeland
  2009 user guide), where the site asks it. Severity is the mean of four 0-10 pain ratings: we
  apply the pain rule above (IMMPACT's benchmarks for a 0-10 pain rating, our choice for the
  mean of four). Interference: a fall of >= 1 point, IMMPACT's minimally important change of
  the BPI interference scale (Dworkin et al. 2008, J Pain 9(2):105-21,
  doi:10.1016/j.jpain.2007.09.005, table 1).

A score at its floor (no pain, no opioid, no disability, no interference) cannot fall: such a
baseline is not evaluable for improvement. Measures where higher is better (EQ-5D index, EQ
VAS) evaluate every pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from thermablate.audit.analysis.stats import (
    Estimate,
    Proportion,
    mean_with_t_interval,
    median_with_order_statistic_interval,
    wilson_interval,
)
from thermablate.audit.analysis.tables import FOLLOW_UP_TIMEPOINTS, TIMEPOINT_LABELS
from thermablate.clinical import pain

# Clinically important changes (sources in the module's docstring).
EQ5D_MINIMAL_IMPORTANT_DIFFERENCE = 0.074  # Walters & Brazier 2005, mean MID
EQ_VAS_MINIMAL_IMPORTANT_DIFFERENCE = 7  # Pickard et al. 2007, lower end of 7-12
ODI_MINIMAL_IMPORTANT_CHANGE = (10, 30)  # Ostelo et al. 2008: points, or per cent of baseline
BPI_INTERFERENCE_MINIMAL_IMPORTANT_CHANGE = 1  # IMMPACT, Dworkin et al. 2008, table 1
# Scores are means and ratios, index values published to 3 decimals: a change equal to a
# threshold must not miss it by a rounding error.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Measure:
    column: str
    label: str
    unit: str
    improvement_label: str
    lower_is_better: bool
    # An improvement that matters: at least this change, in the measure's unit, or at least
    # this per cent of the baseline; None: any improvement at all (no validated threshold).
    important_change: float | None = None
    important_percent: float | None = None


PAIN = Measure(
    "pain_worst",
    "Worst pain (NRS 0-10)",
    "points",
    "fall of >= 2 points or >= 30 % (IMMPACT)",
    True,
    pain.IMPORTANT_REDUCTION_POINTS,
    pain.IMPORTANT_REDUCTION_PERCENT,
)
OME = Measure(
    "ome_mg_per_day",
    "Opioid use (OME mg/day)",
    "mg/day",
    "any fall in OME, of those on opioids at baseline",
    True,
)
EQ5D = Measure(
    "eq5d_index",
    "EQ-5D-5L index",
    "index points",
    "rise of >= 0.074 (Walters & Brazier 2005)",
    False,
    EQ5D_MINIMAL_IMPORTANT_DIFFERENCE,
)
EQ_VAS = Measure(
    "eq5d_vas",
    "EQ VAS (health today, 0-100)",
    "points",
    "rise of >= 7 points (Pickard et al. 2007)",
    False,
    EQ_VAS_MINIMAL_IMPORTANT_DIFFERENCE,
)
ODI = Measure(
    "odi",
    "Oswestry Disability Index (%)",
    "points",
    "fall of >= 10 points or >= 30 % (Ostelo et al. 2008)",
    True,
    *ODI_MINIMAL_IMPORTANT_CHANGE,
)
BPI_SEVERITY = Measure(
    "bpi_severity",
    "BPI pain severity (0-10)",
    "points",
    "fall of >= 2 points or >= 30 % (IMMPACT, as for pain)",
    True,
    pain.IMPORTANT_REDUCTION_POINTS,
    pain.IMPORTANT_REDUCTION_PERCENT,
)
BPI_INTERFERENCE = Measure(
    "bpi_interference",
    "BPI pain interference (0-10)",
    "points",
    "fall of >= 1 point (IMMPACT)",
    True,
    BPI_INTERFERENCE_MINIMAL_IMPORTANT_CHANGE,
)
MEASURES = (PAIN, OME, EQ5D, EQ_VAS, ODI, BPI_SEVERITY, BPI_INTERFERENCE)


@dataclass(frozen=True)
class OutcomeAtTimepoint:
    measure: Measure
    timepoint: str
    label: str
    pairs: int
    left_out: int  # follow-ups done but without a usable pair
    baseline_mean: float | None
    follow_up_mean: float | None
    mean_change: Estimate
    median_change: Estimate
    improved: Proportion


# The one-row-per-procedure ("wide") table the outcomes are computed from: indexed by
# procedure_id, a column per (value, time point) pair, value in WIDE_VALUES and time point as
# in ``tables.TIMEPOINT_LABELS`` (a two-level column index, the second level "timepoint").
# Only completed assessments fill it: a value is NaN where that time point was not done, and
# ``ome_not_convertible`` is a number exactly where it was (0 when every entry converted).
# ``aggregates.outcome_table`` builds it from the case summaries.
WIDE_VALUES = tuple(measure.column for measure in MEASURES) + ("ome_not_convertible",)


def paired_values(wide: pd.DataFrame, column: str, timepoint: str) -> pd.DataFrame:
    """Baseline and follow-up values of one measure, one row per procedure with both.

    ``wide`` is laid out as described at ``WIDE_VALUES``. Columns: procedure_id, baseline,
    follow_up; ``attrs["left_out"]`` counts follow-ups done without a usable pair. For OME,
    pairs with an unconvertible analgesic are left out.
    """

    def values(name: str, tp: str) -> pd.Series:
        if (name, tp) in wide.columns:
            return wide[(name, tp)].astype(float)
        return pd.Series(np.nan, index=wide.index)

    follow_up = values(column, timepoint)
    baseline = values(column, "baseline")
    done_at_timepoint = values("ome_not_convertible", timepoint).notna() | follow_up.notna()
    usable = follow_up.notna() & baseline.notna()
    if column == "ome_mg_per_day":
        usable &= (values("ome_not_convertible", timepoint).fillna(0) == 0) & (
            values("ome_not_convertible", "baseline").fillna(0) == 0
        )
    result = pd.DataFrame(
        {
            "procedure_id": wide.index[usable],
            "baseline": baseline[usable].to_numpy(),
            "follow_up": follow_up[usable].to_numpy(),
        }
    )
    result.attrs["left_out"] = int((done_at_timepoint & ~usable).sum())
    return result


def improved_share(measure: Measure, pairs: pd.DataFrame) -> Proportion:
    """The share of the evaluable pairs that improved by the measure's important change."""
    base, follow_up = pairs.baseline, pairs.follow_up
    gain = base - follow_up if measure.lower_is_better else follow_up - base
    # At the floor (see the module's docstring) a score cannot fall: not evaluable.
    evaluable = base > 0 if measure.lower_is_better else pd.Series(True, index=pairs.index)
    if measure.important_change is None:
        better = gain > 0
    else:
        better = gain >= measure.important_change - _TOLERANCE
        if measure.important_percent is not None:
            percent = 100.0 * gain / base.where(evaluable)
            better |= percent >= measure.important_percent - _TOLERANCE
    return wilson_interval(int((better & evaluable).sum()), int(evaluable.sum()))


def _outcome(wide: pd.DataFrame, measure: Measure, timepoint: str) -> OutcomeAtTimepoint:
    pairs = paired_values(wide, measure.column, timepoint)
    change = (pairs.follow_up - pairs.baseline).to_numpy()
    return OutcomeAtTimepoint(
        measure=measure,
        timepoint=timepoint,
        label=TIMEPOINT_LABELS[timepoint],
        pairs=len(pairs),
        left_out=pairs.attrs["left_out"],
        baseline_mean=float(pairs.baseline.mean()) if len(pairs) else None,
        follow_up_mean=float(pairs.follow_up.mean()) if len(pairs) else None,
        mean_change=mean_with_t_interval(change),
        median_change=median_with_order_statistic_interval(change),
        improved=improved_share(measure, pairs),
    )


def outcomes_from_wide(wide: pd.DataFrame) -> dict[str, list[OutcomeAtTimepoint]]:
    """Every measure at every follow-up time point, keyed by the measure's column, from the
    one-row-per-procedure table (laid out as described at ``WIDE_VALUES``)."""
    return {
        measure.column: [_outcome(wide, measure, tp) for tp in FOLLOW_UP_TIMEPOINTS]
        for measure in MEASURES
    }
