"""The coupled engine: energy balance, generator modes, coupling schedule, damage bookkeeping."""

import numpy as np
import pytest

from thermablate.physics import iterate, simulate
from thermablate.physics.damage import arrhenius_damage, cem43
from thermablate.planning import scenario_from_dict


def _sphere(mode, tissue="muscle", duration_s=60.0, **generator):
    return scenario_from_dict(
        {
            "duration_s": duration_s,
            "grid": {"spacing_mm": 1.0, "extent_mm": [24, 24, 24]},
            "anatomy": {"uniform": tissue},
            "electrodes": [{"geometry": "sphere", "centre_mm": [0, 0, 0], "radius_mm": 2.0}],
            "generator": {"mode": mode, **generator},
            "probes": {"3 mm": [3.0, 0, 0], "6 mm": [6.0, 0, 0]},
        }
    )


@pytest.mark.parametrize(
    ("mode", "generator"),
    [("power", {"max_power_w": 1.5}), ("held", {"target_temp_c": 80.0, "ramp_s": 10.0}),
     ("temperature", {"target_temp_c": 80.0, "max_power_w": 10.0})],
)  # fmt: skip
def test_energy_delivered_equals_stored_plus_removed(mode, generator):
    result = simulate(_sphere(mode, **generator), track_energy=True)
    b = result.energy_balance
    removed = b["stored_j"] + b["perfusion_j"] + b["boundary_j"]
    assert b["delivered_j"] > 10.0
    # The discrete balance is exact up to rounding (face-wise Joule heat, conservative fluxes,
    # energy-weighted isothermal contacts): 1e-9 relative is the stated tolerance.
    assert removed == pytest.approx(b["delivered_j"], rel=1e-9)
    assert b["perfusion_j"] > 0 and b["stored_j"] > 0


def test_constant_power_delivers_power_times_time():
    result = simulate(_sphere("power", max_power_w=1.5))
    assert result.energy_delivered_j == pytest.approx(1.5 * 60.0, rel=1e-9)


def test_temperature_control_holds_the_target_after_the_ramp():
    s = scenario_from_dict(
        {"anatomy": {"preset": "osteoid-osteoma"}, "grid": {"spacing_mm": 1.0}, "duration_s": 180}
    )
    result = simulate(s)
    after = result.time_s > s.generator.ramp_s + 60
    assert result.stopped_reason is None
    assert np.abs(result.tip_temperature_c[after] - 90.0).max() < 1.5
    assert result.power_w.max() <= s.generator.max_power_w + 1e-12
    # Clinical osteoid-osteoma ablations need a few watts (<= 8 W, Somma F et al. PLoS One
    # 2021;16:e0248589, doi:10.1371/journal.pone.0248589).
    assert 0.3 < result.energy_delivered_j / result.time_s[-1] < 8.0


def test_damage_and_dose_match_the_probe_history():
    # The kernel's accumulated CEM43 and Arrhenius damage at a cell equal the integrals of that
    # cell's temperature history computed independently.
    s = _sphere("power", max_power_w=1.5)
    cell = s.grid.index_of_m((3.0e-3, 0.0, 0.0))
    times, temps = [0.0], [37.0]
    for t, state in iterate(s):
        times.append(t)
        temps.append(float(state.temperature_c[cell]))
    assert temps[-2] > 50.0
    assert state.cem43_min[cell] == pytest.approx(cem43(times, temps), rel=1e-9)
    assert state.damage[cell] == pytest.approx(arrhenius_damage(times, temps), rel=1e-9)


def test_electric_update_schedule_does_not_change_the_answer():
    base = {
        "anatomy": {"preset": "osteoid-osteoma"},
        "grid": {"spacing_mm": 1.0},
        "duration_s": 150,
    }
    coarse = simulate(scenario_from_dict(base))
    fine = simulate(
        scenario_from_dict({**base, "solver": {"electric_update_k": 1.0, "electric_update_s": 5.0,
                                               "electric_update_water": 0.02}})
    )  # fmt: skip
    assert fine.electric_solves > 2 * coarse.electric_solves
    assert coarse.zone.volume_ml == pytest.approx(fine.zone.volume_ml, rel=0.05)


def test_bipolar_needle_heats_between_its_contacts_without_boundary_current():
    s = scenario_from_dict(
        {
            "duration_s": 60,
            "grid": {"spacing_mm": 1.0, "extent_mm": [30, 30, 40]},
            "anatomy": {"uniform": "muscle"},
            "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 12], "direction": [0, 0, 1],
                            "active_tip_mm": 8, "gap_mm": 6, "gauge": 17, "bipolar": True}],
            "generator": {"mode": "power", "max_power_w": 6.0},
            "probes": {"gap": [1.5, 0, 1], "far": [10, 0, 1]},
        }
    )  # fmt: skip
    result = simulate(s, track_energy=True)
    assert result.energy_balance["delivered_j"] == pytest.approx(360.0, rel=1e-9)
    gap = result.probes[0]
    assert gap.max_temp_c > 50.0 > result.probes[1].max_temp_c


def test_power_mode_stops_on_roll_off_or_boiling_with_a_message():
    result = simulate(_sphere("power", duration_s=120, max_power_w=40.0))
    assert result.stopped_reason is not None
    assert result.time_s[-1] < 120.0


def test_energy_balances_with_the_voxelised_contact_in_the_potential():
    # electrode_surface_in_potential (on by default since issue 13, docs/thermal-engine.md)
    # off: the potential's voxel faces change the Joule pattern, not the conservation.
    s = _sphere("temperature", target_temp_c=80.0, max_power_w=10.0)
    s.electrode_surface_in_potential = False
    b = simulate(s, track_energy=True).energy_balance
    removed = b["stored_j"] + b["perfusion_j"] + b["boundary_j"]
    assert b["delivered_j"] > 10.0
    assert removed == pytest.approx(b["delivered_j"], rel=1e-9)


@pytest.mark.parametrize("duration_s", [1.7, 10.3, 59.9, 240.0])
def test_a_run_ends_exactly_at_its_duration(duration_s):
    # The time was tick / ticks * dt, with dt = duration / steps: a 240 s run ended at
    # 239.99999999999997 s with some step counts, and a caller waiting for the duration (a
    # recording, a test of the end time) missed it.
    result = simulate(_sphere("power", duration_s=duration_s, max_power_w=0.5))
    assert result.time_s[-1] == duration_s
    assert result.steps * result.time_step_s == pytest.approx(duration_s, rel=1e-12)
