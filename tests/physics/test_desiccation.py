"""The electrical conductivity follows the water boiled off (issue 13).

``electric.conductivity_factor`` is ``linear(T) * (f_dry + (1 - f_dry) * water)``, with the
remaining water fraction ``1 - L / L_max`` read from the tissue's latent heat
(``physics/phase.py``): a cell at 100 °C that has boiled nothing conducts as wet tissue, and
its conductivity falls to the dry value only as the heat it receives boils its water off.
"""

import math

import numpy as np
import pytest

from tests.physics.test_phase_change import _sphere_boiling
from thermablate.physics import Scenario, simulate
from thermablate.physics.bioheat import BioheatState, MaterialTables
from thermablate.physics.electric import DESICCATION_FACTOR, conductivity_factor
from thermablate.physics.generator import Generator
from thermablate.physics.grid import Grid
from thermablate.physics.phase import LATENT_HEAT_J_KG

ALPHA = 0.015  # 1/K, the tissues' sigma(T) coefficient (Berjano 2006)
RHOC, DENSITY, WATER = 4.0e6, 1000.0, 0.5  # J/(m^3 K), kg/m^3, -


def _linear(t_c):
    return 1.0 + ALPHA * (min(t_c, 100.0) - 37.0)


def test_the_conductivity_falls_linearly_with_the_water_left():
    water = np.linspace(0.0, 1.0, 11)
    factor = conductivity_factor(np.full(11, 100.0), ALPHA, water)
    expected = _linear(100.0) * (DESICCATION_FACTOR + (1 - DESICCATION_FACTOR) * water)
    np.testing.assert_allclose(factor, expected, rtol=1e-15)
    # Wet tissue at 100 °C conducts as the linear rise says: no drop before any water boils
    # (the temperature-only model had already fallen a hundredfold at 100 °C).
    assert factor[-1] == pytest.approx(1.945, rel=1e-12)
    assert conductivity_factor(100.0, ALPHA) == pytest.approx(DESICCATION_FACTOR * 1.93)
    # Dry tissue: two orders of magnitude down, and no further rise above 100 °C.
    assert factor[0] == pytest.approx(DESICCATION_FACTOR * 1.945, rel=1e-12)
    assert conductivity_factor(104.0, ALPHA, 0.0) == factor[0]
    # Below boiling, with all its water, the linear rise alone.
    assert conductivity_factor(60.0, ALPHA, 1.0) == pytest.approx(_linear(60.0), rel=1e-15)


def test_a_boiling_cell_loses_conductivity_only_as_its_water_boils_off():
    # A closed box (k = 0) heated at constant q: it reaches 100 °C, boils for L_max / q, then
    # dries. Its conductivity is the wet one when it reaches 100 °C and falls linearly in time
    # (its water boils off at q / L_max) to the dry one, reached exactly when the water is gone.
    q_w_m3, dt_s = 1.0e8, 0.01
    shape = (2, 2, 2)
    grid = Grid(shape, 1e-3, (0.0, 0.0, 0.0))
    tables = MaterialTables([0.0], [RHOC], [0.0], 1e-3, [WATER], [DENSITY])
    bio = BioheatState(grid, np.zeros(shape, np.intp), tables, 37.0, 37.0)
    heat = np.full(shape, q_w_m3)
    times, temps, factors = [], [], []
    for n in range(1, 1601):
        bio.advance(None, 0.0, heat, 1.0, 37.0, dt_s)
        times.append(n * dt_s)
        temps.append(float(bio.temperature_c[0, 0, 0]))
        factors.append(
            float(conductivity_factor(bio.temperature_c, ALPHA, bio.water_fraction())[0, 0, 0])
        )
    times, temps, factors = map(np.array, (times, temps, factors))
    reach_s = 63.0 * RHOC / q_w_m3  # 37 -> 100 °C
    boil_s = WATER * DENSITY * LATENT_HEAT_J_KG / q_w_m3  # 11.285 s
    wet = temps < 100.0
    np.testing.assert_allclose(factors[wet], 1.0 + ALPHA * (temps[wet] - 37.0), rtol=1e-12)
    plateau = temps == 100.0
    assert plateau.sum() >= math.floor(boil_s / dt_s) - 1
    water_left = 1.0 - (times[plateau] - reach_s) / boil_s
    expected = _linear(100.0) * (DESICCATION_FACTOR + (1 - DESICCATION_FACTOR) * water_left)
    np.testing.assert_allclose(factors[plateau], expected, rtol=1e-9)
    assert np.all(np.diff(factors[plateau]) < 0.0)
    # The first step at 100 °C still conducts within one step's boiling of the wet value.
    assert factors[plateau][0] > _linear(100.0) * (1 - 1.01 * dt_s / boil_s)
    dry = temps > 100.0
    np.testing.assert_allclose(factors[dry], DESICCATION_FACTOR * _linear(100.0), rtol=1e-12)


