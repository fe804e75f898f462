"""When a follow-up questionnaire's invitation, reminder, text message and staff call are due.

Registries that leave follow-up to staff typing complete about a third of their datasets (the
British Spine Registry); registries that ask patients by e-mail alone reach under half, and
those that follow up on paper or by phone reach more (National Joint Registry PROMs). So an
invitation escalates, channel by channel, while the window is open:

1. the invitation, the day the window opens (e-mail, or a text message if there is no e-mail);
2. an e-mail reminder, 30 % of the way through the window;
3. a text message, half way through;
4. the call-and-letter list for staff, 65 % of the way through, leaving a third of the window
   for a phone call or a printed letter to be answered.

The fractions are ours, chosen so the shortest window (1 week: days 4-10) still has each step
on its own day; they scale with the window because a fixed "after 7 days" would fall after a
1-week window has closed. Nothing is sent before the window opens or after it closes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Step(StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"
    TEXT = "text"
    CALL_LIST = "call_list"


# Fraction of the window (from its first to its last day) after which each step is due.
STEP_FRACTIONS: dict[Step, float] = {
    Step.INVITATION: 0.0,
    Step.REMINDER: 0.30,
    Step.TEXT: 0.50,
    Step.CALL_LIST: 0.65,
}


@dataclass(frozen=True)
class StepDue:
    step: Step
    on: date


def schedule(opens: date, closes: date) -> list[StepDue]:
    """The day each step falls due for a window [opens, closes] (both days included).

    Each step falls on a later day than the one before it whenever the window is long enough
    to allow it; in a window too short for that, steps share a day (and are then taken in
    order, one a day, by the sender)."""
    if closes < opens:
        raise ValueError(f"A window cannot close ({closes}) before it opens ({opens}).")
    width_days = (closes - opens).days
    out = []
    for step, fraction in STEP_FRACTIONS.items():
        out.append(StepDue(step, opens + timedelta(days=math.ceil(fraction * width_days))))
    return out


def steps_due(opens: date, closes: date, today: date) -> list[Step]:
    """The steps due by ``today`` (in order), or none outside the window."""
    if not opens <= today <= closes:
        return []
    return [due.step for due in schedule(opens, closes) if due.on <= today]
