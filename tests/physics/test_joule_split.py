"""Where the Joule heat goes (physics/electric.py, ``lower_shares``): a current crossing a
change of conductivity dissipates ``J^2 / sigma``, most of it on the resistive side, so each
face's dissipation is split between its two cells by their halves' resistance."""

from __future__ import annotations

import numpy as np
import pytest

from thermablate.physics.electric import joule_heat, lower_shares, solve_diffusion
from thermablate.physics.grid import Grid
from thermablate.physics.interfaces import interface_faces

SIGMA = np.array([0.5, 0.01])  # muscle-like and fat-like, 50 to 1 [S/m]


def _bar(labels_along, exact=None, axis=0):
    """A 1-D bar of cells along ``axis`` held at 1 V and 0 V at its ends (insulated sides):
    the current is the same through every cross-section. Arrays come back as 1-D along the
    bar."""
    n = len(labels_along)
    extent = [1.0, 1.0, 1.0]
    extent[axis] = float(n)
    grid = Grid.from_extent_mm(tuple(extent), 1.0, (0.0, 0.0, 0.0))
    shape = [1, 1, 1]
    shape[axis] = n
    labels = np.asarray(labels_along, np.uint8).reshape(shape)
    sigma = SIGMA[labels]
    fixed = np.zeros(grid.shape, bool)
    ends = [slice(None)] * 3
    for end in (0, -1):
        ends[axis] = end
        fixed[tuple(ends)] = True
    value = np.zeros(grid.shape)
    ends[axis] = 0
    value[tuple(ends)] = 1.0
    interfaces = None
    if exact is not None:
        interfaces = interface_faces(grid, labels, exact, fixed).for_property(SIGMA, labels)
    v, g_faces, g_boundary, _ = solve_diffusion(
        grid, sigma, fixed, value, False, rtol=1e-13, interfaces=interfaces
    )
    current_a = g_faces[axis].ravel()[1] * (v.ravel()[0] - v.ravel()[1])
    return grid, labels, sigma, fixed, v, g_faces, g_boundary, interfaces, current_a


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_every_cell_the_current_crosses_dissipates_j_squared_over_its_own_sigma(axis):
    labels_along = [0] * 8 + [1] * 8
    grid, labels, sigma, fixed, v, g_faces, g_boundary, _, current_a = _bar(labels_along, axis=axis)
    area_m2 = grid.spacing_m**2
    expected = ((current_a / area_m2) ** 2 / sigma).ravel()  # J^2 / sigma [W/m^3]
    q, power = joule_heat(grid, v, g_faces, g_boundary, shares=lower_shares(sigma, fixed))
    q = q.ravel()
    inner = slice(2, -2)  # the cells beside the held ends give half a face to them
    np.testing.assert_allclose(q[inner], expected[inner], rtol=1e-9)
    assert q.sum() * grid.cell_volume_m3 == pytest.approx(power, rel=1e-12)
    # An even split gives each cell at the change half of its two faces: three quarters of
    # its own dissipation and a quarter of its neighbour's, the muscle cell 13 times its own.
    even = joule_heat(grid, v, g_faces, g_boundary)[0].ravel()
    for own, other in ((7, 8), (8, 7)):
        mixed = 0.75 * expected[own] + 0.25 * expected[other]
        assert even[own] == pytest.approx(mixed, rel=1e-9)
    assert even[7] > 10 * expected[7]


def test_a_face_beside_a_contact_is_split_evenly_whatever_the_two_conduct():
    # The held end cells are of tissue 1 (the fat-like one), their neighbours of tissue 0: the
    # face between them still gives the contact node half (it holds tissue of its own up to
    # the true surface, physics/embedded.py), not the share by resistance.
    grid, labels, sigma, fixed, v, g_faces, g_boundary, _, current_a = _bar([1] + [0] * 8 + [1])
    shares = lower_shares(sigma, fixed)
    assert shares[0][1, 0, 0] == 0.5 and shares[0][9, 0, 0] == 0.5
    assert shares[0][2, 0, 0] == 0.5  # tissue 0 on both sides
    q = joule_heat(grid, v, g_faces, g_boundary, shares=shares)[0].ravel()
    beside = g_faces[0][1, 0, 0] * (v[0, 0, 0] - v[1, 0, 0]) ** 2
    inner = g_faces[0][2, 0, 0] * (v[1, 0, 0] - v[2, 0, 0]) ** 2
    assert q[1] * grid.cell_volume_m3 == pytest.approx(0.5 * beside + 0.5 * inner, rel=1e-12)
    assert q[0] * grid.cell_volume_m3 == pytest.approx(0.5 * beside, rel=1e-12)


@pytest.mark.parametrize("boundary_mm", [7.6, 8.0, 8.3])
def test_at_an_interface_inside_the_cells_each_cell_takes_what_its_tissues_dissipate(
    boundary_mm,
):
    # Tissue 0 below x = boundary_mm; the cell centres at 0.5, 1.5, ... mm, so the change
    # lies between the centres at 7.5 and 8.5 mm, not half-way.
    def exact(x, y, z):
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        return np.broadcast_to(np.where(x >= boundary_mm, 1, 0), shape).astype(np.uint8)

    centres = np.arange(16) + 0.5
    grid, labels, sigma, fixed, v, g_faces, g_boundary, interfaces, current_a = _bar(
        exact(centres, 0.0, 0.0), exact
    )
    q, power = joule_heat(
        grid, v, g_faces, g_boundary, shares=lower_shares(sigma, fixed, interfaces)
    )
    assert interfaces is not None and len(interfaces.axis) >= 1
    # Each cell holds [x - h/2, x + h/2] of the bar as far as the dissipation goes (its own
    # halves of the segments to its neighbours): J^2 times int dx / sigma over that span.
    j2 = (current_a / grid.spacing_m**2) ** 2
    for i in (6, 7, 8, 9):
        lo, hi = centres[i] - 0.5, centres[i] + 0.5
        in_0 = np.clip(min(hi, boundary_mm) - lo, 0.0, 1.0)
        resistive_mm = in_0 / SIGMA[0] + (1.0 - in_0) / SIGMA[1]
        # (1e-7: the change is located by bisection to 2^-30 of an eighth of the segment.)
        assert q[i, 0, 0] == pytest.approx(j2 * resistive_mm, rel=1e-7), i
    assert q.sum() * grid.cell_volume_m3 == pytest.approx(power, rel=1e-12)
