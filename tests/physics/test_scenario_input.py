"""Bad input gets a clear error before any computation; the command line returns 2."""

import json
from pathlib import Path

import numpy as np
import pytest

from thermablate.physics import ScenarioError, load_scenario, scenario_from_dict
from thermablate.physics.cli import main

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


def test_cli_bad_file_returns_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'duration_s = -1\n[anatomy]\nuniform = "muscle"\n[grid]\nspacing_mm = 1\nextent_mm = [10, 10, 10]\n'
    )
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "duration_s must be positive" in err
    assert main([str(tmp_path / "missing.toml")]) == 2
    assert main([]) == 2
    assert main(["--preset", "kidney"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_runs_a_scenario_and_writes_json_and_plots(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'title = "test"\nduration_s = 30\n[grid]\nspacing_mm = 1.0\nextent_mm = [20, 20, 20]\n'
        '[anatomy]\nuniform = "muscle"\n[[electrodes]]\ngeometry = "needle"\ntip_mm = [0, 0, 3]\n'
        'direction = [0, 0, 1]\nactive_tip_mm = 6\ngauge = 17\n[generator]\nmode = "temperature"\n'
        "target_temp_c = 80\nmax_power_w = 20\nramp_s = 10\n[probes]\nnear = [3, 0, 0]\n"
    )
    out_json = tmp_path / "r.json"
    assert (
        main(
            [str(scenario), "--json", str(out_json), "--plots", str(tmp_path / "plots"), "--quiet"]
        )
        == 0
    )
    data = json.loads(out_json.read_text())
    assert set(data["probes"]["near"]) >= {"final_temp_c", "max_temp_c", "cem43_min"}
    assert data["ablation_zone"]["volume_ml"] > 0
    assert data["energy_delivered_j"] > 0
    assert "muscle" in data["tissues"] and data["safety"]["safe"] is True
    assert (tmp_path / "plots" / "thermal-slices.png").stat().st_size > 10_000
    assert (tmp_path / "plots" / "thermal-probes.png").stat().st_size > 10_000
    assert "Ablation zone" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["osteoid-osteoma.toml", "lumbar-metastasis.toml"])
def test_example_files_load(name):
    s = load_scenario(EXAMPLES / name)
    assert s.duration_s > 0 and s.electrodes and s.probes_mm
    assert np.any(s.labels > 0)
