"""A Scenario is plain numbers: the engine runs one built without any scenario file."""

import numpy as np
import pytest

from thermablate.physics import Scenario, ScenarioError, simulate
from thermablate.physics.electrodes import Sphere
from thermablate.physics.generator import Generator
from thermablate.physics.grid import Grid
from thermablate.physics.tissues import TISSUES


def _sphere_in_muscle(**changes) -> Scenario:
    grid = Grid.from_extent_mm((16.0, 16.0, 16.0), 1.0)
    settings = {
        "grid": grid,
        "labels": np.zeros(grid.shape, np.uint8),  # every cell is tissue 0
        "tissues": [TISSUES["muscle"]],
        "electrodes": [Sphere((0.0, 0.0, 0.0), 2.0)],
        "generator": Generator(mode="power", max_power_w=1.0, ramp_s=0.0),
        "duration_s": 10.0,
        "probes_mm": {"3 mm": (3.0, 0.0, 0.0)},
    }
    return Scenario(**{**settings, **changes})


def test_it_simulates_a_scenario_built_from_numbers():
    result = simulate(_sphere_in_muscle())
    assert result.energy_delivered_j == pytest.approx(1.0 * 10.0, rel=1e-9)
    assert list(result.tissues) == ["muscle"]
    assert result.probes[0].max_temp_c > 37.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"probes_mm": {"far": (0, 0, 20)}}, "probe 'far' at (0.0, 0.0, 20.0) mm is outside the grid"),
        ({"electrodes": []}, "the scenario has no electrode"),
        ({"electrodes": [Sphere((0.0, 0.0, 7.0), 2.0)]}, "electrode 1: its active part reaches"),
        ({"labels": np.zeros((4, 4, 4), np.uint8)}, "label volume and grid have different shapes"),
        ({"duration_s": float("nan")}, "duration_s must be a finite number"),
    ],
)  # fmt: skip
def test_it_rejects_a_scenario_that_cannot_be_simulated(changes, message):
    with pytest.raises(ScenarioError) as info:
        _sphere_in_muscle(**changes).validate()
    assert message in str(info.value)


def test_it_rejects_a_grid_too_large_for_the_memory_with_the_estimate():
    huge = Grid.from_extent_mm((500.0, 500.0, 500.0), 0.05)
    # A broadcast view stands in for the 10^12 labels: it has the shape and takes no memory.
    labels = np.broadcast_to(np.uint8(0), huge.shape)
    with pytest.raises(ScenarioError) as info:
        _sphere_in_muscle(grid=huge, labels=labels).validate()
    assert "10000x10000x10000" in str(info.value) and "GB but only" in str(info.value)
