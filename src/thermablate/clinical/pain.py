"""Numeric pain rating scale (NRS, 0-10): validation, change from baseline, responders.

NICE names "reduction in pain" as a key efficacy outcome of RF ablation of spinal metastases
(IPG759 / HTG670, section 3.2). The NRS asks for pain on an 11-point scale from 0 (no pain)
to 10 (worst pain imaginable); we keep the raw integer answer and derive everything else.

Clinically important reduction
------------------------------
We use the IMMPACT thresholds for a *moderately* important improvement in pain intensity:
a reduction of at least 2 points **or** at least 30 % from baseline.

- Dworkin RH, Turk DC, Wyrwich KW, et al. Interpreting the clinical importance of treatment
  outcomes in chronic pain clinical trials: IMMPACT recommendations. J Pain 2008;9(2):105-121.
  doi:10.1016/j.jpain.2007.09.005 (>= 30 % "moderately important", >= 50 % "substantial").
- Farrar JT, Young JP, LaMoreaux L, Werth JL, Poole RM. Clinical importance of changes in
  chronic pain intensity measured on an 11-point numerical pain rating scale. Pain
  2001;94(2):149-158. doi:10.1016/S0304-3959(01)00349-9 ("approximately two points or 30 %").

Why "or": NRS answers are integers, so each threshold alone misclassifies typical patients.
With the 30 % rule alone a fall from 7 to 5 (29 %) would not count, although a 2-point fall
is also the partial-response threshold of the international consensus on palliative
radiotherapy of bone metastases (Chow et al., Int J Radiat Oncol Biol Phys 2012;82(5):1730-7);
with the 2-point rule alone a fall from 3 to 2 (33 %) would not count, although Farrar found
the percentage change the more consistent measure at low baselines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

VERSION = "1.0.0"
SOURCE = "Dworkin et al. 2008 (IMMPACT), J Pain 9(2):105-121, doi:10.1016/j.jpain.2007.09.005; Farrar et al. 2001, Pain 94(2):149-158"

NRS_MIN = 0
NRS_MAX = 10
# IMMPACT "moderately important" reduction (Dworkin 2008, Table 2; Farrar 2001).
IMPORTANT_REDUCTION_POINTS = 2
IMPORTANT_REDUCTION_PERCENT = 30.0


def validate_nrs(score: int) -> int:
    """Return ``score`` if it is a whole number from 0 to 10, else raise ValueError."""
    if isinstance(score, bool) or not isinstance(score, int):
        raise ValueError(
            f"pain score must be a whole number from {NRS_MIN} to {NRS_MAX}, got {score!r}"
        )
    if not NRS_MIN <= score <= NRS_MAX:
        raise ValueError(f"pain score must be from {NRS_MIN} to {NRS_MAX}, got {score}")
    return score


def change_from_baseline(baseline: int, follow_up: int) -> int:
    """Follow-up minus baseline, in NRS points; negative means less pain."""
    return validate_nrs(follow_up) - validate_nrs(baseline)


def percent_reduction(baseline: int, follow_up: int) -> float | None:
    """Reduction as a percentage of the baseline score; None when baseline is 0 (no pain to reduce)."""
    validate_nrs(follow_up)
    if validate_nrs(baseline) == 0:
        return None
    return 100.0 * (baseline - follow_up) / baseline


def clinically_important_reduction(baseline: int | None, follow_up: int | None) -> bool | None:
    """True when pain fell by >= 2 points or >= 30 % (IMMPACT moderately important).

    Returns None when it cannot be judged: a score is missing, or baseline pain was 0.
    """
    if baseline is None or follow_up is None:
        return None
    reduction_percent = percent_reduction(baseline, follow_up)
    if reduction_percent is None:
        return None
    reduction_points = baseline - follow_up
    return (
        reduction_points >= IMPORTANT_REDUCTION_POINTS
        or reduction_percent >= IMPORTANT_REDUCTION_PERCENT
    )


@dataclass(frozen=True)
class ResponderShare:
    """How many evaluable patients reached a clinically important reduction."""

    evaluable: int
    responders: int
    not_evaluable: int

    @property
    def share(self) -> float | None:
        """Responders / evaluable, or None when nobody could be evaluated."""
        return self.responders / self.evaluable if self.evaluable else None


def responder_share(pairs: Iterable[tuple[int | None, int | None]]) -> ResponderShare:
    """Share of (baseline, follow-up) pairs with a clinically important reduction.

    Pairs that cannot be judged (a missing score, or baseline 0) are counted as not
    evaluable and left out of the denominator, so the report can state them.
    """
    evaluable = responders = not_evaluable = 0
    for baseline, follow_up in pairs:
        verdict = clinically_important_reduction(baseline, follow_up)
        if verdict is None:
            not_evaluable += 1
            continue
        evaluable += 1
        responders += verdict
    return ResponderShare(evaluable=evaluable, responders=responders, not_evaluable=not_evaluable)
