"""The thermal engine: 3-D simulation of temperature-controlled RF ablation in bone and spine.

Pure NumPy/SciPy/Numba, no Django, and the bottom layer: it imports nothing else from
thermablate. :func:`simulate` takes a :class:`Scenario` of numbers (grid, tissue labels,
electrodes, generator, solver settings) and returns a :class:`Result` of numbers. Scenario
files, anatomy presets, the neural safety verdict and the figures belong to the planning
package, which re-exports :func:`simulate` and is where most callers start (its
``load_scenario`` reads a scenario file).

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
from thermablate.physics.scenario import Scenario, ScenarioError

__all__ = [
    "ProbeResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "State",
    "Zone",
    "iterate",
    "simulate",
]
