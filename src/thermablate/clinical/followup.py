"""The follow-up schedule created when a procedure is recorded.

NICE asks for the outcomes of everyone having the procedure to be audited (HTG670, 2025;
IPG consultation ID 1783, 2022) but sets no time points. Thermablate uses the time points of
the issue (baseline, 1 week, 1, 3 and 6 months) and adds 12 months, the last follow-up in the
prospective OsteoCool RF ablation registry (Levy et al., J Vasc Interv Radiol 2020;31(8)) so
longer-lived patients are followed for a year. Windows are centred on the target day and
widen with time since the procedure; the 1-month window (days 21-42) is the one the issue
gives as its example.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

SCHEDULE_VERSION = "thermablate-followup-1"


@dataclass(frozen=True)
class Window:
    timepoint: str
    label: str
    target_day: int
    first_day: int
    last_day: int


# Days relative to the procedure date (day 0). The baseline is taken before the procedure.
SCHEDULE: tuple[Window, ...] = (
    Window("baseline", "Baseline", 0, -42, 0),
    Window("1w", "1 week", 7, 4, 10),
    Window("1m", "1 month", 30, 21, 42),
    Window("3m", "3 months", 91, 76, 120),
    Window("6m", "6 months", 182, 152, 212),
    Window("12m", "12 months", 365, 335, 395),
)
WINDOWS = {window.timepoint: window for window in SCHEDULE}

DUE_SOON_DAYS = 14


class Status(StrEnum):
    DONE = "done"
    UPCOMING = "upcoming"
    DUE_SOON = "due_soon"
    DUE = "due"
    OVERDUE = "overdue"
    CLOSED = "closed"  # will not be done: could not be, or the patient's follow-up ended


@dataclass(frozen=True)
class Due:
    timepoint: str
    target: date
    opens: date
    closes: date


def schedule_for(procedure_date: date) -> list[Due]:
    return [
        Due(
            w.timepoint,
            procedure_date + timedelta(days=w.target_day),
            procedure_date + timedelta(days=w.first_day),
            procedure_date + timedelta(days=w.last_day),
        )
        for w in SCHEDULE
    ]


def status(
    opens: date, closes: date, done_on: date | None, today: date, *, closed: bool = False
) -> Status:
    """Where a scheduled assessment stands on ``today``; ``closed``: it will not be done
    (see :func:`ended_in_window`), so it is never overdue."""
    if done_on is not None:
        return Status.DONE
    if closed:
        return Status.CLOSED
    if today > closes:
        return Status.OVERDUE
    if today >= opens:
        return Status.DUE
    if (opens - today).days <= DUE_SOON_DAYS:
        return Status.DUE_SOON
    return Status.UPCOMING


def ended_in_window(closes: date, follow_up_ended_on: date | None) -> bool:
    """Whether a patient's follow-up ended (death, withdrawal, lost to follow-up) on or before
    the last day of this window: the assessment can no longer be done in it, so it is closed,
    not overdue. A window that closed before the end was missed while the patient was still
    in follow-up, and stays so. (Definitions: docs/audit.md, "Patient status and completeness".)"""
    return follow_up_ended_on is not None and closes >= follow_up_ended_on


def within_window(timepoint: str, procedure_date: date, assessed_on: date) -> bool:
    window = WINDOWS[timepoint]
    day = (assessed_on - procedure_date).days
    return window.first_day <= day <= window.last_day


def within_dates(opens: date, closes: date, assessed_on: date) -> bool:
    """In window: assessed within [opens, closes], both days included. The audit counts only
    these as done; anything else recorded is out of window (see docs/audit.md)."""
    return opens <= assessed_on <= closes


def _date_range(first: date, last: date) -> str:
    """'4 to 25 March 2026', '20 February to 4 March 2026', '1 December 2025 to 4 January 2026'."""
    if first.year != last.year:
        return f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%B} to {last.day} {last:%B %Y}"
    return f"{first.day} to {last.day} {last:%B %Y}"


def _days_phrase(first_day: int, last_day: int) -> str:
    if first_day >= 0:
        return f"between {first_day} and {last_day} days after the procedure"
    end = "the day of the procedure" if last_day == 0 else f"{-last_day} days before it"
    return f"between {-first_day} days before the procedure and {end}"


def _day_of(day: int) -> str:
    if day == 0:
        return "the day of the procedure"
    if day < 0:
        return f"{-day} day{'s' if day < -1 else ''} before the procedure"
    return f"day {day}"


def days_text(procedure_date: date, opens: date, closes: date) -> str:
    """'between 21 and 42 days after the procedure', from a scheduled window's dates."""
    return _days_phrase((opens - procedure_date).days, (closes - procedure_date).days)


def window_message(
    label: str, procedure_date: date, opens: date, closes: date, assessed_on: date
) -> str:
    """Names the window of one scheduled assessment and where ``assessed_on`` falls, e.g.
    'The 1 month follow-up is recorded between 21 and 42 days after the procedure (4 to 25
    March 2026); this date is day 5.' The stored window dates are used, not today's schedule,
    so the message matches what the assessment was scheduled with."""
    first_day = (opens - procedure_date).days
    what = "baseline assessment" if first_day < 0 else f"{label} follow-up"
    return (
        f"The {what} is recorded {days_text(procedure_date, opens, closes)} "
        f"({_date_range(opens, closes)}); this date is "
        f"{_day_of((assessed_on - procedure_date).days)}."
    )
