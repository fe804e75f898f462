"""Comparison with published ablation results (the figures are in docs/thermal-engine.md)."""

import pytest

from thermablate.physics import simulate
from thermablate.planning import scenario_from_dict


def _goldberg(criterion="arrhenius"):
    # Goldberg SN et al. Acad Radiol 1995;2:399-404 (doi:10.1016/S1076-6332(05)80342-3): a
    # conventional (uncooled) monopolar electrode at 90 °C for 6 min coagulated at most about
    # 1.6 cm in diameter in ex vivo liver. Modelled: 18 G, 20 mm tip, unperfused liver at 37 °C,
    # on a 0.5 mm grid (a 1 mm grid widens the 1.27 mm needle and the zone by ~3 mm).
    return scenario_from_dict(
        {
            "duration_s": 360,
            "grid": {"spacing_mm": 0.5, "extent_mm": [40, 40, 50]},
            "anatomy": {"uniform": "liver-ex-vivo"},
            "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 10], "direction": [0, 0, 1],
                            "active_tip_mm": 20, "gauge": 18}],
            "generator": {"mode": "temperature", "target_temp_c": 90, "max_power_w": 50},
            "solver": {"criterion": criterion},
        }
    )  # fmt: skip


@pytest.mark.slow
def test_goldberg_1995_zone_diameter():
    result = simulate(_goldberg())
    assert result.stopped_reason is None
    diameter_mm = result.zone.transverse_mm
    # Published: at most about 16 mm. The model gives 20 mm (Arrhenius): a 37 °C start (the
    # ex vivo tissue's starting temperature is not in the abstract; from 20 °C the model gives
    # 12 mm) and no charring enlarge it (docs/thermal-engine.md). The band is the one a
    # planning tool must meet: the right size class, not a 3 cm zone.
    assert 12.0 <= diameter_mm <= 24.0, diameter_mm
    # Held at 90 °C, the zone must stop growing: the diameter saturates (Goldberg's "maximum").
    assert result.tip_temperature_c[-1] == pytest.approx(90.0, abs=1.5)


def _irastorza(sigma_reactive_s_m):
    # Irastorza RM et al. Int J Hyperthermia 2016;32:221-230 (doi:10.3109/02656736.2015.1135998):
    # 10 mm nidus in a reactive (sclerotic) zone, 17 G electrode at 90 °C for 300 s; lowering the
    # reactive zone's conductivity from 0.087 to 0.02 S/m enlarged the lesion from 1.8 to 2.4 cm
    # because the insulating shell confines the current to the nidus.
    return scenario_from_dict(
        {
            "anatomy": {"preset": "osteoid-osteoma",
                        "parameters": {"nidus_diameter_mm": 10, "reactive_zone_mm": 3.0}},
            "grid": {"spacing_mm": 1.0, "extent_mm": [40, 40, 40]},
            "tissues": {"tumour-sclerotic": {"electrical_conductivity_s_m": sigma_reactive_s_m}},
            "electrodes": [{"geometry": "needle", "tip_mm": [0, -3.5, 0], "direction": [0, -1, 0],
                            "active_tip_mm": 7, "gauge": 17}],
        }
    )  # fmt: skip


def test_irastorza_2016_insulating_reactive_zone_enlarges_the_lesion():
    insulating = simulate(_irastorza(0.02))
    conducting = simulate(_irastorza(0.087))
    # Direction and size class of the published effect: the model gives 26 vs 24 mm across and
    # 8.5 vs 6.8 ml (published 24 vs 18 mm): the effect is reproduced, weaker.
    assert insulating.zone.volume_ml > 1.15 * conducting.zone.volume_ml
    assert insulating.zone.transverse_mm > conducting.zone.transverse_mm
    assert insulating.zone.transverse_mm == pytest.approx(24.0, rel=0.2)