def _boiling_sphere(**changes) -> Scenario:
    # The sphere of test_phase_change at 4 W: the fat shell boils from a few seconds on and
    # dries; the impedance doubles (the roll-off) at about 12 s.
    return _sphere_boiling(
        **{"generator": Generator(mode="power", max_power_w=4.0, ramp_s=0.0), **changes}
    )


def test_the_potential_follows_the_water_and_a_finer_trigger_changes_little():
    water_only = {"electric_update_conductance": 1.0}  # the load trigger never fires
    coarse = simulate(_boiling_sphere(electric_update_water=0.1, **water_only))
    fine = simulate(_boiling_sphere(electric_update_water=0.02, **water_only))
    assert "roll-off" in coarse.stopped_reason and "roll-off" in fine.stopped_reason
    # Measured: the roll-off at 12.5 s with a re-solve per 10 % of a cell's water boiled off
    # (13 solves), 11.94 s per 2 % (37 solves) and per 1 % (52). The roll-off shows at the
    # re-solve that finds the impedance doubled, so a coarser trigger finds it later, never
    # earlier, by at most the time one trigger's worth of a cell's water takes to boil: 4.7 %
    # here, where the fat shell that dries holds a sixth of the muscle's water per volume. (With
    # the muscle drying first, before issue 13 split the Joule heat by resistance: 18.47,
    # 18.06 and 17.92 s, 2.3 %.)
    assert fine.time_s[-1] <= coarse.time_s[-1] <= 1.06 * fine.time_s[-1]
    assert coarse.electric_solves < fine.electric_solves


def test_the_load_trigger_finds_the_roll_off_on_time():
    """The default re-solves when the water boiled off has moved the load's conductance by
    1 % (to first order, weighted by where the current flows): the roll-off, a change of the
    load, is found when the finest per-cell trigger finds it, not one trigger's worth late."""
    finest = simulate(_boiling_sphere(electric_update_water=0.01, electric_update_conductance=1.0))
    default = simulate(_boiling_sphere())
    per_cell_10 = simulate(
        _boiling_sphere(electric_update_water=0.1, electric_update_conductance=1.0)
    )
    assert "roll-off" in default.stopped_reason
    # Measured: 17.92 s with the load trigger (44 solves), 17.92 s per 1 % of a cell's water
    # (57), 18.47 s per 10 % (14, the default before).
    assert default.time_s[-1] == pytest.approx(finest.time_s[-1], rel=0.005)
    assert abs(default.time_s[-1] - finest.time_s[-1]) < abs(
        per_cell_10.time_s[-1] - finest.time_s[-1]
    )
    assert default.electric_solves < finest.electric_solves


@pytest.mark.slow
def test_the_load_trigger_re_solves_only_when_the_load_moves():
    """In temperature mode the controller backs the power off as cells boil beside the
    contact: their water moves a little and the load hardly at all. The osteoid-osteoma
    preset (0.5 mm, 300 s) needs 11 solves with the defaults, against 28 with a re-solve per
    10 % of any cell's water (the default before) and 94 per 2 %; its zone moves by 0.1 %."""
    from dataclasses import replace

    from thermablate.planning import scenario_from_dict

    base = scenario_from_dict(
        {"anatomy": {"preset": "osteoid-osteoma"}, "grid": {"spacing_mm": 0.5}, "duration_s": 300}
    )
    default = simulate(base)
    fine = simulate(replace(base, electric_update_water=0.02, electric_update_conductance=1.0))
    per_cell_10 = simulate(
        replace(base, electric_update_water=0.1, electric_update_conductance=1.0)
    )
    assert default.electric_solves < per_cell_10.electric_solves < fine.electric_solves
    assert default.zone.volume_ml == pytest.approx(fine.zone.volume_ml, rel=0.002)
