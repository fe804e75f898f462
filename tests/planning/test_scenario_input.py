"""Scenario files and dictionaries: bad input gets a clear error before any computation."""

from pathlib import Path

import numpy as np
import pytest

from thermablate.planning import ScenarioError, load_scenario, scenario_from_dict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _base(**changes):
    d = {
        "duration_s": 20,
        "grid": {"spacing_mm": 1.0, "extent_mm": [20, 20, 20]},
        "anatomy": {"uniform": "muscle"},
        "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 3], "direction": [0, 0, 1],
                        "active_tip_mm": 6, "gauge": 17}],
        "generator": {"mode": "temperature", "target_temp_c": 80, "max_power_w": 10},
        "probes": {"near": [2, 0, 0]},
    }  # fmt: skip
    d.update(changes)
    return d


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_s": -5}, "duration_s must be positive"),
        ({"anatomy": {"uniform": "unobtainium"}}, "unknown tissue 'unobtainium'"),
        ({"tissues": {"kryptonite": {"density_kg_m3": 1}}}, "unknown tissue 'kryptonite'"),
        ({"probes": {"far": [0, 0, 50]}}, "probe 'far' at (0.0, 0.0, 50.0) mm is outside the grid"),
        ({"electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 15], "direction": [0, 0, 1]}]},
         "electrode 1: its active part reaches"),
        ({"grid": {"spacing_mm": 0.05, "extent_mm": [500, 500, 500]}}, "GB but only"),
        ({"generator": {"mode": "temperature", "target_temp_c": 120}}, "tissue boils at 100"),
        ({"generator": {"mode": "laser"}}, "unknown generator mode 'laser'"),
        ({"solver": {"criterion": "vibes"}}, "unknown ablation criterion 'vibes'"),
        ({"electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 3], "direction": [0, 0, 1], "gauge": 3}]},
         "gauge 3 not supported"),
    ],
)  # fmt: skip
def test_bad_scenarios_are_rejected_with_a_clear_message(changes, message):
    with pytest.raises(ScenarioError, match=None) as info:
        scenario_from_dict(_base(**changes))
    assert message in str(info.value)


def test_memory_error_states_the_estimate():
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_base(grid={"spacing_mm": 0.05, "extent_mm": [500, 500, 500]}))
    text = str(info.value)
    assert "10000x10000x10000" in text and "coarser spacing_mm" in text


def test_the_true_contact_surface_in_the_potential_is_the_default_and_can_be_turned_off():
    assert scenario_from_dict(_base()).electrode_surface_in_potential is True
    off = scenario_from_dict(_base(solver={"electrode_surface_in_potential": False}))
    assert off.electrode_surface_in_potential is False


def test_the_re_solve_triggers_of_boiling_are_read_from_the_solver_table():
    default = scenario_from_dict(_base())
    assert (default.electric_update_water, default.electric_update_conductance) == (0.5, 0.01)
    tighter = scenario_from_dict(
        _base(solver={"electric_update_water": 0.02, "electric_update_conductance": 0.002})
    )
    assert (tighter.electric_update_water, tighter.electric_update_conductance) == (0.02, 0.002)


@pytest.mark.parametrize("name", ["osteoid-osteoma.toml", "lumbar-metastasis.toml"])
def test_example_files_load(name):
    s = load_scenario(EXAMPLES / name)
    assert s.duration_s > 0 and s.electrodes and s.probes_mm
    assert np.any(s.labels > 0)
