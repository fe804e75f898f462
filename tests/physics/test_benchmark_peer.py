"""The thermal benchmark's peer still runs and still agrees with the engine.

benchmarks/thermal.py is not run by CI, and a change to the engine broke its FiPy peer without
a word (it read a contact list the engine no longer keeps). This runs the benchmark's own
functions on a small, short case.
"""

import importlib.util
from pathlib import Path

import numpy as np

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "thermal.py"


def test_the_fipy_peer_runs_and_agrees_with_the_engine():
    spec = importlib.util.spec_from_file_location("thermal_benchmark", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    s = bench.scenario(
        1.5, 20.0, needle_conduction=False, phase_change=False, subvoxel_interfaces=False
    )
    times, powers, solves, t_engine = bench.engine_trace(s)
    t_peer, _, steps = bench.peer_fipy(s, times, powers, solves, 0.5)
    assert steps == 40
    assert t_engine.max() > 45.0  # it heated (the set point ramps over 60 s)
    # Backward Euler at 0.5 s against the engine's explicit step: within a kelvin or so.
    assert np.max(np.abs(t_engine - t_peer)) < 1.5
