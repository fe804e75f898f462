"""``thermablate simulate``: bad input returns 2 with one line; a run writes JSON and figures."""

import json

from thermablate.planning.cli import main


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
    assert "muscle" in data["tissues"]
    # A block of muscle holds no neural structure: nothing is judged, so nothing is "safe".
    assert data["safety"]["safe"] is False and data["safety"]["status"] == "nothing to judge"
    assert (tmp_path / "plots" / "thermal-slices.png").stat().st_size > 10_000
    assert (tmp_path / "plots" / "thermal-probes.png").stat().st_size > 10_000
    assert "Ablation zone" in capsys.readouterr().out
