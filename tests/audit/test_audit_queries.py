"""Scoring many assessments at once (``queries.eq5d_indices``) gives what ``eq5d.index`` gives
one at a time, for every respondent the value set covers, and NaN for the others."""

import math

import pandas as pd
import pytest

from thermablate.audit.queries import eq5d_indices
from thermablate.clinical import eq5d


def test_it_scores_each_row_with_its_age_and_sex():
    levels = pd.DataFrame(
        [(3, 2, 3, 4, 2)] * 4 + [(1, 1, 2, None, 1)],
        columns=["mo", "sc", "ua", "pd", "ad"],
    )
    ages = pd.Series([25, 25, 70, 12, 40])
    sexes = pd.Series(["female", "male", "not_known", "female", "male"])
    indices = eq5d_indices(levels, ages, sexes)
    assert indices[0] == eq5d.index("32342", age=25, sex="female")
    assert indices[1] == eq5d.index("32342", age=25, sex="male") != indices[0]
    assert indices[2] == pytest.approx(eq5d.index("32342", age=70, sex="other"))
    assert math.isnan(indices[3])  # 12 years old: outside the DSU mapping
    assert math.isnan(indices[4])  # an answer missing


def test_a_value_set_without_age_ignores_it():
    levels = pd.DataFrame([(2, 1, 3, 2, 5)], columns=["mo", "sc", "ua", "pd", "ad"])
    indices = eq5d_indices(levels, pd.Series([12]), pd.Series(["male"]), eq5d.DEVLIN_2018)
    assert indices[0] == eq5d.index("21325", eq5d.DEVLIN_2018)
