"""Face conductances from the exact shapes at tissue interfaces (physics/interfaces.py).

The convergence against the exact two-material sphere is in test_convergence.py; these tests
check the pieces: the resistance of a segment, the heat equation's faces against the steady
solver's, the time step, and that a preset's run uses them unless told not to.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from thermablate.physics.bioheat import (
    MaterialTables,
    face_coefficients,
    stable_time_step_of_faces_s,
)
from thermablate.physics.electric import solve_diffusion
from thermablate.physics.engine import Simulation
from thermablate.physics.grid import Grid
from thermablate.physics.interfaces import SAMPLES, apply_thermal, interface_faces
from thermablate.planning import scenario_from_dict

K = np.array([0.5, 0.1])  # two tissues, 5 to 1


def slab(boundary_mm: float):
    """Tissue 0 below x = boundary_mm, tissue 1 above (labels of the exact shapes)."""

    def exact(x, y, z):
        return np.broadcast_to(np.where(x >= boundary_mm, 1, 0), np.broadcast_shapes(
            np.shape(x), np.shape(y), np.shape(z))).astype(np.uint8)  # fmt: skip

    return exact


def slab_grid(boundary_mm: float, spacing_mm: float = 1.0):
    grid = Grid.from_extent_mm((8.0, 4.0, 4.0), spacing_mm, (0.0, 0.0, 0.0))
    x, y, z = (c * 1e3 for c in grid.centres_m())
    labels = np.ascontiguousarray(np.broadcast_to(slab(boundary_mm)(x, y, z), grid.shape))
    return grid, labels


@pytest.mark.parametrize("boundary_mm", [3.5, 3.6, 3.9, 4.2, 4.45])
def test_a_flat_interface_across_the_faces_gets_its_exact_series_resistance(boundary_mm):
    # Cell centres at 0.5, 1.5, ... mm: the interface between two centres splits the 1 mm
    # segment into 0.5 mm-ish pieces of each tissue; its series conductance is exact.
    grid, labels = slab_grid(boundary_mm)
    faces = interface_faces(grid, labels, slab(boundary_mm), np.zeros(grid.shape, bool))
    conductances = faces.for_property(K, labels)
    assert set(faces.axis) == {0}
    lower_x = faces.lower[:, 0] + 0.5  # the lower centre's x [mm]
    assert np.all((lower_x < boundary_mm) & (boundary_mm <= lower_x + 1.0))
    share = boundary_mm - lower_x  # of the segment in tissue 0
    expected = 1e-3 / (share / K[0] + (1 - share) / K[1])  # h / (int ds / k) [W/K]
    got = conductances.conductance(K[labels], grid.spacing_m)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    # The voxels' harmonic mean is right only for the interface half-way between the centres.
    harmonic = 1e-3 * 2 * K[0] * K[1] / K.sum()
    assert np.allclose(got, harmonic) == (abs(share[0] - 0.5) < 1e-9)


def test_a_layer_thinner_than_a_cell_between_two_centres_is_found():
    # Tissue 1 from 3.6 to 3.9 mm only (0.3 mm), between the centres at 3.5 and 4.5 mm, which
    # are both tissue 0: drawn, the layer is not there at all.
    def layer(x, y, z):
        inside = (x >= 3.6) & (x < 3.9)
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        return np.broadcast_to(np.where(inside, 1, 0), shape).astype(np.uint8)

    grid = Grid.from_extent_mm((8.0, 4.0, 4.0), 1.0, (0.0, 0.0, 0.0))
    labels = np.zeros(grid.shape, np.uint8)
    labels[3] = 1  # as a preset draws it: at least a cell thick, here the cell at 3.5 mm
    faces = interface_faces(grid, labels, layer, np.zeros(grid.shape, bool))
    conductances = faces.for_property(K, labels)
    along_x = faces.axis == 0
    got = dict(
        zip(
            faces.lower[along_x, 0].tolist(),
            conductances.conductance(K[labels], 1e-3)[along_x],
            strict=True,
        )
    )
    # Segment 3.5 -> 4.5 mm: 0.1 mm of tissue 0, 0.3 mm of tissue 1, 0.6 mm of tissue 0.
    assert got[3] == pytest.approx(1e-3 / (0.7 / K[0] + 0.3 / K[1]), rel=1e-7)
    # Segment 2.5 -> 3.5 mm is all tissue 0 although the cell at 3.5 mm is drawn as 1, and so
    # are the faces across x = 3.5 mm (along y and z).
    assert got[2] == pytest.approx(1e-3 * K[0], rel=1e-7)
    across = conductances.conductance(K[labels], 1e-3)[~along_x]
    np.testing.assert_allclose(across, 1e-3 * K[0], rtol=1e-7)
    assert SAMPLES * 0.3 >= 1  # the layer is at least a sample's spacing thick


def test_the_heat_equation_s_faces_are_the_steady_solver_s():
    # physics/bioheat.py steps with per-volume face coefficients G/h^3 (apply_thermal), the
    # steady solver with conductances G (InterfaceConductances.apply): the same operator.
    grid, labels = slab_grid(3.8, 0.5)
    faces = interface_faces(grid, labels, slab(3.8), np.zeros(grid.shape, bool))
    conductances = faces.for_property(K, labels)
    tables = MaterialTables(K, np.array([4e6, 4e6]), np.zeros(2), grid.spacing_m)
    heat = face_coefficients(labels, tables)
    apply_thermal(heat, conductances, K[labels], grid.spacing_m)
    held = np.zeros(grid.shape, bool)
    held[0] = held[-1] = True
    _, steady, *_ = solve_diffusion(
        grid, K[labels], held, np.where(held, 1.0, 0.0), False, interfaces=conductances
    )
    for axis in range(3):
        inner = [slice(None)] * 3
        inner[axis] = slice(1, -1)
        np.testing.assert_allclose(
            heat[axis][tuple(inner)] * grid.spacing_m**3, steady[axis][tuple(inner)], rtol=1e-12
        )


def test_the_time_step_is_read_from_the_faces_it_steps_with():
    grid, labels = slab_grid(3.8, 0.5)
    tables = MaterialTables(K, np.array([4e6, 4e6]), np.array([1e3, 1e3]), grid.spacing_m)
    faces = face_coefficients(labels, tables)
    assert stable_time_step_of_faces_s(faces, labels, tables) == pytest.approx(
        tables.stable_time_step_s(labels), rel=1e-12
    )
    faces[0][4] *= 3.0  # a stiffer face: a shorter step
    assert stable_time_step_of_faces_s(faces, labels, tables) < tables.stable_time_step_s(labels)


def test_a_preset_s_run_uses_the_exact_interfaces_unless_told_not_to():
    data = {"anatomy": {"preset": "lumbar-metastasis"}, "grid": {"spacing_mm": 1.0}}
    scenario = scenario_from_dict(data)
    simulation = Simulation(scenario)
    assert simulation.electric_interfaces is not None and simulation.thermal_faces is not None
    off = Simulation(dataclasses.replace(scenario, subvoxel_interfaces=False))
    assert off.electric_interfaces is None and off.thermal_faces is None
    from_file = scenario_from_dict({**data, "solver": {"subvoxel_interfaces": False}})
    assert not from_file.subvoxel_interfaces
    # The time step is read from the faces actually stepped with, here shorter.
    assert simulation.stable_dt_s == stable_time_step_of_faces_s(
        simulation.thermal_faces, simulation.labels, simulation.tables, simulation.fractions
    )


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("boundary_mm", [3.8, 4.0, 4.3])
def test_a_peak_at_an_interface_follows_the_flux_where_a_straight_line_reads_it_low(
    boundary_mm, axis
):
    # Heat flows along the axis from tissue 0 (k = 0.5) into tissue 1 (k = 0.1): the exact
    # steady profile falls q/k_0 per metre in tissue 0 and five times faster in tissue 1, so
    # tissue 1's hottest point is the interface, at T_b. The field is given at the centres.
    q_w_m2, t_b = 2000.0, 60.0
    extent = [4.0, 4.0, 4.0]
    extent[axis] = 8.0
    grid = Grid.from_extent_mm(tuple(extent), 1.0, (0.0, 0.0, 0.0))

    def exact(x, y, z):
        along = np.broadcast_arrays(x, y, z)[axis]
        return np.where(along >= boundary_mm, 1, 0).astype(np.uint8)

    centres_m = np.broadcast_arrays(*grid.centres_m())
    labels = np.ascontiguousarray(exact(*(c * 1e3 for c in centres_m)))
    faces = interface_faces(grid, labels, exact, np.zeros(grid.shape, bool))
    assert set(faces.axis) == {axis}
    u_m = centres_m[axis]
    b_m = boundary_mm * 1e-3
    field = np.where(
        u_m < b_m, t_b + q_w_m2 / K[0] * (b_m - u_m), t_b - q_w_m2 / K[1] * (u_m - b_m)
    )
    dose = field - 37.0  # any second field takes the same weights
    temperature, second = faces.peaks_along(1, [field, dose], K)
    assert temperature == pytest.approx(t_b, abs=1e-6)
    assert second == pytest.approx(t_b - 37.0, abs=1e-6)
    # The straight line between the two centres reads the interface 2.6-4 K low here.
    lower_mm = np.floor(boundary_mm - 0.5) + 0.5
    s = boundary_mm - lower_mm
    t_lo = t_b + q_w_m2 / K[0] * s * 1e-3
    t_hi = t_b - q_w_m2 / K[1] * (1.0 - s) * 1e-3
    assert t_lo + (t_hi - t_lo) * s < t_b - 1.0
    # Tissue 0's own peak on these segments is its hotter end, the lower cell's centre.
    assert faces.peaks_along(0, [field], K)[0] == pytest.approx(t_lo, abs=1e-6)
    # Heat flowing the other way (into the better conductor): tissue 0's edge is read at
    # the interface, below the straight line, and a larger read elsewhere would stand.
    backwards = np.where(
        u_m < b_m, t_b - q_w_m2 / K[0] * (b_m - u_m), t_b + q_w_m2 / K[1] * (u_m - b_m)
    )
    assert faces.peaks_along(0, [backwards], K)[0] == pytest.approx(t_b, abs=1e-6)
    # A tissue with no piece on them gives -inf; a value that is not finite, NaN.
    assert faces.peaks_along(5, [field], K) == [-np.inf]
    field[tuple(faces.lower[0])] = np.nan
    assert np.isnan(faces.peaks_along(1, [field], K)[0])


def test_the_larger_read_stands_and_not_finite_is_passed_on():
    from thermablate.physics.results import _hotter

    assert _hotter(50.0, 50.4) == 50.4  # along the faces, higher: it stands
    assert _hotter(50.4, 50.0) == 50.4  # the exact shape's, higher: it stands
    assert _hotter(50.0, -np.inf) == 50.0  # no face holds the tissue
    assert np.isnan(_hotter(np.nan, 50.0)) and np.isnan(_hotter(50.0, np.nan))


def test_a_preset_s_neural_peaks_are_no_lower_than_along_its_interface_faces():
    # The lumbar preset at 1 mm: the epidural space's hot edge is against the posterior
    # cortex (0.32 against 0.21 W/(m K)), where the straight-line read was low.
    scenario = scenario_from_dict(
        {
            "anatomy": {"preset": "lumbar-metastasis"},
            "grid": {"spacing_mm": 1.0},
            "duration_s": 120.0,
        }  # fmt: skip
    )
    from thermablate.physics.engine import simulate

    result = simulate(scenario)
    faces = Simulation(scenario).interface_faces
    conductivity = scenario.material_tables().k
    names = [t.name for t in scenario.tissues]
    peak_field = result.fields["max_temperature_c"]
    along = {
        name: faces.peaks_along(names.index(name), [peak_field], conductivity)[0]
        for name in ("epidural-fat", "dura", "csf", "cauda-equina")
    }
    for name, value in along.items():
        assert result.tissues[name]["max_temp_c"] >= value, name
    # Where the straight line was low (heat from the cortex into the fat), the read is the
    # one along the faces; where it was high (from the fat into the dura), the exact
    # shape's stands.
    assert result.tissues["epidural-fat"]["max_temp_c"] == along["epidural-fat"]
    assert result.tissues["dura"]["max_temp_c"] > along["dura"]
