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

from thermablate.physics.grid import Grid


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
"""Temperature at which the conductivity starts to fall as water boils off. [°C]"""

DESICCATION_FACTOR = 1e-2
"""Conductivity of desiccated tissue relative to its value at 99 °C: two orders of magnitude
lower, reached at 100 °C (Haemmerich D et al. Hepatic radiofrequency ablation with internally
cooled probes: effect of coolant temperature on lesion size. IEEE Trans Biomed Eng
2003;50(4):493-500, doi:10.1109/TBME.2003.809488). [-]"""


def conductivity_factor(temperature_c, alpha_per_k):
    """sigma(T) / sigma(37 °C): linear rise with ``alpha_per_k``, then the desiccation drop.

    Parameters
    ----------
    temperature_c : ndarray
        Tissue temperature. [°C]
    alpha_per_k : ndarray or float
        Relative temperature coefficient. [1/K]
    """
    t = np.asarray(temperature_c, float)
    linear = 1.0 + alpha_per_k * (np.minimum(t, DESICCATION_ONSET_C) - 37.0)
    drop = np.clip(
        1.0 - (1.0 - DESICCATION_FACTOR) * (t - DESICCATION_ONSET_C), DESICCATION_FACTOR, 1.0
    )
    return np.maximum(linear, 0.1) * drop


def face_conductances(sigma_s_m: np.ndarray, spacing_m: float):
    """Conductance of the faces between neighbouring cells along x, y, z. [S]

    ``G = h * 2 s1 s2 / (s1 + s2)`` (area h^2 over distance h, harmonic mean).
    """
    out = []
    for axis in range(3):
        s1 = np.take(sigma_s_m, np.arange(sigma_s_m.shape[axis] - 1), axis=axis)
        s2 = np.take(sigma_s_m, np.arange(1, sigma_s_m.shape[axis]), axis=axis)
        den = s1 + s2
        g = np.divide(2.0 * s1 * s2, den, out=np.zeros_like(den), where=den > 0)
        out.append(g * spacing_m)
    return out


