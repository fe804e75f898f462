"""Quasi-static electric potential and Joule heating on the voxel grid.

At RF (~500 kHz) the tissue is resistive and the wavelength is metres long, so the potential
obeys ``div(sigma grad V) = 0`` (Berjano 2006, doi:10.1186/1475-925X-5-24). The cell-centred
finite-volume scheme uses the harmonic mean of the two cells' conductivities on each face, so
that the current across an interface between, say, cortical bone and a tumour is continuous.

The potential is solved for a unit voltage between the active contacts (or the active tip and
the grounded boundary). The generator scales it: for an applied voltage ``U`` the Joule heat is
``U**2 * q_unit`` and the power ``U**2 * power_unit_w`` because the problem is linear in ``V``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from thermablate.physics import multigrid
from thermablate.physics.embedded import EmbeddedFaces
from thermablate.physics.grid import Grid
from thermablate.physics.interfaces import InterfaceConductances

MAX_ITERATIONS = 500
"""Iteration limit of the multigrid-preconditioned CG (it needs 5-20). [-]"""


@dataclass
class ElectricSolution:
    """Potential for a unit applied voltage and the Joule heating it produces.

    Attributes
    ----------
    potential_v : ndarray
        Cell potential for 1 V applied. [V]
    joule_unit_w_m3 : ndarray
        Joule heat density for 1 V applied (sigma |E|^2, face-wise). [W/m^3]
    power_unit_w : float
        Total power for 1 V applied, i.e. the inverse of the load impedance. [W]
    iterations : int
        Conjugate-gradient iterations used.
    """

    potential_v: np.ndarray
    joule_unit_w_m3: np.ndarray
    power_unit_w: float
    iterations: int

    @property
    def impedance_ohm(self) -> float:
        return 1.0 / self.power_unit_w if self.power_unit_w > 0 else float("inf")


DESICCATION_ONSET_C = 99.0
"""Without the tissue's boiling modelled (``Scenario.phase_change`` false): temperature at
which the conductivity starts to fall as water boils off, reaching ``DESICCATION_FACTOR`` of
its value at 100 °C. [°C]"""

DESICCATION_FACTOR = 1e-2
"""Conductivity of desiccated (dry) tissue relative to the same tissue wet at the same
temperature: two orders of magnitude lower (Haemmerich D et al. Hepatic radiofrequency
ablation with internally cooled probes: effect of coolant temperature on lesion size. IEEE
Trans Biomed Eng 2003;50(4):493-500, doi:10.1109/TBME.2003.809488). [-]"""

LINEAR_CAP_C = 100.0
"""The linear rise ``1 + alpha (T - 37)`` stops here, where the water boils (with boiling
modelled, a cell above 100 °C has no water left and its conductivity is the dry one). [°C]"""


def conductivity_factor(temperature_c, alpha_per_k, water_fraction=None):
    """sigma / sigma(37 °C) of tissue at ``temperature_c`` holding ``water_fraction`` of its
    water. [-]

    ``linear(T) * (DESICCATION_FACTOR + (1 - DESICCATION_FACTOR) * water_fraction)``, with
    ``linear(T) = 1 + alpha (min(T, 100) - 37)`` (at least 0.1).

    The conductivity of tissue is carried by its water, and as the water vaporises the tissue
    stops conducting: this is how RF-ablation models with an enthalpy treatment of boiling
    couple the electrical problem to the water content (Zhu Q et al. Numerical study of the
    influence of water evaporation on radiofrequency ablation. Biomed Eng Online 2013;12:127,
    doi:10.1186/1475-925X-12-127: the dehydrated tissue blocks the current). Linear in the
    remaining water fraction, from the wet value down to the dry one two orders of magnitude
    lower (Haemmerich 2003, :data:`DESICCATION_FACTOR`), is a modelling choice: the simplest
    law with those two ends. Tied to the water actually boiled off (``physics/phase.py``'s
    latent heat, ``water_fraction = 1 - L / L_max``), the drop follows the heat delivered:
    water boils off at a rate the power bounds, so the conductance changes smoothly in time,
    where the former drop over 99-100 °C fell a hundredfold within one kelvin of a cell that
    had not yet boiled anything.

    Parameters
    ----------
    temperature_c : ndarray
        Tissue temperature. [°C]
    alpha_per_k : ndarray or float
        Relative temperature coefficient. [1/K]
    water_fraction : ndarray or None
        The fraction of each cell's water not yet boiled off (1: all of it; 1 for tissue
        without water). None: the tissue's boiling is not modelled, and the drop is taken
        from the temperature alone, a hundredfold between ``DESICCATION_ONSET_C`` and 100 °C.
    """
    t = np.asarray(temperature_c, float)
    if water_fraction is None:
        linear = 1.0 + alpha_per_k * (np.minimum(t, DESICCATION_ONSET_C) - 37.0)
        drop = np.clip(
            1.0 - (1.0 - DESICCATION_FACTOR) * (t - DESICCATION_ONSET_C), DESICCATION_FACTOR, 1.0
        )
        return np.maximum(linear, 0.1) * drop
    linear = 1.0 + alpha_per_k * (np.minimum(t, LINEAR_CAP_C) - 37.0)
    wet = np.clip(np.asarray(water_fraction, float), 0.0, 1.0)
    return np.maximum(linear, 0.1) * (DESICCATION_FACTOR + (1.0 - DESICCATION_FACTOR) * wet)


def solve_potential(
    grid: Grid,
    sigma_s_m: np.ndarray,
    fixed: np.ndarray,
    fixed_value_v: np.ndarray,
    boundary_grounded: bool,
    boundary_value_v: np.ndarray | None = None,
    initial_v: np.ndarray | None = None,
    rtol: float = 1e-8,
    embedded: EmbeddedFaces | None = None,
    workspace: multigrid.Workspace | None = None,
    interfaces: InterfaceConductances | None = None,
) -> ElectricSolution:
    """Solve ``div(sigma grad V) = 0`` with Dirichlet cells and boundary.

    Parameters
    ----------
    grid : Grid
        The voxel grid.
    sigma_s_m : ndarray
        Cell conductivity; 0 marks insulators (no current). [S/m]
    fixed : ndarray of bool
        Cells whose potential is prescribed (electrode contacts).
    fixed_value_v : ndarray
        Their potential (read where ``fixed``). [V]
    boundary_grounded : bool
        True: the outer boundary is a ground at distance h/2 from the boundary cells (the
        dispersive pad, monopolar). False: insulated boundary (bipolar).
    boundary_value_v : ndarray, optional
        Potential of the boundary ground, per boundary cell (default 0). [V]
    initial_v : ndarray, optional
        Starting guess (the previous solution when conductivity changed a little). [V]
    rtol : float
        Relative residual tolerance of the conjugate-gradient solve.
    embedded : EmbeddedFaces, optional
        The faces between tissue and the contacts, with where the contact's true surface cuts
        them (``physics/embedded.py``): their conductance is ``sigma h / theta``.
    workspace : multigrid.Workspace, optional
        Arrays kept for the caller's next solve on this grid (re-solves in a coupled run).
    interfaces : InterfaceConductances, optional
        The faces near a tissue interface, with the tissues between their cell centres
        (``physics/interfaces.py``): their conductance is that of what lies between the
        centres, each half scaled by its cell's conductivity factor.
    """
    v, g_faces, g_boundary, iterations = solve_diffusion(
        grid, sigma_s_m, fixed, fixed_value_v, boundary_grounded, boundary_value_v, initial_v,
        rtol, embedded=embedded, workspace=workspace, interfaces=interfaces,
    )  # fmt: skip
    shares = lower_shares(sigma_s_m, fixed, interfaces)
    joule, power = joule_heat(grid, v, g_faces, g_boundary, boundary_value_v, shares)
    return ElectricSolution(v, joule, power, iterations)


def lower_shares(sigma_s_m, fixed, interfaces: InterfaceConductances | None = None):
    """The share of each face's dissipation that heats its lower cell (owned layout). [-]

    The current through a face's segment, from one cell centre to the other, is the same all
    along it, so each piece of the segment dissipates in proportion to its resistance: the
    half in the lower cell takes ``R_lo / (R_lo + R_hi)``. For a face between two cells of
    conductivity ``s_lo`` and ``s_hi`` (the harmonic-mean face) that is ``s_hi / (s_lo +
    s_hi)``; for a face near a tissue interface, its halves' resistances from the exact shapes
    (``interfaces``), each scaled by its cell's conductivity factor. Between CSF and epidural
    fat (81 times less conductive) the fat's half takes 98.8 % of the heat, where an even
    split put half of it in the CSF. A face beside a contact (``fixed``) is split evenly: on an
    embedded face the contact cell's half heats the contact node, whose voxel also holds the
    tissue between the true surface and the voxel's faces.
    """
    sigma = np.asarray(sigma_s_m, float)
    shares = []
    for axis in range(3):
        n = sigma.shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, n - 1)
        hi[axis] = slice(1, n)
        s_lo, s_hi = sigma[tuple(lo)], sigma[tuple(hi)]
        total = s_lo + s_hi
        inner = np.full(s_lo.shape, 0.5)
        split = (total > 0) & ~fixed[tuple(lo)] & ~fixed[tuple(hi)]
        np.divide(s_hi, total, out=inner, where=split)
        pad = [(0, 0)] * 3
        pad[axis] = (1, 1)
        shares.append(np.pad(inner, pad, constant_values=0.5))
    if interfaces is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            r_lo = interfaces.r_lower / (sigma[interfaces.lower] / interfaces.reference_lower)
            r_hi = interfaces.r_upper / (sigma[interfaces.upper] / interfaces.reference_upper)
            share = r_lo / (r_lo + r_hi)
        share = np.where(np.isfinite(share), share, 0.5)
        for a in range(3):
            on = interfaces.axis == a
            shares[a][tuple(c[on] for c in interfaces.upper)] = share[on]
    return tuple(np.ascontiguousarray(x) for x in shares)


def joule_heat(grid: Grid, v, g_faces, g_boundary, boundary_value_v=None, shares=None):
    """Joule heat density from face dissipation ``G (dV)^2``, split between the face's two
    cells by ``shares`` (:func:`lower_shares`; evenly without them).

    Splitting each face's dissipation between its two cells conserves the total exactly:
    the sum over cells equals the power the source delivers. ``g_faces`` and ``shares`` are in
    the owned layout of :func:`_assemble`. Returns ``(q [W/m^3], P [W])``.
    """
    vb = np.zeros(v.shape) if boundary_value_v is None else _cell_array(boundary_value_v, v.shape)
    if shares is None:
        shares = tuple(np.full(g.shape, 0.5) for g in g_faces)
    p = np.empty(v.shape)
    total = _joule(v, *g_faces, *shares, g_boundary, vb, p)
    return p / grid.cell_volume_m3, total


@numba.njit(cache=True, nogil=True)
def _embed(coef, fixed, fixed_value, free, h, cells, neighbours, axis, theta, gx, gy, gz, diag,
           rhs):  # fmt: skip
    """Give each embedded face the conductance ``c h / theta`` of the tissue cell's side.

    The faces join a free cell and a fixed (contact) cell, so the change only enters the free
    cell's diagonal and right-hand side: the operator on the free cells stays symmetric.
    """
    for f in range(cells.shape[0]):
        i, j, k = cells[f, 0], cells[f, 1], cells[f, 2]
        a, b, c = neighbours[f, 0], neighbours[f, 1], neighbours[f, 2]
        if not free[i, j, k] or not fixed[a, b, c]:
            continue
        fi, fj, fk = max(i, a), max(j, b), max(k, c)
        g_new = coef[i, j, k] * h / theta[f]
        if axis[f] == 0:
            g_old = gx[fi, fj, fk]
            gx[fi, fj, fk] = g_new
        elif axis[f] == 1:
            g_old = gy[fi, fj, fk]
            gy[fi, fj, fk] = g_new
        else:
            g_old = gz[fi, fj, fk]
            gz[fi, fj, fk] = g_new
        diag[i, j, k] += g_new - g_old
        rhs[i, j, k] += (g_new - g_old) * fixed_value[a, b, c]


@numba.njit(cache=True, nogil=True)
def _joule(v, gx, gy, gz, sx, sy, sz, g_boundary, v_boundary, out):
    """Each cell's dissipation: its boundary face's, and of each face its share (``s*[f]``
    to the face's lower cell, the rest to its upper one). [W]"""
    nx, ny, nz = v.shape
    total = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                vc = v[i, j, k]
                s = g_boundary[i, j, k] * (vc - v_boundary[i, j, k]) ** 2
                if i > 0:
                    s += (1.0 - sx[i, j, k]) * gx[i, j, k] * (vc - v[i - 1, j, k]) ** 2
                if i < nx - 1:
                    s += sx[i + 1, j, k] * gx[i + 1, j, k] * (v[i + 1, j, k] - vc) ** 2
                if j > 0:
                    s += (1.0 - sy[i, j, k]) * gy[i, j, k] * (vc - v[i, j - 1, k]) ** 2
                if j < ny - 1:
                    s += sy[i, j + 1, k] * gy[i, j + 1, k] * (v[i, j + 1, k] - vc) ** 2
                if k > 0:
                    s += (1.0 - sz[i, j, k]) * gz[i, j, k] * (vc - v[i, j, k - 1]) ** 2
                if k < nz - 1:
                    s += sz[i, j, k + 1] * gz[i, j, k + 1] * (v[i, j, k + 1] - vc) ** 2
                out[i, j, k] = s
                total += s
    return total


def _cell_array(value, shape):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=float), shape))


