"""Sub-voxel electrode surfaces: an embedded Dirichlet boundary for the active contacts.

A voxelised electrode is a staircase: a cell is either inside the contact or not, so the
surface is only known to within half a cell, and the field beside it (the temperature around a
held tip, the potential around the active contact) errs at first order in the spacing, and not
steadily (a sphere of radius 2.5 mm held at 90 °C drew the power of a 2.0-2.4 mm sphere).

Here the contact's cells stay its cells (Dirichlet cells of the potential, held cells or the
isothermal contact node of the heat problem), but every face between a tissue cell and a contact
cell is given the true distance from the tissue cell's centre to the electrode surface along
that axis, ``theta h`` with ``0 < theta <= 1``, computed from the exact shape (sphere, or the
needle contact's capsule). The face then carries ``k (T_contact - T_i) / (theta h)`` per unit
area instead of ``k (T_contact - T_i) / h``: the linear interpolation between the cell centre
and the boundary value on the true surface of Shortley & Weller [SW38], in its symmetric
finite-volume form (Gibou et al. [GFCK02], who show that it converges at second order in the
solution although its local truncation error beside the boundary is of order one). The same
faces carry ``sigma (V_contact - V_i) / (theta h)`` in the potential.

A short ``theta`` makes the face stiff (conductance ``1/theta`` times a regular one), which an
explicit step could not follow. So these faces are taken out of the explicit kernel and treated
implicitly, cell by cell, after it: the contact's temperature is known (held) or is one unknown
per contact node (``physics/needle.py``), so the implicit step costs one division per boundary
cell and the explicit step size is unchanged. ``theta`` is kept at least ``MIN_THETA``: below
it the cell already sits on the contact's temperature to within ``MIN_THETA h |grad T|``.

References
----------
[SW38] Shortley GH, Weller R. The numerical solution of Laplace's equation. J Appl Phys
    1938;9(5):334-348. doi:10.1063/1.1710426
[GFCK02] Gibou F, Fedkiw RP, Cheng L-T, Kang M. A second-order-accurate symmetric
    discretization of the Poisson equation on irregular domains. J Comput Phys
    2002;176(1):205-227. doi:10.1006/jcph.2001.6977
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

from thermablate.physics.electrodes import Electrode, ElectrodeMasks, contact_shapes
from thermablate.physics.grid import Grid

MIN_THETA = 1e-3
"""Shortest distance to the surface used on a face, as a fraction of the spacing. [-]"""

BISECTIONS = 60
"""Bisection steps locating the surface on a face segment (2^-60 of the spacing). [-]"""


@dataclass(frozen=True)
class EmbeddedFaces:
    """The faces between tissue cells and contact cells, with where the surface cuts them.

    Face ``f`` joins the tissue cell ``cells[f]`` and the contact cell ``neighbours[f]``
    (interior indices, shape (m, 3)) along ``axis[f]``; the surface lies ``theta[f] h`` from
    the tissue cell's centre. ``contact[f]`` numbers the connected contact the neighbour
    belongs to (the order of :func:`contact_parts`).
    """

    cells: np.ndarray
    neighbours: np.ndarray
    axis: np.ndarray
    theta: np.ndarray
    contact: np.ndarray

    @property
    def n_faces(self) -> int:
        return int(self.theta.size)

    def owned_face_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(axis, i, j, k)`` of each face in the owned layout (``g[i]`` joins ``i-1``, ``i``)."""
        idx = np.maximum(self.cells, self.neighbours)
        return self.axis, idx[:, 0], idx[:, 1], idx[:, 2]

    def cell_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The tissue cells (n, 3), each once, and where their faces start (n + 1,).

        The faces are sorted by tissue cell: cell ``r``'s are ``starts[r]:starts[r + 1]``.
        """
        if self.n_faces == 0:
            return np.zeros((0, 3), np.int64), np.zeros(1, np.int64)
        changes = np.flatnonzero(np.any(np.diff(self.cells, axis=0) != 0, axis=1)) + 1
        first = np.r_[0, changes].astype(np.int64)
        return np.ascontiguousarray(self.cells[first]), np.r_[first, self.n_faces].astype(np.int64)

    def conductance_per_volume(self, coefficient: np.ndarray, spacing_m: float) -> np.ndarray:
        """``c_i / (theta h^2)`` per face, ``c_i`` the tissue cell's conductivity. [W/(m^3 K)]"""
        c = coefficient[tuple(self.cells.T)]
        return c / (self.theta * spacing_m**2)


def contact_parts(masks: ElectrodeMasks) -> list[np.ndarray]:
    """The connected contacts: each connected part of ``active_a``, then of ``active_b``."""
    parts = []
    for mask in (masks.active_a, masks.active_b):
        labelled, n = ndimage.label(mask)
        parts += [labelled == k for k in range(1, n + 1)]
    return parts


