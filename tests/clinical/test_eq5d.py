import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical import eq5d

CROSSWALK = "en-5l-to-3l-crosswalk-vanhout-2012"
DEVLIN = "en-5l-devlin-2018"
DSU = "uk-5l-to-3l-mapping-dsu-2022"


def test_it_offers_three_value_sets_and_defaults_to_nices_dsu_mapping():
    assert set(eq5d.VALUE_SETS) == {CROSSWALK, DEVLIN, DSU}
    assert eq5d.DEFAULT_VALUE_SET == DSU


@pytest.mark.parametrize(
    ("profile", "age", "sex", "published"),
    [
        # Worked examples of the DSU mapping in the tests of the R package eq5d (fragla/eq5d,
        # tests/testthat/test-eq5dmap.R, MIT), to the 3 decimals they give.
        ("12345", 30, "female", 0.067),
        ("23421", 70, "male", 0.609),
        ("11112", 18, "male", 0.893),
        ("24112", 50, "female", 0.761),
    ],
)
def test_it_reproduces_published_dsu_mapping_values(profile, age, sex, published):
    assert eq5d.index(profile, DSU, age=age, sex=sex) == pytest.approx(published, abs=5e-4)


@pytest.mark.parametrize(
    ("age", "band"),
    [(16, "18-34"), (34, "18-34"), (35, "35-44"), (54, "45-54"), (64, "55-64"), (65, "65+")],
)
def test_it_places_ages_in_the_dsu_bands(age, band):
    assert eq5d.age_band(age) == band


def test_the_dsu_mapping_depends_on_age_and_sex():
    by_group = {
        (age, sex): eq5d.index("33333", DSU, age=age, sex=sex)
        for age in (25, 70)
        for sex in ("female", "male")
    }
    assert len(set(by_group.values())) == 4
    mean = (by_group[25, "female"] + by_group[25, "male"]) / 2
    # Neither female nor male: the mean of the two (our choice, stated in the docstring).
    assert eq5d.index("33333", DSU, age=25, sex="not_known") == pytest.approx(mean)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs the respondent's age and sex"),
        ({"age": 40}, "needs the respondent's age and sex"),
        ({"age": 15, "sex": "male"}, "covers ages 16 and over"),
        ({"age": 40.5, "sex": "male"}, "whole number of years"),
        ({"age": 40, "sex": "M"}, "sex must be one of"),
    ],
)
def test_the_dsu_mapping_refuses_what_it_cannot_score(kwargs, message):
    with pytest.raises(ValueError, match=message):
        eq5d.index("21325", DSU, **kwargs)


@pytest.mark.parametrize(
    ("profile", "published"),
    [
        # Column UK_2026Copula of the DSU table as the R package eq5d ships it (fragla/eq5d,
        # data-raw/DSU5L_2026.csv, MIT), 18-34, male: a second copy of the table.
        ("11113", 0.81985608),
        ("11125", 0.34478755),
        ("11131", 0.81235952),
        ("11141", 0.87337905),  # higher than 11131: the published mapping is not monotone
        ("11155", 0.27690531),
        ("11222", 0.75666249),
    ],
)
def test_it_matches_a_second_copy_of_the_dsu_table(profile, published):
    assert eq5d.index(profile, DSU, age=25, sex="male") == pytest.approx(published, abs=5e-7)


def test_the_dsu_table_covers_every_profile_band_and_sex_within_the_3l_range():
    tables = eq5d.VALUE_SETS[DSU].tables
    assert len(tables) == 10 and all(len(values) == 3125 for values in tables.values())
    for values in tables.values():
        # Dolan 1997's 3L values run from -0.594 to 1; a mapped (expected) value lies inside.
        assert all(-0.594 <= v <= 1.0 for v in values.values())
        assert values["11111"] > 0.98 and values["55555"] < -0.5


def test_the_value_sets_that_need_no_age_ignore_it():
    assert eq5d.index("21325", DEVLIN, age=40, sex="male") == eq5d.index("21325", DEVLIN)


@pytest.mark.parametrize("value_set", [CROSSWALK, DEVLIN])
def test_full_health_is_1(value_set):
    assert eq5d.index("11111", value_set) == 1.0


