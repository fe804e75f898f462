"""Dates as NICE writes them, read into ISO 8601.

NICE pages state a day ("12 March 2025", "08 September 2022", "5 April 2023"), sometimes only a
month ("March 2025", "Target date for publication of guidance: April 2023"), and for schedules
not yet fixed "TBC". A month-only date keeps its month precision ("2023-04", which ISO 8601
allows) rather than inventing a day; "TBC" is no date at all.
"""

import re
from dataclasses import dataclass
from datetime import date

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
#: Month names as NICE prints them ("5 April 2023").
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

#: A day-precision or month-precision date inside running text.
DATE_PATTERN = re.compile(
    rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+)?({_MONTH})\s+(\d{{4}})\b", re.IGNORECASE
)
#: "14 October 2022 - 11 November 2022" (hyphen, en dash or "to").
RANGE_PATTERN = re.compile(
    rf"({DATE_PATTERN.pattern})\s*(?:-|–|—|to)\s*({DATE_PATTERN.pattern})", re.IGNORECASE
)
TBC_PATTERN = re.compile(r"\b(?:TBC|to be confirmed)\b", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class NiceDate:
    """A date stated to the day, or only to the month (``day`` is None)."""

    year: int
    month: int
    day: int | None = None

    def __post_init__(self) -> None:
        # Raises ValueError for 31 February and the like, so a NiceDate is always real.
        date(self.year, self.month, self.day or 1)

    def isoformat(self) -> str:
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def __str__(self) -> str:
        return self.isoformat()

    def in_words(self) -> str:
        """As NICE writes it: "5 April 2023", or "April 2023" for a month-precision date."""
        month = MONTH_NAMES[self.month - 1]
        return f"{month} {self.year}" if self.day is None else f"{self.day} {month} {self.year}"

    @classmethod
    def fromisoformat(cls, text: str) -> "NiceDate":
        """Read back "2023-04-05" or "2023-04"; ValueError for anything else."""
        match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text.strip())
        if not match:
            raise ValueError(f"{text!r} is not an ISO date (YYYY-MM-DD or YYYY-MM)")
        year, month, day = match.groups()
        return cls(int(year), int(month), int(day) if day else None)


def date_in_words(text: str) -> str:
    """A stored ISO date in NICE's words ("2022-09-08" -> "8 September 2022", "2023-04" ->
    "April 2023", "2004" -> "2004"). Text that is not an ISO date is returned unchanged, so a
    page never hides what was stored."""
    cleaned = text.strip()
    if re.fullmatch(r"\d{4}", cleaned):
        return cleaned
    try:
        return NiceDate.fromisoformat(cleaned).in_words()
    except ValueError:
        return text


def _from_match(day: str | None, month: str, year: str) -> NiceDate | None:
    month_number = MONTHS.get(month.lower().rstrip("."))
    if month_number is None:
        return None
    try:
        return NiceDate(int(year), month_number, int(day) if day else None)
    except ValueError:
        return None  # "31 February 2023": stated, but not a date


def parse_nice_date(text: str) -> NiceDate | None:
    """The first date in ``text`` ("5 April 2023", "April 2023"), or None (also for "TBC")."""
    for match in DATE_PATTERN.finditer(text):
        found = _from_match(*match.groups())
        if found is not None:
            return found
    return None


def parse_date_range(text: str) -> tuple[NiceDate, NiceDate] | None:
    """The first "start - end" pair of dates in ``text``, or None."""
    match = RANGE_PATTERN.search(text)
    if not match:
        return None
    start, end = parse_nice_date(match.group(1)), parse_nice_date(match.group(5))
    if start is None or end is None:
        return None
    return start, end


def is_tbc(text: str) -> bool:
    """True when the text says the date is still to be confirmed."""
    return bool(TBC_PATTERN.search(text))
