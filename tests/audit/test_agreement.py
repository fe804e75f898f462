"""Bland-Altman agreement (audit.analysis.agreement) against the worked example of the paper."""

import pytest

from thermablate.audit.analysis.agreement import bland_altman

# Bland & Altman 1986 (Lancet 1:307-10), Table 1: peak expiratory flow (l/min) of 17 people,
# first reading with the large Wright meter and with the mini Wright meter.
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI_WRIGHT = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]


def test_it_reproduces_the_papers_worked_example():
    # The paper's differences are large minus mini meter: here "predicted" is the mini meter.
    result = bland_altman(list(zip(MINI_WRIGHT, WRIGHT, strict=True)))
    assert result.n == 17
    # Published: mean difference -2.1 l/min, SD 38.8, limits -79.7 to 75.5: the paper's limits
    # are the mean +- 2 SD (from its rounded mean and SD); ours use 1.96.
    assert result.mean_difference == pytest.approx(-2.1, abs=0.05)
    assert result.sd == pytest.approx(38.8, abs=0.05)
    assert result.mean_difference - 2 * result.sd == pytest.approx(-79.7, abs=0.1)
    assert result.mean_difference + 2 * result.sd == pytest.approx(75.5, abs=0.15)
    assert result.lower_limit == pytest.approx(result.mean_difference - 1.96 * result.sd)
    assert result.upper_limit == pytest.approx(result.mean_difference + 1.96 * result.sd)
    low, high = result.mean_ci
    assert low < result.mean_difference < high


def test_too_few_pairs_give_no_limits():
    assert bland_altman([]).mean_difference is None
    one = bland_altman([(10.0, 12.0)])
    assert one.mean_difference == 2.0 and not one.enough and one.lower_limit is None
