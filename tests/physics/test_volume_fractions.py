"""Tissue fractions inside the cells (physics/volume_fractions.py): a cell beside an interface
stores heat, loses it to perfusion and holds water as the tissues inside it do, not as the one
its centre happens to lie in."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from thermablate.physics.bioheat import (
    BioheatState,
    CellProperties,
    MaterialTables,
    stable_time_step_of_faces_s,
)
from thermablate.physics.engine import Simulation, simulate
from thermablate.physics.grid import Grid
from thermablate.physics.volume_fractions import tissue_fractions
from thermablate.planning import scenario_from_dict

RADIUS_MM = 3.3
RHOC = np.array([4.0e6, 2.0e6])  # tissue 0 around a sphere of tissue 1 [J/(m^3 K)]
SINK = np.array([3.0e3, 1.0e4])  # [W/(m^3 K)]
# Alignments of the grid against the sphere's centre (fractions of a cell).
OFFSETS = [(0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.25, 0.1, 0.4), (0.37, 0.73, 0.11),
           (0.9, 0.45, 0.62), (0.13, 0.58, 0.81)]  # fmt: skip


def sphere_at(centre_mm):
    def exact(x, y, z):
        r2 = (x - centre_mm[0]) ** 2 + (y - centre_mm[1]) ** 2 + (z - centre_mm[2]) ** 2
        return np.where(r2 <= RADIUS_MM**2, 1, 0).astype(np.uint8)

    return exact


def sphere_grid(offset, spacing_mm=1.0):
    grid = Grid.from_extent_mm((12.0, 12.0, 12.0), spacing_mm, (-6.0, -6.0, -6.0))
    centre = np.asarray(offset) * spacing_mm
    exact = sphere_at(centre)
    x, y, z = (c * 1e3 for c in grid.centres_m())
    labels = np.ascontiguousarray(np.broadcast_to(exact(x, y, z), grid.shape))
    return grid, labels, exact


def sphere_volume_mm3(grid, labels, fractions) -> float:
    inside = (labels == 1).astype(float)
    inside[tuple(fractions.cells.T)] = fractions.fractions[:, 1]
    return float(inside.sum()) * grid.spacing_mm**3


def share_of_each_cell(grid, exact, tissue: int) -> np.ndarray:
    """Each cell's share of ``tissue`` (of two), with the labels drawn at the centres."""
    x, y, z = (c * 1e3 for c in grid.centres_m())
    labels = np.ascontiguousarray(np.broadcast_to(exact(x, y, z), grid.shape))
    fractions = tissue_fractions(grid, labels, exact, np.zeros(grid.shape, bool), 2)
    share = (labels == tissue).astype(float)
    share[tuple(fractions.cells.T)] = fractions.fractions[:, tissue]
    return share


def test_it_measures_a_sphere_s_volume_at_every_alignment_where_voxels_miss_it():
    exact_mm3 = 4.0 / 3.0 * math.pi * RADIUS_MM**3
    voxel_errors, fraction_errors = [], []
    for offset in OFFSETS:
        grid, labels, exact = sphere_grid(offset)
        fractions = tissue_fractions(grid, labels, exact, np.zeros(grid.shape, bool), 2)
        np.testing.assert_allclose(fractions.fractions.sum(axis=1), 1.0, rtol=1e-12)
        voxel_errors.append(abs(float((labels == 1).sum()) - exact_mm3) / exact_mm3)
        fraction_errors.append(abs(sphere_volume_mm3(grid, labels, fractions) - exact_mm3)
                               / exact_mm3)  # fmt: skip
    # A 3.3 mm sphere on a 1 mm grid: the voxels' count is off by up to 6.3 % with the
    # alignment; 64 samples per boundary cell find it to 0.35 % at worst.
    assert max(fraction_errors) < 0.005
    assert max(voxel_errors) > 10 * max(fraction_errors)


