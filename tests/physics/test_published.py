"""Comparison with published ablation results (the figures are in docs/thermal-engine.md)."""

import numpy as np
import pytest

from thermablate.physics import iterate, simulate
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
    # Published: at most about 16 mm. The model gives 22 mm (Arrhenius): a 37 °C start (the
    # ex vivo tissue's starting temperature is not in the abstract; from 20 °C the model gives
    # 12 mm) and no charring enlarge it (docs/thermal-engine.md). The band is the one a
    # planning tool must meet: the right size class, not a 3 cm zone.
    assert 12.0 <= diameter_mm <= 24.0, diameter_mm
    # Held at 90 °C, the zone must stop growing: the diameter saturates (Goldberg's "maximum").
    assert result.tip_temperature_c[-1] == pytest.approx(90.0, abs=1.5)


@pytest.mark.slow
def test_goldberg_1995_lesion_stops_growing_after_6_minutes():
    # "Lesion diameter ... increased with ... duration of treatment to a maximum of 6 min", and
    # "Lesions varied equal to or less than 3 mm in diameter". The 50 °C isotherm's diameter
    # across the middle of the tip (as a lesion is measured), from ex vivo liver at 20 °C with
    # a 15 s ramp: 14.47 mm at 6 min and 15.96 mm at 12 min, under the 16 mm limit (by a thin
    # margin) and growing by less than the published scatter. (The Arrhenius zone grows
    # faster: 15 -> 18 mm; docs/thermal-engine.md.)
    s = scenario_from_dict(
        {
            "duration_s": 720,
            "initial_temp_c": 20.0,
            "grid": {"spacing_mm": 0.5, "extent_mm": [36, 36, 44]},
            "anatomy": {"uniform": "liver-ex-vivo"},
            "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 10], "direction": [0, 0, 1],
                            "active_tip_mm": 20, "gauge": 18}],
            "generator": {"mode": "temperature", "target_temp_c": 90, "max_power_w": 50,
                          "ramp_s": 15},
        }
    )  # fmt: skip
    i, j, k = s.grid.index_of_m((0.0, 0.0, 0.0))
    diameters = {}
    for t, state in iterate(s):
        assert state.stopped_reason is None
        for minute in (6.0, 12.0):
            if minute not in diameters and t >= 60 * minute - 1e-6:
                line = state.max_temperature_c[:, j, k]
                diameters[minute] = _isotherm_extent_mm(line, s.grid.spacing_mm, 50.0)
    assert diameters[12.0] <= 16.0
    assert 0.0 <= diameters[12.0] - diameters[6.0] <= 3.0


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
    # 8.6 vs 7.0 ml (published 24 vs 18 mm): the effect is reproduced, weaker.
    assert insulating.zone.volume_ml > 1.15 * conducting.zone.volume_ml
    assert insulating.zone.transverse_mm > conducting.zone.transverse_mm
    assert insulating.zone.transverse_mm == pytest.approx(24.0, rel=0.2)


def _cosman_widths_mm(gauge=20, target_temp_c=80.0, initial_temp_c=20.0, ramp_s=15.0):
    """Width of the 50 °C isotherm across the middle of a 10 mm tip at 1, 2 and 3 min, and
    its length along the needle at 2 min. [mm]

    Cosman ER Jr, Dolensky JR, Hoffman RA. Factors that affect radiofrequency heat lesion size.
    Pain Med 2014;15:2020-2036 (doi:10.1111/pme.12566): monopolar sharp cannulae of 23-16 G
    with 5-15 mm tips at 60-90 °C for 1-10 min, ex vivo animal tissue, lesion sizes from
    photographs (by "automated photographic temperature inference", so the lesion's edge is
    an isotherm: the engine's 50 °C isotherm, Goldberg 2000). The abstract gives neither the
    tissue's starting temperature nor the generator's ramp: ex vivo tissue at 20 °C and a 15 s
    ramp are assumed (37 °C changes the growth ratios by under 3 points, docs/thermal-engine.md).
    Widths are interpolated between cell centres (a whole-voxel count would quantise a 7 mm
    width by 7 % on this grid).
    """
    s = scenario_from_dict(
        {
            "duration_s": 180,
            "initial_temp_c": initial_temp_c,
            "grid": {"spacing_mm": 0.5, "extent_mm": [16, 16, 22]},
            "anatomy": {"uniform": "liver-ex-vivo"},
            "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 5], "direction": [0, 0, 1],
                            "active_tip_mm": 10, "gauge": gauge}],
            "generator": {"mode": "temperature", "target_temp_c": target_temp_c,
                          "max_power_w": 50, "ramp_s": ramp_s},
        }
    )  # fmt: skip
    g = s.grid
    i, j, k = g.index_of_m((0.0, 0.0, 0.0))
    widths, length = {}, None
    for t, state in iterate(s):
        assert state.stopped_reason is None
        minute = next((m for m in (1.0, 2.0, 3.0) if m not in widths and t >= 60 * m - 1e-6), None)
        if minute is not None:  # the first step at or past the minute
            peak = state.max_temperature_c
            widths[minute] = _isotherm_extent_mm(peak[:, j, k], g.spacing_mm, 50.0)
            if minute == 2.0:
                length = _isotherm_extent_mm(peak[i, j, :], g.spacing_mm, 50.0)
    return widths, length


