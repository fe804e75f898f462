import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical.pain import (
    IMPORTANT_REDUCTION_PERCENT,
    IMPORTANT_REDUCTION_POINTS,
    change_from_baseline,
    clinically_important_reduction,
    percent_reduction,
    responder_share,
    validate_nrs,
)

nrs = st.integers(min_value=0, max_value=10)


def test_it_uses_the_immpact_moderately_important_thresholds():
    # Dworkin et al. 2008 (IMMPACT) and Farrar et al. 2001: 2 points or 30 %.
    assert IMPORTANT_REDUCTION_POINTS == 2
    assert IMPORTANT_REDUCTION_PERCENT == 30.0


@pytest.mark.parametrize("score", [0, 5, 10])
def test_it_accepts_whole_numbers_from_0_to_10(score):
    assert validate_nrs(score) == score


@pytest.mark.parametrize("score", [-1, 11, 5.5, 7.0, True, "5", None])
def test_it_rejects_anything_else_with_a_clear_message(score):
    with pytest.raises(ValueError, match="pain score"):
        validate_nrs(score)


def test_it_reports_change_as_follow_up_minus_baseline():
    assert change_from_baseline(8, 3) == -5
    assert change_from_baseline(3, 8) == 5


def test_it_reports_percent_reduction_and_none_for_a_zero_baseline():
    assert percent_reduction(8, 6) == pytest.approx(25.0)
    assert percent_reduction(0, 0) is None


@pytest.mark.parametrize(
    ("baseline", "follow_up", "expected"),
    [
        (8, 6, True),  # 2 points (25 %): Farrar's 2-point threshold
        (7, 5, True),  # 2 points although only 28.6 %
        (3, 2, True),  # 33 % although only 1 point
        (10, 8, True),  # 2 points, 20 %
        (10, 9, False),  # 1 point, 10 %
        (5, 4, False),  # 1 point, 20 %
        (6, 6, False),
        (4, 7, False),  # worse
        (0, 0, None),  # nothing to reduce
        (None, 3, None),
        (6, None, None),
    ],
)
def test_it_judges_clinically_important_reduction(baseline, follow_up, expected):
    assert clinically_important_reduction(baseline, follow_up) is expected


def test_it_rejects_out_of_range_scores_when_judging():
    with pytest.raises(ValueError):
        clinically_important_reduction(12, 3)


def test_it_reports_the_share_of_responders_over_evaluable_patients():
    share = responder_share([(8, 4), (8, 7), (6, 3), (None, 2), (0, 0)])
    assert (share.evaluable, share.responders, share.not_evaluable) == (3, 2, 2)
    assert share.share == pytest.approx(2 / 3)


def test_it_reports_no_share_when_nobody_is_evaluable():
    assert responder_share([(None, None)]).share is None


@given(nrs, nrs)
def test_it_matches_the_two_point_or_thirty_percent_rule(baseline, follow_up):
    verdict = clinically_important_reduction(baseline, follow_up)
    if baseline == 0:
        assert verdict is None
    else:
        drop = baseline - follow_up
        assert verdict is (drop >= 2 or drop / baseline >= 0.3)


@given(nrs, nrs)
def test_less_pain_at_follow_up_never_undoes_a_response(baseline, follow_up):
    if clinically_important_reduction(baseline, follow_up) and follow_up > 0:
        assert clinically_important_reduction(baseline, follow_up - 1)
