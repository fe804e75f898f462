"""Issue 13, point 5: every scenario value is checked before any computation.

Each case below was found by a physicist trying the engine: before this test it either ran and
gave an answer it should not have (NaN temperatures judged "safe", no heating judged "safe", a
power limit ignored, a start temperature below absolute zero) or crashed with a traceback.
Now each is refused with one sentence naming the value, and the command line exits with 2.
"""

import math

import pytest

from thermablate.planning import ScenarioError, scenario_from_dict
from thermablate.planning.cli import main

NAN, INF = math.nan, math.inf


def _base(**changes):
    d = {
        "duration_s": 20,
        "grid": {"spacing_mm": 1.0, "extent_mm": [16, 16, 16]},
        "anatomy": {"uniform": "spinal-cord"},
        "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, 3], "direction": [0, 0, 1],
                        "active_tip_mm": 5, "gauge": 17}],
        "generator": {"mode": "temperature", "target_temp_c": 90, "max_power_w": 20,
                      "ramp_s": 10},
    }  # fmt: skip
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(d.get(key), dict):
            d[key] = {**d[key], **value}
        else:
            d[key] = value
    return d


def _needle(**changes):
    return [{**_base()["electrodes"][0], **changes}]


CASES = [
    # (changes, words the message must contain)
    ({"generator": {"ramp_s": NAN}}, "generator.ramp_s must be a finite number"),
    ({"generator": {"kp_w_per_k": -1.0}}, "generator.kp_w_per_k must not be negative"),
    ({"generator": {"ki_w_per_ks": -0.02}}, "generator.ki_w_per_ks must not be negative"),
    ({"generator": {"kp_w_per_k": 0.0, "ki_w_per_ks": 0.0}}, "at least one of the controller gains"),
    ({"generator": {"max_power_w": NAN}}, "generator.max_power_w must be a finite number"),
    ({"generator": {"max_power_w": INF}}, "generator.max_power_w must be a finite number"),
    ({"generator": {"max_power_w": 5000}}, "generator.max_power_w 5000 W is above"),
    ({"generator": {"target_temp_c": NAN}}, "generator.target_temp_c must be a finite number"),
    ({"initial_temp_c": -300}, "initial_temp_c must be between"),
    ({"initial_temp_c": NAN}, "initial_temp_c must be a finite number"),
    ({"electrodes": _needle(gauge=17.9)}, "gauge must be a whole ISO 9626 size, got 17.9 (nearest: 18 G"),
    ({"electrodes": _needle(active_tip_mm=INF)}, "active_tip_mm must be a finite number"),
    ({"tissues": {"spinal-cord": {"electrical_conductivity_s_m": 0}}},
     "electrical_conductivity_s_m must be positive"),
    ({"tissues": {"spinal-cord": {"thermal_conductivity_w_mk": NAN}}},
     "thermal_conductivity_w_mk must be a finite number"),
    ({"grid": {"spacing_mm": NAN}}, "grid.spacing_mm must be a finite number"),
    ({"duration_s": NAN}, "duration_s must be a finite number"),
    ({"duration_s": 1e8}, "duration_s 1e+08 s is longer than"),
    ({"solver": {"record_interval_s": NAN}}, "solver.record_interval_s must be a finite number"),
    ({"solver": {"time_step_s": INF}}, "solver.time_step_s must be a finite number"),
    ({"solver": {"electric_update_water": NAN}}, "solver.electric_update_water must be a finite"),
    ({"solver": {"electric_update_water": 0}}, "electric_update_water must be in (0, 1]"),
    ({"solver": {"electric_update_water": 1.5}}, "electric_update_water must be in (0, 1]"),
    ({"solver": {"electric_update_conductance": NAN}}, "electric_update_conductance must be a finite"),
    ({"solver": {"electric_update_conductance": 0}}, "electric_update_conductance must be in (0, 1]"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), CASES)
def test_it_refuses_each_unsafe_value_with_one_sentence(changes, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_base(**changes))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_command_line_exits_2_on_a_nan_ramp(tmp_path, capsys):
    path = tmp_path / "nan.toml"
    path.write_text(
        "duration_s = 20\n[grid]\nspacing_mm = 1.0\nextent_mm = [16, 16, 16]\n"
        '[anatomy]\nuniform = "spinal-cord"\n'
        "[[electrodes]]\ntip_mm = [0, 0, 3]\ndirection = [0, 0, 1]\nactive_tip_mm = 5\n"
        "[generator]\nramp_s = nan\n"
    )  # TOML's own "nan" literal
    assert main([str(path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["thermablate simulate: error: generator.ramp_s must be a finite number, got nan"]


def test_it_refuses_a_run_that_would_take_too_long_and_says_how_long():
    # 0.25 mm over 48 mm is 192^3 cells, and 3,000 s at the stable step is ~40,000 steps:
    # hours of computing, refused before a single step with the estimate.
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(
            _base(duration_s=3000, grid={"spacing_mm": 0.25, "extent_mm": [48, 48, 48]})
        )
    text = str(info.value)
    assert "would take about" in text and "coarser spacing_mm or a shorter duration_s" in text