def embedded_faces(grid: Grid, electrodes: list[Electrode], masks: ElectrodeMasks) -> EmbeddedFaces:
    """Every face between a tissue cell and a contact cell, with ``theta`` from the exact shape.

    A tissue cell beside two different contacts keeps its voxelised faces (it would couple the
    two contacts' implicit steps); no preset draws one.
    """
    shape = grid.shape
    contact_id = np.full(shape, -1, np.int64)
    for n, part in enumerate(contact_parts(masks)):
        contact_id[part] = n
    tissue = ~masks.metal
    axes = grid.axes_m()
    shapes = contact_shapes(grid, electrodes)
    cells, neighbours, axis_of, contact_of = [], [], [], []
    for axis in range(3):
        for side in (-1, 1):
            n = shape[axis]
            cell_sl = [slice(None)] * 3
            nb_sl = [slice(None)] * 3
            cell_sl[axis] = slice(max(0, -side), n - max(0, side))
            nb_sl[axis] = slice(max(0, side), n - max(0, -side))
            hit = tissue[tuple(cell_sl)] & (contact_id[tuple(nb_sl)] >= 0)
            idx = np.argwhere(hit)
            idx[:, axis] += max(0, -side)
            nb = idx.copy()
            nb[:, axis] += side
            cells.append(idx)
            neighbours.append(nb)
            axis_of.append(np.full(len(idx), axis, np.int64))
            contact_of.append(contact_id[tuple(nb.T)])
    cells = np.concatenate(cells)
    neighbours = np.concatenate(neighbours)
    axis_of = np.concatenate(axis_of)
    contact_of = np.concatenate(contact_of)
    # A cell beside two contacts keeps its voxel faces.
    key = np.ravel_multi_index(tuple(cells.T), shape) if len(cells) else np.zeros(0, np.int64)
    order = np.argsort(key, kind="stable")
    key, cells, neighbours = key[order], cells[order], neighbours[order]
    axis_of, contact_of = axis_of[order], contact_of[order]
    if len(key):
        first = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
        counts = np.diff(np.r_[first, len(key)])
        one = np.minimum.reduceat(contact_of, first) == np.maximum.reduceat(contact_of, first)
        single = np.repeat(one, counts)
        cells, neighbours = cells[single], neighbours[single]
        axis_of, contact_of = axis_of[single], contact_of[single]
    a = np.stack([axes[d][cells[:, d]] for d in range(3)], axis=1)
    b = np.stack([axes[d][neighbours[:, d]] for d in range(3)], axis=1)
    theta = np.full(len(cells), np.nan)
    for signed_distance in shapes:
        # The shape a contact cell lies in: the first that holds it, as in the masks.
        take = np.isnan(theta) & (signed_distance(b) <= 0.0)
        if take.any():
            theta[take] = _surface_fraction(signed_distance, a[take], b[take])
    theta = np.where(np.isnan(theta), 1.0, theta)
    theta = np.clip(theta, MIN_THETA, 1.0)
    return EmbeddedFaces(
        np.ascontiguousarray(cells, np.int64), np.ascontiguousarray(neighbours, np.int64),
        np.ascontiguousarray(axis_of, np.int64), theta, np.ascontiguousarray(contact_of, np.int64),
    )  # fmt: skip


def _surface_fraction(signed_distance, a, b):
    """Where the surface cuts each segment ``a -> b`` (``a`` outside, ``b`` inside), in (0, 1].

    The contact shapes are convex, so their signed distance is convex along a segment and has
    one root between an outside and an inside end: bisection finds it to ``2**-BISECTIONS``.
    """
    lo = np.zeros(len(a))
    hi = np.ones(len(a))
    outside_a = signed_distance(a) > 0.0
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        inside = signed_distance(a + mid[:, None] * (b - a)) <= 0.0
        hi = np.where(inside, mid, hi)
        lo = np.where(inside, lo, mid)
    return np.where(outside_a, hi, 1.0)


@numba.njit(cache=True, nogil=True)
def hold_faces(t_new_pad_c, t_max_c, dt_over_rhoc, cells, starts, neighbours, g_w_m3k):
    """Backward-Euler coupling of tissue cells to held cells across embedded faces.

    Called after the explicit step and after the held cells took their new values: each tissue
    cell's explicit update ``T*`` becomes ``(T* + c sum g T_held) / (1 + c sum g)`` with
    ``c = dt / (rho c)``. ``cells`` (n, 3) are the tissue cells (interior indices), their faces
    ``starts[n]:starts[n+1]`` of ``neighbours`` and ``g_w_m3k`` (conductance per unit volume,
    [W/(m^3 K)]). Returns the heat rate the held cells supplied, per unit volume. [W/m^3]
    """
    total = 0.0
    for n in range(cells.shape[0]):
        i, j, k = cells[n, 0] + 1, cells[n, 1] + 1, cells[n, 2] + 1
        c = dt_over_rhoc[cells[n, 0], cells[n, 1], cells[n, 2]]
        g_sum = 0.0
        s = 0.0
        for f in range(starts[n], starts[n + 1]):
            g = g_w_m3k[f]
            g_sum += g
            s += g * t_new_pad_c[neighbours[f, 0] + 1, neighbours[f, 1] + 1, neighbours[f, 2] + 1]
        t = (t_new_pad_c[i, j, k] + c * s) / (1.0 + c * g_sum)
        t_new_pad_c[i, j, k] = t
        m = t_max_c[cells[n, 0], cells[n, 1], cells[n, 2]]
        t_max_c[cells[n, 0], cells[n, 1], cells[n, 2]] = max(m, t)
        total += s - g_sum * t
    return total
