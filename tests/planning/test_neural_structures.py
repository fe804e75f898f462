"""Issue 13, point 1: every neural-risk structure in the canal is judged.

Found by a physicist: with the tumour 4 mm from the posterior wall of a lumbar vertebra, the
CSF against the wall reached 47-50 °C and the epidural space 45-47 °C while the verdict said
"safe", because only the cord label was judged (41-42 °C), and below L1-L2 the canal holds the
cauda equina, not a cord. The anatomy now has the thecal sac (dura, CSF), the epidural space,
the cord and conus at L1 or the cauda equina below, and the verdict judges each of them, says
which it could not judge, and is never "safe" from numbers it has not checked.
"""

import math

import numpy as np
import pytest

from thermablate.planning import neural_safety, preset_scenario, scenario_from_dict, simulate
from thermablate.planning.anatomy import TISSUE_ORDER
from thermablate.planning.report import report_dict, summary
from thermablate.planning.safety import NEURAL_STRUCTURES, SafetyVerdict, neural_verdict


def _tissue_at(s, point_mm):
    return TISSUE_ORDER[s.labels[s.grid.index_of_m(np.asarray(point_mm) * 1e-3)]]


def _present(s):
    return {TISSUE_ORDER[i] for i in np.unique(s.labels)}


def test_below_the_conus_the_canal_holds_the_cauda_equina_in_csf_inside_the_dura():
    s = preset_scenario("lumbar-metastasis", {"level": "L3"})
    present = _present(s)
    assert {
        "cauda-equina",
        "csf",
        "dura",
        "epidural-fat",
        "nerve-root-left",
        "nerve-root-right",
    } <= present
    assert "spinal-cord" not in present
    wall_y = -16.0  # posterior wall of the body; the canal lies behind it (y < wall_y)
    # From the wall backwards along the midline: epidural space, dura, CSF, then the roots.
    along = [_tissue_at(s, (0, wall_y - d, 0)) for d in np.arange(0.25, 8.0, 0.5)]
    first = list(dict.fromkeys(along))
    assert first[:4] == ["epidural-fat", "dura", "csf", "cauda-equina"]


def test_at_l1_the_canal_holds_the_conus_of_the_spinal_cord():
    s = preset_scenario("lumbar-metastasis", {"level": "L1"})
    assert "spinal-cord" in _present(s) and "cauda-equina" not in _present(s)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"level": "S7"}, "level must be one of L1, L2, L3, L4, L5"),
        ({"epidural_anterior_mm": -1}, "epidural_anterior_mm must be a finite number of mm"),
        ({"dura_thickness_mm": float("nan")}, "dura_thickness_mm must be a finite number of mm"),
        (
            {"epidural_posterior_mm": 12},
            "the thecal sac left inside the epidural space has no room",
        ),
    ],
)
def test_a_canal_that_cannot_be_drawn_is_refused(parameters, message):
    from thermablate.planning import ScenarioError

    with pytest.raises(ScenarioError, match=message):
        preset_scenario("lumbar-metastasis", parameters)


@pytest.fixture(scope="module")
def four_mm_from_the_wall():
    # The physicist's case: the preset's defaults (L3, 15 mm lytic tumour 4 mm from the wall,
    # 90 °C for 5 minutes), on the 1 mm grid the preset had then (its default is now 0.5 mm,
    # eight times the cells; the verdict is the same on both).
    return simulate(
        scenario_from_dict(
            {"anatomy": {"preset": "lumbar-metastasis"}, "grid": {"spacing_mm": 1.0}}
        )
    )


def test_a_tumour_4_mm_from_the_wall_is_not_safe_for_the_canal(four_mm_from_the_wall):
    verdict = neural_safety(four_mm_from_the_wall)
    judged = {v.tissue: v for v in verdict.structures}
    assert {
        "csf",
        "dura",
        "epidural-fat",
        "cauda-equina",
        "nerve-root-left",
        "nerve-root-right",
    } <= set(judged)
    # The epidural space against the wall passes 45 °C (Groetz 2013 measured 46.8 ± 4.7 °C
    # there with a 10 mm probe): the verdict is "at risk", where the cord label alone said
    # "safe". The epidural fat shields the CSF behind it.
    assert judged["epidural-fat"].temperature_exceeded
    assert judged["csf"].max_temperature_c < judged["dura"].max_temperature_c
    assert not verdict.safe and verdict.status == "at risk"
    text = summary(four_mm_from_the_wall)
    assert "AT RISK epidural-fat (epidural space" in text
    # And it says what the anatomy leaves out.
    assert "Not in this model: spinal cord" in text


def test_each_structure_is_reported_with_its_peak_temperature_and_dose(four_mm_from_the_wall):
    report = report_dict(four_mm_from_the_wall)["safety"]
    assert report["status"] == "at risk" and report["safe"] is False
    rows = {row["tissue"]: row for row in report["structures"]}
    assert rows["csf"]["structure"] == NEURAL_STRUCTURES["csf"]
    assert rows["epidural-fat"]["max_temp_c"] > 45.0 and rows["epidural-fat"]["at_risk"]
    assert rows["csf"]["max_temp_c"] > 38.0 and rows["csf"]["max_cem43_min"] > 0
    assert report["not_modelled"] == ["spinal-cord"]


def _verdict(tmax, dmax=0.1, problems=()):
    return SafetyVerdict(tuple(neural_verdict({"csf": (tmax, dmax)}, {"csf"})), (), problems)


def test_a_verdict_is_never_safe_from_numbers_that_are_not_finite():
    assert _verdict(40.0).safe and _verdict(40.0).status == "below thresholds"
    for bad in (math.nan, math.inf):
        v = _verdict(bad)
        assert not v.safe and v.status == "cannot judge"
        assert "not finite" in v.problems_text()
    v = _verdict(40.0, dmax=math.nan)
    assert not v.safe and v.status == "cannot judge"


def test_a_run_that_stopped_early_cannot_be_judged_safe():
    # 50 W without a ramp boils the tumour within seconds, long before the canal warms.
    result = simulate(scenario_from_dict({
        "anatomy": {"preset": "lumbar-metastasis", "parameters": {"posterior_wall_distance_mm": 8}},
        "generator": {"mode": "power", "max_power_w": 50, "ramp_s": 0},
    }))  # fmt: skip
    assert result.stopped_reason
    verdict = neural_safety(result)
    assert verdict.status == "cannot judge" and not verdict.safe
    assert "the run stopped at" in verdict.problems_text()


def test_a_model_without_neural_structures_is_not_called_safe():
    result = simulate(scenario_from_dict({
        "duration_s": 5,
        "grid": {"spacing_mm": 1.0, "extent_mm": [12, 12, 12]},
        "anatomy": {"uniform": "muscle"},
        "electrodes": [{"geometry": "sphere", "centre_mm": [0, 0, 0], "radius_mm": 2.0}],
        "generator": {"mode": "held", "target_temp_c": 60.0},
    }))  # fmt: skip
    verdict = neural_safety(result)
    assert verdict.status == "nothing to judge" and not verdict.safe
    assert "Safety: no neural structure in the model" in summary(result)
