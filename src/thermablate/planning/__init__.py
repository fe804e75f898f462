"""Planning an ablation: anatomy models, presets, scenario files, the safety verdict, figures.

Pure Python over the thermal engine (``thermablate.physics``), which it re-exports
:func:`simulate` from. Typical use::

    from thermablate.planning import load_scenario, neural_safety, simulate
    result = simulate(load_scenario("examples/osteoid-osteoma.toml"))
    print(result.zone.volume_ml, neural_safety(result).safe)

See docs/thermal-engine.md for the scenario format, the presets and the safety thresholds.
"""

from thermablate.physics import ScenarioError, iterate, simulate
from thermablate.planning.report import summary, write_json
from thermablate.planning.safety import SafetyVerdict, neural_safety
from thermablate.planning.scenario import load_scenario, preset_scenario, scenario_from_dict

__all__ = [
    "SafetyVerdict",
    "ScenarioError",
    "iterate",
    "load_scenario",
    "neural_safety",
    "preset_scenario",
    "scenario_from_dict",
    "simulate",
    "summary",
    "write_json",
]