@pytest.mark.parametrize(("value_set", "worst"), [(CROSSWALK, -0.594), (DEVLIN, -0.285)])
def test_the_worst_state_has_the_published_worst_value(value_set, worst):
    # Dolan 1997 UK 3L TTO 33333 = -0.594 (reached by the crosswalk); Devlin 2018: 55555 = -0.285.
    assert eq5d.index("55555", value_set) == pytest.approx(worst)


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        # 1 - the Devlin et al. 2018 (Health Econ 27(1):7-22, Table 4) decrements for each level.
        ("21325", 1 - (0.058 + 0.000 + 0.063 + 0.063 + 0.289)),
        ("11112", 0.922),
        ("12345", 1 - (0.050 + 0.063 + 0.276 + 0.289)),
        ("33333", 1 - (0.076 + 0.080 + 0.063 + 0.084 + 0.104)),
    ],
)
def test_it_scores_devlin_2018_from_its_published_coefficients(profile, expected):
    assert eq5d.index(profile, DEVLIN) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("profile", "published"),
    [
        # UK column of the EuroQol EQ-5D-5L Crosswalk Index Value Calculator (v2), van Hout et al. 2012.
        ("11112", 0.879),
        ("11115", 0.414),
        ("11141", 0.584),
        ("11444", 0.270),
        ("12222", 0.649),
        ("13333", 0.585),
        ("21111", 0.877),
        ("22255", -0.144),
        ("31444", 0.201),
        ("41555", -0.153),
        ("54411", 0.150),
        ("55151", -0.264),
    ],
)
def test_it_reproduces_published_crosswalk_values(profile, published):
    assert eq5d.index(profile, CROSSWALK) == pytest.approx(published, abs=1e-9)


def test_the_crosswalk_table_covers_every_profile_within_the_3l_range():
    values = eq5d.VALUE_SETS[CROSSWALK].values
    assert len(values) == 3125
    assert all(-0.594 <= v <= 1.0 for v in values.values())


def test_it_accepts_a_tuple_or_a_string():
    assert (
        eq5d.index((2, 1, 3, 2, 5), DEVLIN)
        == eq5d.index("21325", DEVLIN)
        == eq5d.index(" 21325 ", DEVLIN)
    )


@pytest.mark.parametrize(
    "profile",
    [
        "1111",
        "111111",
        "11116",
        "01111",
        "1111a",
        "",
        (1, 2, 3, 4),
        (1, 1, 1, 1, 6),
        (1.0, 1, 1, 1, 1),
        (True, 1, 1, 1, 1),
        None,
        11111,
    ],
)
def test_it_rejects_invalid_profiles_with_a_clear_message(profile):
    with pytest.raises(ValueError, match="EQ-5D-5L"):
        eq5d.index(profile)


def test_it_rejects_an_unknown_value_set_and_lists_the_known_ones():
    with pytest.raises(ValueError, match=DEVLIN):
        eq5d.index("11111", "en-5l-made-up")


def test_describe_names_the_value_set_and_its_source_on_one_line():
    line = eq5d.describe()
    assert DSU in line and "Hernández Alava" in line and "doi:10.1007/s40273-022-01218-7" in line
    assert "\n" not in line
    assert "doi:10.1016/j.jval.2012.02.008" in eq5d.describe(CROSSWALK)
    assert "doi:10.1002/hec.3564" in eq5d.describe(DEVLIN)


profiles = st.tuples(*[st.integers(min_value=1, max_value=5)] * 5)


@given(profiles, st.sampled_from([CROSSWALK, DEVLIN]))
def test_the_index_never_exceeds_1(profile, value_set):
    assert eq5d.index(profile, value_set) <= 1.0


@given(profiles, st.integers(min_value=0, max_value=4), st.sampled_from([CROSSWALK, DEVLIN]))
def test_worsening_one_dimension_never_raises_the_index(profile, dimension, value_set):
    if profile[dimension] == 5:
        return
    worse = list(profile)
    worse[dimension] += 1
    assert eq5d.index(tuple(worse), value_set) <= eq5d.index(profile, value_set)


def test_worsening_is_monotone_for_every_devlin_profile():
    for profile in itertools.product(range(1, 6), repeat=5):
        for dimension in range(5):
            if profile[dimension] < 5:
                worse = profile[:dimension] + (profile[dimension] + 1,) + profile[dimension + 1 :]
                assert eq5d.index(worse, DEVLIN) <= eq5d.index(profile, DEVLIN)