def solve_potential(
    grid: Grid,
    sigma_s_m: np.ndarray,
    fixed: np.ndarray,
    fixed_value_v: np.ndarray,
    boundary_grounded: bool,
    boundary_value_v: np.ndarray | None = None,
    initial_v: np.ndarray | None = None,
    rtol: float = 1e-8,
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
    """
    v, g_faces, g_boundary, iterations = solve_diffusion(
        grid, sigma_s_m, fixed, fixed_value_v, boundary_grounded, boundary_value_v, initial_v, rtol
    )
    joule, power = joule_heat(grid, v, g_faces, g_boundary, boundary_value_v)
    return ElectricSolution(v, joule, power, iterations)


def joule_heat(grid: Grid, v, g_faces, g_boundary, boundary_value_v=None):
    """Joule heat density from face dissipation ``G (dV)^2``, half to each adjacent cell.

    Splitting each face's dissipation between its two cells conserves the total exactly:
    the sum over cells equals the power the source delivers. Returns ``(q [W/m^3], P [W])``.
    """
    shape = v.shape
    p = np.zeros(shape)
    for axis, g in enumerate(g_faces):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, shape[axis] - 1)
        hi[axis] = slice(1, shape[axis])
        lo, hi = tuple(lo), tuple(hi)
        half = 0.5 * g * (v[hi] - v[lo]) ** 2
        p[lo] += half
        p[hi] += half
    vb = 0.0 if boundary_value_v is None else boundary_value_v
    p += g_boundary * (v - vb) ** 2
    return p / grid.cell_volume_m3, float(p.sum())


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
):
    """Solve ``-div(c grad u) + s u = f`` by finite volumes and Jacobi-preconditioned CG.

    The conjugate-gradient solver is matrix-free (Numba kernels on the 3-D arrays).

    ``coefficient`` is the cell conductivity (electric [S/m] or thermal [W/(m K)]); cells with
    0 are excluded. ``sink_per_cell`` is ``s * h^3`` and ``source_per_cell`` is ``f * h^3``
    (already multiplied by the cell volume). The boundary, when Dirichlet, is a ghost node at
    distance h/2 (``boundary_factor`` 2) or h (1) holding ``boundary_value``. Returns ``(u, face_conductances, g_boundary,
    iterations)``.
    """
    sigma_s_m = coefficient
    fixed_value_v = fixed_value
    boundary_grounded = boundary_dirichlet
    boundary_value_v = boundary_value
    initial_v = initial
    h = grid.spacing_m
    shape = grid.shape
    g_faces = face_conductances(sigma_s_m, h)
    free = (~fixed) & (sigma_s_m > 0)
    vfix = np.where(fixed, fixed_value_v, 0.0)

    diag = np.zeros(shape)
    rhs = np.zeros(shape)
    sl = (slice(None),) * 3
    for axis, g in enumerate(g_faces):
        lo = list(sl)
        hi = list(sl)
        lo[axis] = slice(0, shape[axis] - 1)
        hi[axis] = slice(1, shape[axis])
        lo, hi = tuple(lo), tuple(hi)
        diag[lo] += g
        diag[hi] += g
        rhs[lo] += g * np.where(fixed[hi], vfix[hi], 0.0)
        rhs[hi] += g * np.where(fixed[lo], vfix[lo], 0.0)
    g_boundary = np.zeros(shape)
    if boundary_grounded:
        # area h^2 over distance h/2 (factor 2) or h (factor 1)
        sb = boundary_factor * sigma_s_m * h
        for axis in range(3):
            for end in (0, shape[axis] - 1):
                s = list(sl)
                s[axis] = slice(end, end + 1)
                g_boundary[tuple(s)] += sb[tuple(s)]
        diag += g_boundary
        if boundary_value_v is not None:
            rhs += g_boundary * boundary_value_v
    if sink_per_cell is not None:
        diag += sink_per_cell
    if source_per_cell is not None:
        rhs += source_per_cell
    free &= diag > 0  # a conducting cell walled in by insulation carries no current
    x0 = np.where(free, initial_v, 0.0) if initial_v is not None else np.zeros(shape)
    b = np.where(free, rhs, 0.0)
    gx, gy, gz = (np.ascontiguousarray(g) for g in g_faces)
    x, iterations, converged = pcg(b, x0, gx, gy, gz, np.where(free, diag, 1.0), free, rtol, 20000)
    if not converged:
        raise RuntimeError("potential/heat solve did not converge in 20000 CG iterations")
    iters = [iterations]
    v = np.where(free, x, vfix)
    return v, g_faces, g_boundary, iters[0]


@numba.njit(parallel=True, cache=True)
def _apply(x, gx, gy, gz, diag, free, out):
    nx, ny, nz = x.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                if not free[i, j, k]:
                    out[i, j, k] = 0.0
                    continue
                s = diag[i, j, k] * x[i, j, k]
                if i > 0:
                    s -= gx[i - 1, j, k] * x[i - 1, j, k]
                if i < nx - 1:
                    s -= gx[i, j, k] * x[i + 1, j, k]
                if j > 0:
                    s -= gy[i, j - 1, k] * x[i, j - 1, k]
                if j < ny - 1:
                    s -= gy[i, j, k] * x[i, j + 1, k]
                if k > 0:
                    s -= gz[i, j, k - 1] * x[i, j, k - 1]
                if k < nz - 1:
                    s -= gz[i, j, k] * x[i, j, k + 1]
                out[i, j, k] = s


@numba.njit(parallel=True, cache=True)
def _dot(a, b):
    fa = a.reshape(-1)
    fb = b.reshape(-1)
    s = 0.0
    for i in numba.prange(fa.size):
        s += fa[i] * fb[i]
    return s


@numba.njit(parallel=True, cache=True)
def _update(x, r, p, ap, alpha, z, inv_diag):
    """x += alpha p; r -= alpha Ap; z = r / diag; returns (r.r, r.z)."""
    fx, fr, fp = x.reshape(-1), r.reshape(-1), p.reshape(-1)
    fa, fz, fd = ap.reshape(-1), z.reshape(-1), inv_diag.reshape(-1)
    rr = 0.0
    rz = 0.0
    for i in numba.prange(fx.size):
        fx[i] += alpha * fp[i]
        ri = fr[i] - alpha * fa[i]
        fr[i] = ri
        zi = ri * fd[i]
        fz[i] = zi
        rr += ri * ri
        rz += ri * zi
    return rr, rz


@numba.njit(parallel=True, cache=True)
def _direction(p, z, beta):
    fp, fz = p.reshape(-1), z.reshape(-1)
    for i in numba.prange(fp.size):
        fp[i] = fz[i] + beta * fp[i]


@numba.njit(cache=True)
def pcg(b, x, gx, gy, gz, diag, free, rtol, maxiter):
    """Jacobi-preconditioned conjugate gradients on the 7-point operator (matrix-free).

    Cells outside ``free`` are kept at zero. Returns ``(x, iterations, converged)``.
    """
    inv_diag = np.where(free, 1.0 / diag, 0.0)
    ap = np.empty_like(x)
    _apply(x, gx, gy, gz, diag, free, ap)
    r = np.where(free, b - ap, 0.0)
    z = r * inv_diag
    p = z.copy()
    rz = _dot(r, z)
    bnorm = np.sqrt(_dot(b, b))
    if bnorm == 0.0:
        return np.zeros_like(x), 0, True
    if np.sqrt(_dot(r, r)) <= rtol * bnorm:
        return x, 0, True
    for it in range(1, maxiter + 1):
        _apply(p, gx, gy, gz, diag, free, ap)
        alpha = rz / _dot(p, ap)
        rr, rz_new = _update(x, r, p, ap, alpha, z, inv_diag)
        if np.sqrt(rr) <= rtol * bnorm:
            return x, it, True
        _direction(p, z, rz_new / rz)
        rz = rz_new
    return x, maxiter, False
