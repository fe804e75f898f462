"""Typing a date in a real browser as a user does: into the three boxes of the NHS date input."""

from datetime import date


def fill_date(page, field: str, value: date) -> None:
    """Types ``value`` into the day, month and year boxes of the date field named ``field``."""
    page.fill(f"#id_{field}_day", str(value.day))
    page.fill(f"#id_{field}_month", str(value.month))
    page.fill(f"#id_{field}_year", str(value.year))
