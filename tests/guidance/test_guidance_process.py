from datetime import date

from thermablate.guidance.process import process_timeline, standing

ID1783 = {  # seed 001's provisional schedule
    "ipac_1": "2022-09-08",
    "consultation_start": "2022-10-14",
    "consultation_end": "2022-11-11",
    "ipac_2": "2023-01-12",
    "expected_publication": "2023-03-29",
}


def test_it_places_a_topic_between_consultation_and_second_meeting():
    stages = {s.key: s for s in process_timeline(ID1783, date(2022, 12, 1))}
    assert stages["consultation_end"].state == "done"
    assert stages["ipac_2"].state == "next"
    assert stages["expected_publication"].state == "upcoming"
    assert stages["notification"].state == "unknown"


def test_standing_says_when_the_expected_publication_has_passed():
    text = standing(process_timeline(ID1783, date(2026, 11, 21)))
    assert "Expected publication (29 March 2023)" in text and "has passed" in text


def test_month_precision_dates_count_from_the_first_of_the_month():
    stages = process_timeline({"expected_publication": "2023-04"}, date(2023, 4, 1))
    assert stages[-2].state == "done"