@numba.njit(cache=True, nogil=True)
def _face(s1, s2, h):
    den = s1 + s2
    return 2.0 * s1 * s2 / den * h if den > 0.0 else 0.0


@numba.njit(parallel=True, cache=True, nogil=True)
def _assemble(coef, fixed, fixed_value, boundary_dirichlet, boundary_value, boundary_factor, h,
              sink, source, initial, gx, gy, gz, g_boundary, diag, rhs, free, x0):  # fmt: skip
    """Finite-volume system of ``-div(c grad u) + s u = f`` in one pass over the grid.

    Face conductances in the owned layout (``gx[i]`` couples ``i - 1`` and ``i``; zero on the
    boundary planes), the boundary conductance per cell, the diagonal (all couplings of the
    cell plus the sink), the right-hand side (couplings to fixed cells and the boundary plus
    the source), the free cells and the starting guess on them.

    The loops over x-planes run in parallel: each cell's entries are written by its own plane
    only and nothing is summed across cells, so the result does not depend on the threads
    (run at every potential solve).
    """
    nx, ny, nz = coef.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                c = coef[i, j, k]
                gx[i, j, k] = _face(coef[i - 1, j, k], c, h) if i > 0 else 0.0
                gy[i, j, k] = _face(coef[i, j - 1, k], c, h) if j > 0 else 0.0
                gz[i, j, k] = _face(coef[i, j, k - 1], c, h) if k > 0 else 0.0
    for j in range(ny):
        for k in range(nz):
            gx[nx, j, k] = 0.0
    for i in range(nx):
        for k in range(nz):
            gy[i, ny, k] = 0.0
    for i in range(nx):
        for j in range(ny):
            gz[i, j, nz] = 0.0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                gb = 0.0
                if boundary_dirichlet:
                    ends = (
                        (i == 0) + (i == nx - 1) + (j == 0) + (j == ny - 1) + (k == 0)
                        + (k == nz - 1)
                    )  # fmt: skip
                    gb = boundary_factor * coef[i, j, k] * h * ends
                g_boundary[i, j, k] = gb
                d = gb + sink[i, j, k]
                r = gb * boundary_value[i, j, k] + source[i, j, k]
                for di, dj, dk, g in (
                    (-1, 0, 0, gx[i, j, k]),
                    (1, 0, 0, gx[i + 1, j, k]),
                    (0, -1, 0, gy[i, j, k]),
                    (0, 1, 0, gy[i, j + 1, k]),
                    (0, 0, -1, gz[i, j, k]),
                    (0, 0, 1, gz[i, j, k + 1]),
                ):
                    if g != 0.0:
                        d += g
                        if fixed[i + di, j + dj, k + dk]:
                            r += g * fixed_value[i + di, j + dj, k + dk]
                is_free = (not fixed[i, j, k]) and coef[i, j, k] > 0.0 and d > 0.0
                free[i, j, k] = is_free
                diag[i, j, k] = d
                rhs[i, j, k] = r if is_free else 0.0
                x0[i, j, k] = initial[i, j, k] if is_free else 0.0