def test_the_error_of_the_sampled_volume_falls_with_the_spacing():
    exact_mm3 = 4.0 / 3.0 * math.pi * RADIUS_MM**3
    errors = []
    for spacing_mm in (1.0, 0.5, 0.25):
        worst = 0.0
        for offset in OFFSETS[:4]:
            grid, labels, exact = sphere_grid(offset, spacing_mm)
            fractions = tissue_fractions(grid, labels, exact, np.zeros(grid.shape, bool), 2)
            volume = sphere_volume_mm3(grid, labels, fractions)
            worst = max(worst, abs(volume - exact_mm3) / exact_mm3)
        errors.append(worst)
    # Measured 0.35 % at 1 mm and 0.014 % at 0.25 mm (25-fold); at least 10-fold here.
    assert errors[2] < errors[0] / 10


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("plane_mm", [3.6, 3.8, 4.1, 4.37])
def test_a_plane_along_the_grid_is_placed_to_a_hundredth_of_a_cell(axis, plane_mm):
    # An even 4 x 4 x 4 subdivision rounds every cell's share of such a plane to quarters,
    # the same way along the whole plane: 3.6 mm came out at 3.5, 4.37 at 4.25.
    grid = Grid.from_extent_mm((8.0, 8.0, 8.0), 1.0, (0.0, 0.0, 0.0))

    def exact(x, y, z):
        along = np.broadcast_arrays(x, y, z)[axis]
        return np.where(along >= plane_mm, 1, 0).astype(np.uint8)

    # The plane's position: the volume below it over the cross-section.
    placed_mm = share_of_each_cell(grid, exact, 0).sum() / (8.0 * 8.0)
    assert placed_mm == pytest.approx(plane_mm, abs=0.01)


@pytest.mark.parametrize("offset_mm", [0.0, 0.13, 0.37, 0.61])
def test_an_oblique_plane_is_placed_to_a_fiftieth_of_a_cell(offset_mm):
    # A plane at another angle cuts every cell's unshifted lattice the same way: with normal
    # (1, -4, 1) it came out 0.02-0.07 of a cell off, the same way at every offset; each
    # cell's lattice shifted by its own offset, 0.007 at most.
    normal = np.array([1.0, -4.0, 1.0]) / np.sqrt(18.0)
    grid = Grid.from_extent_mm((10.0, 10.0, 10.0), 1.0, (-5.0, -5.0, -5.0))

    def exact(x, y, z):
        along = normal[0] * x + normal[1] * y + normal[2] * z
        return np.where(along >= offset_mm, 1, 0).astype(np.uint8)

    above = share_of_each_cell(grid, exact, 1)
    # Exactly: over each (x, z) the tissue holds y <= (n_x x + n_z z - offset) / |n_y|, a
    # piecewise linear height integrated on a fine (x, z) grid.
    s = (np.arange(2000) + 0.5) / 2000 * 10.0 - 5.0
    xs, zs = np.meshgrid(s, s, indexing="ij")
    top = (normal[0] * xs + normal[2] * zs - offset_mm) / -normal[1]
    exact_mm3 = float(np.clip(top + 5.0, 0.0, 10.0).mean()) * 100.0
    # The error as a shift of the plane along y, over the 10 x 10 mm cross-section.
    assert (above.sum() - exact_mm3) / 100.0 == pytest.approx(0.0, abs=0.02)


def test_cells_away_from_an_interface_and_excluded_cells_keep_their_tissue():
    grid, labels, exact = sphere_grid(OFFSETS[2])
    excluded = np.zeros(grid.shape, bool)
    excluded[6, 6, :] = True  # a line of "metal" through the sphere's boundary
    fractions = tissue_fractions(grid, labels, exact, excluded, 2)
    listed = np.zeros(grid.shape, bool)
    listed[tuple(fractions.cells.T)] = True
    assert not (listed & excluded).any()
    # Only cells within a face of a drawn change are listed, and only if something of
    # another tissue is inside them.
    from thermablate.physics.interfaces import cells_at_a_change

    assert not (listed & ~cells_at_a_change(labels)).any()
    drawn = labels[tuple(fractions.cells.T)]
    assert np.all(fractions.fractions[np.arange(len(drawn)), drawn] < 1.0)


