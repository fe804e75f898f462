"""Verification against exact solutions, with the observed order of convergence asserted.

The operators are second-order finite volumes; the explicit time step scales with h^2, so the
time error is second order in h too. Exact Dirichlet data are imposed in the cells inside the
source (the analytic formula's smooth continuation), so the staircase of a voxelised sphere does
not pollute the order; the voxelised-electrode error is covered by test_engine.py.
"""

import numpy as np
import pytest

from thermablate.physics.analytic import (
    heated_sphere_rise_k,
    pennes_held_sphere_c,
    sphere_potential_v,
)
from thermablate.physics.bioheat import BioheatState, MaterialTables, steady_state
from thermablate.physics.electric import solve_potential
from thermablate.physics.grid import Grid

K = 0.5  # W/(m K)
RHOC = 3.8e6  # J/(m^3 K)
T_A = 37.0


def _radius(grid):
    x, y, z = grid.centres_m()
    return np.sqrt(x**2 + y**2 + z**2)


def _outer_layer(shape):
    m = np.ones(shape, bool)
    m[1:-1, 1:-1, 1:-1] = False
    return m


def _order(errors, spacings):
    e = np.log(errors)
    h = np.log(spacings)
    return np.polyfit(h, e, 1)[0]


def test_pennes_held_sphere_converges_at_second_order():
    # Perfusion chosen so that the penetration length L = sqrt(k/W) = 3 mm fits a 16 mm box.
    radius, length = 2e-3, 3e-3
    sink = K / length**2
    tables = MaterialTables([K], [RHOC], [sink], 1.0)
    errors, spacings = [], [1.0, 0.5, 0.25]
    for h in spacings:
        grid = Grid.from_extent_mm((16, 16, 16), h)
        tables = MaterialTables([K], [RHOC], [sink], grid.spacing_m)
        r = _radius(grid)
        exact = pennes_held_sphere_c(r, radius, 90.0, T_A, K, sink)
        held = (r < radius) | _outer_layer(grid.shape)
        label = np.zeros(grid.shape, np.uint8)
        t = steady_state(grid, label, tables, np.zeros(grid.shape), held, exact, T_A, T_A)
        errors.append(np.abs(t - exact)[~held].max())
    order = _order(errors, spacings)
    assert errors[-1] < 0.1, errors  # K, on a 53 K rise
    assert order > 1.8, (errors, order)


def test_time_stepper_reaches_the_steady_pennes_solution():
    # The explicit kernel and the steady solver share one spatial operator: after ten perfusion
    # time constants the transient must sit on the steady solution.
    radius, length = 2e-3, 3e-3
    sink = K / length**2
    grid = Grid.from_extent_mm((16, 16, 16), 0.5)
    tables = MaterialTables([K], [RHOC], [sink], grid.spacing_m)
    r = _radius(grid)
    exact = pennes_held_sphere_c(r, radius, 90.0, T_A, K, sink)
    held = (r < radius) | _outer_layer(grid.shape)
    label = np.zeros(grid.shape, np.uint8)
    steady = steady_state(grid, label, tables, np.zeros(grid.shape), held, exact, T_A, T_A)
    state = BioheatState(grid, label, tables, np.where(held, exact, T_A), T_A)
    state.perfusion_shutoff_damage = np.inf  # Pennes with constant perfusion
    dt = 0.95 * tables.stable_time_step_s(label)
    tau = RHOC / sink
    q = np.zeros(grid.shape)
    for _ in range(int(10 * tau / dt)):
        state.advance(held, exact, q, 0.0, T_A, dt)
    assert np.abs(state.temperature_c - steady).max() < 1e-3


def test_heated_sphere_transient_converges():
    # Uniform heating inside a sphere in unperfused tissue (constant power), compared with the
    # exact transient of Carslaw & Jaeger after 20 s. The source is voxelised with partial
    # volumes (4^3 sub-samples per cell).
    radius, q0, t_end = 2e-3, 2e6, 20.0
    # 1 mm (two cells per radius) is not yet asymptotic; start at 0.5 mm.
    errors, spacings = [], [0.5, 1 / 3, 0.25]
    for h in spacings:
        grid = Grid.from_extent_mm((20, 20, 20), h)
        tables = MaterialTables([K], [RHOC], [0.0], grid.spacing_m)
        x, y, z = grid.centres_m()
        sub = (np.arange(4) + 0.5) / 4 - 0.5
        frac = np.zeros(grid.shape)
        for dx in sub:
            for dy in sub:
                for dz in sub:
                    hm = grid.spacing_m
                    rr = (x + dx * hm) ** 2 + (y + dy * hm) ** 2 + (z + dz * hm) ** 2
                    frac += rr <= radius**2
        source = q0 * frac / 64
        label = np.zeros(grid.shape, np.uint8)
        state = BioheatState(grid, label, tables, T_A, T_A)
        n = int(np.ceil(t_end / (0.9 * tables.stable_time_step_s(label))))
        dt = t_end / n
        held = np.zeros(grid.shape, bool)
        for _ in range(n):
            state.advance(held, held, source, 1.0, T_A, dt)
        r = _radius(grid)
        near = r < 5e-3
        sample = np.unique(np.round(r[near], 9))
        exact_at = dict(
            zip(sample, heated_sphere_rise_k(sample, t_end, radius, q0, K, RHOC), strict=True)
        )
        exact = np.array([exact_at[v] for v in np.round(r[near], 9)])
        errors.append(np.abs(state.temperature_c[near] - T_A - exact).max())
    order = _order(errors, spacings)
    assert errors[-1] < 0.02, errors  # K, on a ~10 K rise
    assert order > 1.6, (errors, order)


def test_sphere_potential_converges_at_second_order():
    radius = 2e-3
    errors, spacings = [], [1.0, 0.5, 0.25]
    for h in spacings:
        grid = Grid.from_extent_mm((16, 16, 16), h)
        r = _radius(grid)
        exact = sphere_potential_v(r, radius, 1.0)
        fixed = (r < radius) | _outer_layer(grid.shape)
        sol = solve_potential(grid, np.full(grid.shape, 0.3), fixed, exact, False, rtol=1e-12)
        errors.append(np.abs(sol.potential_v - exact)[~fixed].max())
    order = _order(errors, spacings)
    assert errors[-1] < 2e-3, errors
    assert order > 1.8, (errors, order)


@pytest.mark.parametrize("contrast", [1.0, 20.0])
def test_joule_power_equals_current_times_voltage(contrast):
    # Energy conservation of the face-wise Joule heat: sum(q) V equals the power drawn, which
    # for a grounded boundary is the current into the ground times the unit voltage.
    grid = Grid.from_extent_mm((12, 12, 12), 1.0)
    sigma = np.full(grid.shape, 0.4)
    sigma[:6] /= contrast
    fixed = np.zeros(grid.shape, bool)
    fixed[5:7, 5:7, 5:7] = True
    sol = solve_potential(grid, sigma, fixed, fixed.astype(float), True, rtol=1e-12)
    current = 0.0
    g = 2.0 * sigma * grid.spacing_m
    for axis in range(3):
        for end in (0, -1):
            sl = [slice(None)] * 3
            sl[axis] = end
            current += float(np.sum(g[tuple(sl)] * sol.potential_v[tuple(sl)]))
    assert sol.joule_unit_w_m3.sum() * grid.cell_volume_m3 == pytest.approx(
        sol.power_unit_w, rel=1e-12
    )
    assert sol.power_unit_w == pytest.approx(current, rel=1e-8)