def solve_diffusion(
    grid: Grid,
    coefficient: np.ndarray,
    fixed: np.ndarray,
    fixed_value: np.ndarray,
    boundary_dirichlet: bool,
    boundary_value: np.ndarray | float | None = None,
    initial: np.ndarray | None = None,
    rtol: float = 1e-8,
    sink_per_cell: np.ndarray | None = None,
    source_per_cell: np.ndarray | None = None,
    boundary_factor: float = 2.0,
    embedded: EmbeddedFaces | None = None,
    workspace: multigrid.Workspace | None = None,
    interfaces: InterfaceConductances | None = None,
):
    """Solve ``-div(c grad u) + s u = f`` by finite volumes and multigrid-preconditioned CG.

    The solver is matrix-free (Numba kernels on the 3-D arrays, see
    :mod:`thermablate.physics.multigrid`).

    ``coefficient`` is the cell conductivity (electric [S/m] or thermal [W/(m K)]); cells with
    0 are excluded. The face conductance is ``G = h * 2 c1 c2 / (c1 + c2)`` (area h^2 over
    distance h, harmonic mean). ``sink_per_cell`` is ``s * h^3`` and ``source_per_cell`` is
    ``f * h^3`` (already multiplied by the cell volume). The boundary, when Dirichlet, is a
    ghost node at distance h/2 (``boundary_factor`` 2) or h (1) holding ``boundary_value``.
    ``embedded`` faces (between a free cell and a fixed contact cell) take the conductance
    ``c h / theta`` from the tissue cell's centre to the contact's true surface (see
    :mod:`thermablate.physics.embedded`). ``interfaces`` faces take the conductance of the
    tissues between their centres (:mod:`thermablate.physics.interfaces`). ``workspace`` keeps
    the multigrid hierarchy's arrays
    for the caller's next solve on this grid.
    Returns ``(u, face_conductances, g_boundary, iterations)``, the faces in the owned layout
    (``gx`` of shape ``(nx + 1, ny, nz)``, ``gx[i]`` between cells ``i - 1`` and ``i``).
    """
    shape = grid.shape
    nx, ny, nz = shape
    zeros = np.zeros(shape)
    coef = np.ascontiguousarray(coefficient, dtype=float)
    fixed = np.ascontiguousarray(fixed, dtype=bool)
    vfix = _cell_array(fixed_value, shape)
    bval = zeros if boundary_value is None else _cell_array(boundary_value, shape)
    sink = zeros if sink_per_cell is None else _cell_array(sink_per_cell, shape)
    source = zeros if source_per_cell is None else _cell_array(source_per_cell, shape)
    initial = zeros if initial is None else _cell_array(initial, shape)
    gx = np.empty((nx + 1, ny, nz))
    gy = np.empty((nx, ny + 1, nz))
    gz = np.empty((nx, ny, nz + 1))
    g_boundary, diag, rhs, x0 = (np.empty(shape) for _ in range(4))
    free = np.empty(shape, dtype=bool)
    _assemble(
        coef, fixed, vfix, bool(boundary_dirichlet), bval, float(boundary_factor),
        float(grid.spacing_m), sink, source, initial, gx, gy, gz, g_boundary, diag, rhs, free, x0,
    )  # fmt: skip
    if interfaces is not None:
        interfaces.apply((gx, gy, gz), diag, coef, float(grid.spacing_m))
    if embedded is not None and embedded.n_faces:
        _embed(
            coef, fixed, vfix, free, float(grid.spacing_m), embedded.cells, embedded.neighbours,
            embedded.axis, embedded.theta, gx, gy, gz, diag, rhs,
        )  # fmt: skip
    x, iterations, converged = multigrid.solve(
        (gx, gy, gz), diag, free, rhs, x0, rtol, MAX_ITERATIONS, workspace
    )
    if not converged:
        raise RuntimeError(
            f"potential/heat solve did not converge in {MAX_ITERATIONS} multigrid-CG iterations"
        )
    v = np.where(free, x, np.where(fixed, vfix, 0.0))
    return v, (gx, gy, gz), g_boundary, iterations
