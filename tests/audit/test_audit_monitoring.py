"""CUSUM and funnel plot against hand-computed values and their published definitions."""

import math

import pytest

from thermablate.audit.analysis.cusum import bernoulli_cusum
from thermablate.audit.analysis.funnel import binomial_limit, funnel

FAIL = math.log(2) - math.log(1.1)  # Steiner 2000 weight of a complication, p0 = 0.1, R_A = 2
SUCCESS = -math.log(1.1)


def test_it_accumulates_steiners_log_likelihood_weights():
    chart = bernoulli_cusum([1, 1, 0, 1, 0, 0], risks=0.1, odds_ratio=2, limit=4.5)
    expected, level = [], 0.0
    for weight in (FAIL, FAIL, SUCCESS, FAIL, SUCCESS, SUCCESS):
        level = max(0.0, level + weight)
        expected.append(level)
    assert chart.values.tolist() == pytest.approx(expected)
    assert chart.values[0] == pytest.approx(0.597837, abs=1e-6)
    assert chart.signalled_at is None


def test_it_never_falls_below_zero():
    chart = bernoulli_cusum([0] * 10)
    assert chart.values.max() == 0


def test_it_signals_at_the_first_case_over_the_limit():
    chart = bernoulli_cusum([0, 1, 1, 1], limit=1.5)
    # 0, 0.598, 1.196, 1.793: the fourth case crosses 1.5.
    assert chart.signalled_at == 4


def test_it_uses_per_case_risks_when_given():
    low_risk = bernoulli_cusum([1], risks=[0.01]).values[0]
    high_risk = bernoulli_cusum([1], risks=[0.5]).values[0]
    assert low_risk > high_risk  # a complication in a low-risk case weighs more


def test_its_limits_approach_the_normal_approximation_for_large_units():
    # Spiegelhalter 2005: for large n the limits tend to p0 +/- z sqrt(p0 (1 - p0) / n).
    n, p = 10_000, 0.1
    half = 1.959964 * math.sqrt(p * (1 - p) / n)
    assert binomial_limit(n, p, 0.975) == pytest.approx(p + half, abs=3e-4)
    assert binomial_limit(n, p, 0.025) == pytest.approx(p - half, abs=3e-4)


def test_its_interpolated_limit_lies_between_neighbouring_counts():
    limit = binomial_limit(50, 0.1, 0.999)
    assert 10 / 50 <= limit <= 14 / 50


def test_it_flags_a_unit_far_above_the_others():
    result = funnel(["a", "b", "c"], [100, 100, 100], [5, 6, 30], target=0.1)
    verdicts = {point.unit: point.verdict for point in result.points}
    assert verdicts == {"a": "within", "b": "within", "c": "above 99.8%"}
    assert set(result.limits) == {"95%", "99.8%"}


def test_it_uses_the_pooled_rate_as_target_by_default():
    assert funnel(["a", "b"], [30, 10], [3, 1]).target == pytest.approx(0.1)
