"""Issue 13, point 2: the needle conducts heat along its steel, stepped implicitly.

Found by a physicist: the needle took the thermal properties of the tissue it displaced, so
the heat its shaft carries back past the exiting nerve root was missing. The shaft is now a
chain of isothermal nodes linked through the steel (physics/needle.py); these tests check the
chain against an exact solution, its energy bookkeeping, and its effect on a plan.
"""

import math

import numpy as np
import pytest

from thermablate.physics import simulate
from thermablate.physics.needle import NodeChain, conduct
from thermablate.planning import scenario_from_dict


def _rod(n_nodes, length_m, diffusivity_m2_s):
    """A bare rod of ``n_nodes`` cells: insulated at s = 0, held at 0 °C at s = length."""
    h = length_m / n_nodes
    capacity = 1.0 * h  # rho c A h with rho c A = 1
    g = diffusivity_m2_s * 1.0  # k A = alpha rho c A
    cells = np.array([[i + 1, 1, 1] for i in range(n_nodes)], np.intp)
    links = np.full(n_nodes, g / h)
    links[-1] = 0.0
    boundary = np.zeros(n_nodes)
    boundary[-1] = g / (0.5 * h)
    chain = NodeChain(cells, np.ones(n_nodes), np.arange(n_nodes + 1, dtype=np.intp),
                      np.full(n_nodes, capacity), links, boundary)  # fmt: skip
    t_pad = np.zeros((n_nodes + 2, 3, 3))
    t_pad[1:-1, 1, 1] = 1.0
    centres = (np.arange(n_nodes) + 0.5) * h
    return chain, t_pad, centres


def _exact(s, t, length, alpha, terms=200):
    # Carslaw & Jaeger: slab initially at 1, insulated at 0, held at 0 at L.
    total = np.zeros_like(s)
    for n in range(terms):
        lam = (2 * n + 1) * math.pi / (2 * length)
        total += (
            4
            * (-1) ** n
            / ((2 * n + 1) * math.pi)
            * np.cos(lam * s)
            * math.exp(-alpha * lam**2 * t)
        )
    return total


@pytest.mark.parametrize("n_nodes", [20, 40])
def test_the_chain_matches_the_exact_cooling_of_a_rod(n_nodes):
    length, alpha, t_end = 0.04, 4e-6, 60.0  # 40 mm of steel-like rod for a minute
    chain, t_pad, centres = _rod(n_nodes, length, alpha)
    steps = 600
    lost = 0.0
    t_max = np.zeros(tuple(n - 2 for n in t_pad.shape))
    for _ in range(steps):
        lost += conduct(t_pad, t_max, *chain.arrays(), 0.0, t_end / steps)
    numeric = t_pad[1:-1, 1, 1]
    exact = _exact(centres, t_end, length, alpha)
    assert np.max(np.abs(numeric - exact)) < 0.01
    # Every joule that left the rod went through the boundary link.
    assert lost == pytest.approx(length * 1.0 - numeric.sum() * (length / n_nodes), rel=1e-9)


def _needle_in_muscle(conduction: bool):
    return scenario_from_dict({
        "duration_s": 60,
        "grid": {"spacing_mm": 1.0, "extent_mm": [24, 24, 40]},
        "anatomy": {"uniform": "muscle"},
        "electrodes": [{"geometry": "needle", "tip_mm": [0, 0, -8], "direction": [0, 0, -1],
                        "active_tip_mm": 5, "gauge": 14}],
        "generator": {"mode": "temperature", "target_temp_c": 90, "max_power_w": 30},
        "probes": {"beside the shaft, 3 mm behind the contact": [1.5, 0, 0]},
        "solver": {"needle_conduction": conduction},
    })  # fmt: skip


def test_the_steel_carries_heat_back_along_the_shaft_and_the_energy_balances():
    with_steel = simulate(_needle_in_muscle(True), track_energy=True)
    without = simulate(_needle_in_muscle(False), track_energy=True)
    beside = with_steel.probes[0].max_temp_c
    assert beside > without.probes[0].max_temp_c + 2.0
    # Keeping the tip at 90 °C takes more power when the shaft conducts heat away from it.
    assert with_steel.energy_delivered_j > without.energy_delivered_j
    for result in (with_steel, without):
        b = result.energy_balance
        removed = b["stored_j"] + b["perfusion_j"] + b["boundary_j"]
        assert b["delivered_j"] == pytest.approx(removed, rel=1e-9)
