from datetime import date, timedelta

from thermablate.clinical.followup import Status, schedule_for, status, within_window


def test_it_schedules_baseline_to_12_months_with_the_1_month_window_days_21_to_42():
    procedure = date(2026, 1, 10)
    due = {d.timepoint: d for d in schedule_for(procedure)}
    assert list(due) == ["baseline", "1w", "1m", "3m", "6m", "12m"]
    assert due["1m"].opens == procedure + timedelta(days=21)
    assert due["1m"].closes == procedure + timedelta(days=42)
    assert due["baseline"].closes == procedure


def test_status_moves_from_upcoming_to_overdue():
    opens, closes = date(2026, 3, 1), date(2026, 3, 20)
    assert status(opens, closes, None, date(2026, 2, 1)) is Status.UPCOMING
    assert status(opens, closes, None, date(2026, 2, 20)) is Status.DUE_SOON
    assert status(opens, closes, None, date(2026, 3, 1)) is Status.DUE
    assert status(opens, closes, None, date(2026, 3, 21)) is Status.OVERDUE
    assert status(opens, closes, date(2026, 3, 5), date(2026, 9, 1)) is Status.DONE


def test_within_window_counts_days_from_the_procedure():
    procedure = date(2026, 1, 1)
    assert within_window("1m", procedure, procedure + timedelta(days=21))
    assert not within_window("1m", procedure, procedure + timedelta(days=43))
    assert within_window("baseline", procedure, procedure)
    assert not within_window("baseline", procedure, procedure + timedelta(days=1))
