import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical.odi import MAX_MISSING_SECTIONS, SECTIONS, VERSION, score


def test_it_is_version_2_1a_with_ten_sections():
    assert VERSION == "2.1a"
    assert len(SECTIONS) == 10


def test_it_scores_the_worked_example_with_all_sections_answered():
    # Fairbank & Pynsent 2000 scoring instructions: 16 points / 50 possible x 100 = 32 %.
    assert score([2, 2, 2, 2, 2, 2, 1, 1, 1, 1]) == pytest.approx(32.0)


def test_it_lowers_the_denominator_for_a_missed_section():
    # Fairbank & Pynsent 2000: one section missed, 16 / 45 x 100 = 35.5 %.
    assert score([2, 2, 2, 2, 2, 2, 1, 1, None, 2]) == pytest.approx(100 * 16 / 45)


def test_it_spans_0_to_100():
    assert score([0] * 10) == 0.0
    assert score([5] * 10) == 100.0


def test_it_scores_with_two_sections_missing_but_not_three():
    assert MAX_MISSING_SECTIONS == 2
    assert score([5, 5, 5, 5, 5, 5, 5, 5, None, None]) == 100.0
    assert score([5, 5, 5, 5, 5, 5, 5, None, None, None]) is None
    assert score([None] * 10) is None


@pytest.mark.parametrize(
    "answers",
    [
        [1] * 9,
        [1] * 11,
        [1] * 9 + [6],
        [1] * 9 + [-1],
        [1] * 9 + [2.5],
        [1] * 9 + [True],
        [1] * 9 + ["3"],
        "1111111111",
    ],
)
def test_it_rejects_bad_answers_with_a_clear_message(answers):
    with pytest.raises(ValueError, match="ODI"):
        score(answers)


answer = st.one_of(st.none(), st.integers(min_value=0, max_value=5))


@given(st.lists(answer, min_size=10, max_size=10))
def test_it_is_between_0_and_100_or_none(answers):
    result = score(answers)
    if answers.count(None) > MAX_MISSING_SECTIONS:
        assert result is None
    else:
        assert 0.0 <= result <= 100.0
