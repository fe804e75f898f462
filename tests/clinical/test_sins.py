"""SINS (Fisher et al., Spine 2010;35(22):E1221-E1229, doi:10.1097/BRS.0b013e3181e16ae2)."""

import pytest

from thermablate.clinical import sins
from thermablate.clinical.datafiles import read_data_file
from thermablate.clinical.spine import SPINAL_LEVELS

# Fisher 2010, Table 1: every component's answers and points.
PUBLISHED_POINTS = {
    "location": {"junctional": 3, "mobile": 2, "semi_rigid": 1, "rigid": 0},
    "pain": {"mechanical": 3, "occasional": 1, "pain_free": 0},
    "bone_lesion": {"lytic": 2, "mixed": 1, "blastic": 0},
    "alignment": {"subluxation": 4, "de_novo_deformity": 2, "normal": 0},
    "collapse": {"over_50": 3, "under_50": 2, "none_over_50_involved": 1, "none": 0},
    "posterolateral": {"bilateral": 3, "unilateral": 1, "none": 0},
}

# Fisher 2010: junctional occiput-C2, C7-T2, T11-L1, L5-S1; mobile C3-C6, L2-L4; semi-rigid
# T3-T10; rigid S2-S5. Written out level by level so the test does not reuse the data file.
REGION_OF_LEVEL = {
    **dict.fromkeys(["C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1"], "junctional"),
    **dict.fromkeys(["C3", "C4", "C5", "C6", "L2", "L3", "L4"], "mobile"),
    **dict.fromkeys([f"T{i}" for i in range(3, 11)], "semi_rigid"),
    **dict.fromkeys(["S2", "S3", "S4", "S5"], "rigid"),
}

WORST = {
    "pain": "mechanical",
    "bone_lesion": "lytic",
    "alignment": "subluxation",
    "collapse": "over_50",
    "posterolateral": "bilateral",
}
BEST = {
    "pain": "pain_free",
    "bone_lesion": "blastic",
    "alignment": "normal",
    "collapse": "none",
    "posterolateral": "none",
}


def test_it_has_the_six_published_components():
    assert set(sins.COMPONENTS) == set(PUBLISHED_POINTS)


@pytest.mark.parametrize(
    ("component", "code", "expected"),
    [(comp, code, pts) for comp, table in PUBLISHED_POINTS.items() for code, pts in table.items()],
)
def test_every_answer_scores_its_published_points(component, code, expected):
    assert sins.points(component, code) == expected


@pytest.mark.parametrize("component", list(PUBLISHED_POINTS))
def test_each_component_offers_exactly_the_published_answers(component):
    assert {a.code for a in sins.answers(component)} == set(PUBLISHED_POINTS[component])


def test_the_region_table_covers_every_level_c1_to_s5():
    assert set(REGION_OF_LEVEL) == set(SPINAL_LEVELS)


@pytest.mark.parametrize("level", SPINAL_LEVELS)
def test_the_location_follows_from_each_level(level):
    assert sins.location_of_level(level) == REGION_OF_LEVEL[level]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ("T5", "semi_rigid"),
        ("T9-T10", "semi_rigid"),
        ("T10-T11", "junctional"),  # reaches the thoracolumbar junction
        ("L3-L4", "mobile"),
        ("L4-L5", "junctional"),
        ("S2-S4", "rigid"),
        ("s1-s2", "junctional"),
        (["C4", "C5"], "mobile"),
    ],
)
def test_a_lesion_over_several_levels_takes_its_highest_scoring_region(levels, expected):
    assert sins.location_of_levels(levels) == expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (0, "stable"),
        (6, "stable"),
        (7, "indeterminate"),
        (12, "indeterminate"),
        (13, "unstable"),
        (18, "unstable"),
    ],
)
def test_the_category_boundaries_are_fishers(total, expected):
    assert sins.category(total) == expected


@pytest.mark.parametrize("total", [-1, 19, 6.5, True, None])
def test_a_total_outside_0_to_18_has_no_category(total):
    with pytest.raises(sins.SinsError):
        sins.category(total)


def test_the_worst_lesion_scores_18_and_is_unstable():
    result = sins.score("T12", WORST)
    assert result.total == 18
    assert result.category == "unstable"
    assert result.points["location"] == 3


def test_the_best_lesion_scores_0_and_is_stable():
    result = sins.score("S3", BEST)
    assert (result.total, result.category) == (0, "stable")


def test_a_painful_lytic_mid_thoracic_lesion_is_indeterminate():
    # semi-rigid 1 + mechanical 3 + lytic 2 + normal 0 + <50 % collapse 2 + unilateral 1 = 9
    answered = {
        **BEST,
        "pain": "mechanical",
        "bone_lesion": "lytic",
        "collapse": "under_50",
        "posterolateral": "unilateral",
    }
    result = sins.score("T6", answered)
    assert result.total == 9
    assert result.category == "indeterminate"
    assert result.category_label == "Indeterminate (possibly impending instability)"
    assert dict(result.points) == {
        "location": 1,
        "pain": 3,
        "bone_lesion": 2,
        "alignment": 0,
        "collapse": 2,
        "posterolateral": 1,
    }


def test_a_missing_answer_gives_no_score():
    with pytest.raises(sins.SinsError, match="collapse"):
        sins.score("L3", {k: v for k, v in WORST.items() if k != "collapse"})


def test_an_unknown_answer_is_refused_by_name():
    with pytest.raises(sins.SinsError, match="unknown answer 'sclerotic'"):
        sins.score("L3", {**WORST, "bone_lesion": "sclerotic"})


def test_a_lesion_without_a_level_has_no_location():
    with pytest.raises(sins.SinsError):
        sins.location_of_levels("")


def test_the_table_names_its_source_and_version():
    meta, _ = read_data_file(sins.DATA_FILE)
    assert "10.1097/BRS.0b013e3181e16ae2" in " ".join(meta["source"])
    assert sins.table_version() == "1"