def _isotherm_extent_mm(line_c, spacing_mm, level_c):
    """Distance between the outermost crossings of ``level_c`` along a line of cells. [mm]"""
    inside = np.flatnonzero(line_c >= level_c)
    lo, hi = inside[0], inside[-1]

    def crossing(a, b):  # linear between the centres of cells a (inside) and b (outside)
        return a + (line_c[a] - level_c) / (line_c[a] - line_c[b]) * (b - a)

    return (crossing(hi, hi + 1) - crossing(lo, lo - 1)) * spacing_mm


def test_cosman_2014_lesion_width_grows_with_time_as_published():
    widths, length = _cosman_widths_mm()
    # Published: "average lesion width is 11-20% larger at 2 minutes, and 23-32% larger at 3
    # minutes, compared with 1 minute". The model: +18 % and +21 % with the contact's true
    # surface in the potential (issue 13); before it, +19 % and +22 % (+15 % and +18 % with a 5 s
    # ramp, +19 % and +22 % from 37 °C): inside at 2 minutes, 1-5 points under at 3, so the
    # model's lesion settles a little sooner than the published ones; it does not keep
    # growing. (With the presets' 60 s ramp the 1-minute lesion is still small and the ratios
    # are +62 % and +75 %: the "71 %" of issue 13 came from the ramp.)
    assert 0.11 <= widths[2.0] / widths[1.0] - 1 <= 0.20
    assert 0.20 <= widths[3.0] / widths[1.0] - 1 <= 0.32
    # "Lesion length ... exceeds tip length by 1-5 mm at 80°C and 2 minutes."
    assert 1.0 <= length - 10.0 <= 5.0


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 13: with the contact's true surface in the potential (the default since then) "
        "the model gives +105 % at 0.5 mm and +103 % at 0.25 mm, under the published "
        "108-152 %; the voxelised contact's +112 % fell to +108 % at 0.25 mm, so its pass was "
        "partly a grid artefact (docs/thermal-engine.md, Cosman et al. 2014)"
    ),
)
def test_cosman_2014_temperature_widens_the_lesion():
    cool, _ = _cosman_widths_mm(target_temp_c=60.0)
    hot, _ = _cosman_widths_mm(target_temp_c=90.0)
    # "Increasing temperature from 60°C to 90°C increases lesion width 108-152% at 2 minutes":
    # the model gives +105 % (4.11 -> 8.44 mm); with the voxelised contact it gave +112 %
    # (3.84 -> 8.13 mm). The true surface widens the cool lesion more than the hot one.
    assert 1.08 <= hot[2.0] / cool[2.0] - 1 <= 1.52


def test_cosman_2014_gauge_widens_the_lesion():
    thin, _ = _cosman_widths_mm(gauge=22)
    thick, _ = _cosman_widths_mm(gauge=16)
    # "Increasing cannula diameter from 22 to 16 gauge increases average lesion width 58-65%
    # (3-4 mm) at 80°C and 2 minutes": the model gives +40 % (+2.7 mm; +41 % at 0.25 mm),
    # outside and under the published effect (docs/thermal-engine.md); the test holds it to
    # the direction and to within 25 points of the published range, so that a regression
    # shows. (With the voxelised contact: +38 % at 0.5 mm, +58 % at 0.25 mm: not steady.)
    assert 0.33 <= thick[2.0] / thin[2.0] - 1 <= 0.65
    assert 2.0 <= thick[2.0] - thin[2.0] <= 4.0
