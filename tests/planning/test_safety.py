"""The neural safety verdict: thresholds, the verdict on a simulation, and how it is reported."""

import pytest

from thermablate.planning import neural_safety, scenario_from_dict, simulate
from thermablate.planning.report import report_dict, summary
from thermablate.planning.safety import neural_verdict

NEURAL = {"spinal-cord", "nerve-root-left"}


def test_it_puts_neural_tissue_at_risk_from_45_c_or_a_cem43_of_1_min():
    # Dupuy et al. 2000 (45 °C) and the conservative 1 min dose: at the threshold is at risk.
    cord, root = neural_verdict(
        {"spinal-cord": (45.0, 0.5), "nerve-root-left": (40.0, 1.0)}, NEURAL
    )
    assert cord.at_risk and cord.temperature_exceeded and not cord.dose_exceeded
    assert root.at_risk and root.dose_exceeded and not root.temperature_exceeded
    assert cord.reason() == "45.0 °C >= 45 °C" and root.reason() == "CEM43 1 min >= 1 min"
    (below,) = neural_verdict({"spinal-cord": (44.9, 0.99)}, NEURAL)
    assert not below.at_risk and below.reason() == ""


def test_it_judges_only_neural_tissues():
    assert neural_verdict({"muscle": (90.0, 1e9)}, NEURAL) == []


def _heated(tissue: str):
    # A sphere held at 60 °C for 10 s inside a block of one tissue: hot enough to pass 45 °C.
    return simulate(
        scenario_from_dict(
            {
                "duration_s": 10,
                "grid": {"spacing_mm": 1.0, "extent_mm": [16, 16, 16]},
                "anatomy": {"uniform": tissue},
                "electrodes": [{"geometry": "sphere", "centre_mm": [0, 0, 0], "radius_mm": 2.0}],
                "generator": {"mode": "held", "target_temp_c": 60.0},
            }
        )
    )


@pytest.fixture(scope="module")
def heated_cord():
    return _heated("spinal-cord")


def test_it_finds_a_heated_cord_at_risk_and_says_so(heated_cord):
    verdict = neural_safety(heated_cord)
    (cord,) = verdict.structures  # nerve roots are not in this grid: not judged
    assert cord.tissue == "spinal-cord" and cord.max_temperature_c > 45.0
    assert cord.max_temperature_c == heated_cord.tissues["spinal-cord"]["max_temp_c"]
    assert not verdict.safe and verdict.at_risk == [cord]
    assert f"Safety: AT RISK spinal-cord (spinal cord and conus): {cord.reason()}" in summary(
        heated_cord
    )
    report = report_dict(heated_cord)
    assert report["safety"]["safe"] is False
    assert report["safety"]["structures"][0]["at_risk"] is True
    assert list(report)[-2:] == ["safety", "time_series"]


def test_a_model_without_neural_tissue_is_not_safe_but_has_nothing_to_judge():
    # Before issue 13 this was "safe": a verdict that rests on no structure at all.
    result = _heated("muscle")
    verdict = neural_safety(result)
    assert verdict.structures == () and not verdict.safe
    assert verdict.status == "nothing to judge"
    assert "Safety: no neural structure in the model, so nothing is judged." in summary(result)
    safety = report_dict(result)["safety"]
    assert safety["safe"] is False and safety["structures"] == []
    assert safety["not_modelled"] == ["spinal-cord", "cauda-equina", "nerve-root-left",
                                      "nerve-root-right", "csf", "dura", "epidural-fat"]  # fmt: skip
