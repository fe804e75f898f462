import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical.bpi import MIN_INTERFERENCE_ITEMS, interference, severity


def test_it_scores_severity_as_the_mean_of_worst_least_average_and_now():
    # BPI user guide (Cleeland 2009): pain severity = mean of items 3-6.
    assert severity([8, 2, 5, 6]) == pytest.approx(5.25)


def test_it_does_not_score_severity_with_an_item_missing():
    assert severity([8, None, 5, 6]) is None


def test_it_scores_interference_as_the_mean_of_the_seven_items():
    assert interference([7, 6, 8, 9, 3, 5, 4]) == pytest.approx(6.0)


def test_it_scores_interference_from_four_of_seven_items():
    # BPI user guide: the mean may be used if more than 50 %, or four of seven, are answered.
    assert MIN_INTERFERENCE_ITEMS == 4
    assert interference([7, None, 8, None, 3, None, 6]) == pytest.approx(6.0)


def test_it_does_not_score_interference_from_three_items():
    assert interference([7, None, 8, None, 3, None, None]) is None


@pytest.mark.parametrize(
    ("scorer", "items"),
    [
        (severity, [8, 2, 5]),
        (severity, [8, 2, 5, 11]),
        (severity, [8, 2, 5, -1]),
        (severity, [8, 2, 5, 5.5]),
        (interference, [1, 2, 3, 4, 5, 6]),
        (interference, [1, 2, 3, 4, 5, 6, "7"]),
    ],
)
def test_it_rejects_bad_items_with_a_clear_message(scorer, items):
    with pytest.raises(ValueError, match="BPI"):
        scorer(items)


item = st.one_of(st.none(), st.integers(min_value=0, max_value=10))


@given(st.lists(item, min_size=7, max_size=7))
def test_interference_is_within_0_to_10_or_none(items):
    result = interference(items)
    if sum(i is not None for i in items) < 4:
        assert result is None
    else:
        assert 0.0 <= result <= 10.0
