"""The thermal engine: 3-D simulation of temperature-controlled RF ablation in bone and spine.

Pure NumPy/SciPy/Numba, no Django. Typical use::

    from thermablate.physics import load_scenario, simulate
    result = simulate(load_scenario("examples/osteoid-osteoma.toml"))
    print(result.zone.volume_ml, result.safe)

See docs/thermal-engine.md for the models, the scenario format and the verification.
"""

import os

# Numba's OpenMP threading layer spin-waits at the barrier ending every parallel loop. When
# another process holds one of the cores (a shared 2-core machine), the spinning thread and
# the descheduled one take turns and each parallel loop costs a scheduler time slice:
# measured here, a potential solve took 280-610 ms instead of 76 ms. Passive waiting (sleep
# at once) costs a few microseconds per loop on an idle machine. An explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from thermablate.physics.engine import State, iterate, simulate
from thermablate.physics.results import ProbeResult, Result, Zone
from thermablate.physics.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    preset_scenario,
    scenario_from_dict,
)

__all__ = [
    "ProbeResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "State",
    "Zone",
    "iterate",
    "load_scenario",
    "preset_scenario",
    "scenario_from_dict",
    "simulate",
]