def test_a_cell_s_capacities_are_its_tissues_weighted_by_volume():
    grid, labels, exact = sphere_grid(OFFSETS[0])  # the voxels' volume 6.3 % off
    fractions = tissue_fractions(grid, labels, exact, np.zeros(grid.shape, bool), 2)
    tables = MaterialTables(np.array([0.5, 0.5]), RHOC, SINK, grid.spacing_m)
    cells = CellProperties.of(tables, labels, fractions)
    index = tuple(fractions.cells.T)
    np.testing.assert_allclose(cells.rhoc[index], fractions.fractions @ RHOC, rtol=1e-12)
    np.testing.assert_allclose(cells.sink[index], fractions.fractions @ SINK, rtol=1e-12)
    whole = np.ones(grid.shape, bool)
    whole[index] = False
    np.testing.assert_array_equal(cells.rhoc[whole], RHOC[labels[whole]])
    # With the water boiling: its latent heat and the dry heat capacity alike, and the state
    # steps with them (its kernel's arguments, ``phase_arguments``).
    water = MaterialTables(np.array([0.5, 0.5]), RHOC, SINK, grid.spacing_m,
                           np.array([0.79, 0.15]), np.array([1090.0, 911.0]))  # fmt: skip
    wet = CellProperties.of(water, labels, fractions)
    np.testing.assert_allclose(wet.latent_max[index], fractions.fractions @ water.latent_max,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(wet.rhoc_dry[index], fractions.fractions @ water.rhoc_dry,
                               rtol=1e-12)  # fmt: skip
    boiling = BioheatState(grid, labels, water, 38.0, 37.0, fractions=fractions)
    *_, latent_max, rhoc, rhoc_dry, _, _ = boiling.phase_arguments()
    np.testing.assert_array_equal(latent_max, wet.latent_max)
    np.testing.assert_array_equal(rhoc, wet.rhoc)
    np.testing.assert_array_equal(rhoc_dry, wet.rhoc_dry)
    np.testing.assert_array_equal(boiling.sink, wet.sink)
    # The heat stored at a uniform rise is that of the exact shapes, to the sampling error
    # (the drawn labels' is off by the voxels' volume error times the capacity contrast).
    state = BioheatState(grid, labels, tables, 38.0, 37.0, fractions=fractions)
    exact_j_k = (
        RHOC[0] * (12e-3) ** 3 + (RHOC[1] - RHOC[0]) * 4.0 / 3.0 * math.pi * (RADIUS_MM * 1e-3) ** 3
    )
    assert state.stored_energy_j(37.0) == pytest.approx(exact_j_k, rel=2e-4)
    drawn = BioheatState(grid, labels, tables, 38.0, 37.0)
    assert abs(drawn.stored_energy_j(37.0) - exact_j_k) > 5 * abs(
        state.stored_energy_j(37.0) - exact_j_k
    )


def test_a_preset_s_run_steps_with_its_cells_fractions_and_keeps_its_energy_balance():
    data = {"anatomy": {"preset": "lumbar-metastasis"}, "grid": {"spacing_mm": 1.0},
            "duration_s": 30.0}  # fmt: skip
    scenario = scenario_from_dict(data)
    simulation = Simulation(scenario)
    assert simulation.fractions is not None and len(simulation.fractions) > 1000
    assert simulation.stable_dt_s == stable_time_step_of_faces_s(
        simulation.thermal_faces, simulation.labels, simulation.tables, simulation.fractions
    )
    off = Simulation(dataclasses.replace(scenario, subvoxel_interfaces=False))
    assert off.fractions is None
    # What the run stores and loses adds up to what it was given, with the cells' mixed
    # capacities in the kernel and the energy account alike (that the boiling's arrays are
    # the mixed ones is checked above: the balance would close with the drawn ones too).
    b = simulate(scenario, track_energy=True).energy_balance
    removed = b["stored_j"] + b["perfusion_j"] + b["boundary_j"]
    assert b["delivered_j"] > 10.0
    assert removed == pytest.approx(b["delivered_j"], rel=1e-9)
