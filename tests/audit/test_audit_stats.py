"""The intervals against published worked examples."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from thermablate.audit.analysis.stats import (
    mean_with_t_interval,
    median_with_order_statistic_interval,
    wilson_interval,
)


# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
# methods. Stat Med 1998;17(8):857-872, Table II, method 3 (Wilson score, no correction).
@pytest.mark.parametrize(
    ("count", "total", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_it_matches_newcombes_wilson_intervals(count, total, low, high):
    result = wilson_interval(count, total)
    # Newcombe prints 4 decimals.
    assert result.low == pytest.approx(low, abs=6e-5)
    assert result.high == pytest.approx(high, abs=6e-5)


def test_it_gives_no_interval_for_an_empty_denominator():
    result = wilson_interval(0, 0)
    assert result.share is None and result.low is None and result.high is None


def test_it_refuses_a_count_above_its_total():
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_it_computes_the_paired_t_interval_by_hand():
    # 1..5: mean 3, SD sqrt(2.5), SE 0.7071, t(4, 0.975) = 2.7764 -> 3 +/- 1.9632.
    result = mean_with_t_interval([1, 2, 3, 4, 5])
    assert result.value == 3
    assert result.low == pytest.approx(1.0368, abs=1e-4)
    assert result.high == pytest.approx(4.9632, abs=1e-4)


def test_it_agrees_with_scipys_one_sample_t_test():
    values = np.random.default_rng(7).normal(-3, 2, size=40)
    expected = sps.ttest_1samp(values, 0).confidence_interval(0.95)
    result = mean_with_t_interval(values)
    assert (result.low, result.high) == pytest.approx((expected.low, expected.high))


def test_it_has_no_mean_interval_for_one_value():
    result = mean_with_t_interval([4.0])
    assert result.value == 4.0 and result.low is None


# Altman DG et al. Statistics with Confidence, 2nd ed. (2000), Table 18.4: ranks of the 95 %
# confidence interval for a median: n = 10 -> 2nd and 9th (97.9 %); n = 20 -> 6th and 15th (95.9 %).
@pytest.mark.parametrize(
    ("n", "rank_low", "rank_high", "coverage"), [(10, 2, 9, 0.979), (20, 6, 15, 0.959)]
)
def test_it_picks_the_published_order_statistics_for_the_median(n, rank_low, rank_high, coverage):
    values = list(range(100, 100 + n))  # sorted, so the k-th value is 99 + k
    result = median_with_order_statistic_interval(values[::-1])
    assert result.low == 99 + rank_low
    assert result.high == 99 + rank_high
    assert result.coverage == pytest.approx(coverage, abs=5e-4)


def test_it_has_no_median_interval_below_six_values():
    result = median_with_order_statistic_interval([1, 2, 3, 4, 5])
    assert result.value == 3 and result.low is None
    assert not math.isnan(result.value)
