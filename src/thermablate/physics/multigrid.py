"""Multigrid-preconditioned conjugate gradients for the 7-point finite-volume operator.

The electric potential (and the steady heat problem used in verification) is the symmetric
positive-definite system ``A u = b`` of a cell-centred finite-volume diffusion operator:
``(A u)_i = d_i u_i - sum_faces g_f u_nb`` over the *free* cells, where ``d_i`` also holds the
couplings to fixed (Dirichlet) cells and to the boundary. Jacobi-preconditioned CG needs
O(n^(1/3)) iterations (55-140 on the 60^3 benchmark grid); with a multigrid V-cycle as the
preconditioner, 10 from scratch and 5-6 for a warm-started re-solve.

The hierarchy is aggregation multigrid with piecewise-constant interpolation, the variant of
Braess D. Towards algebraic multigrid for elliptic problems of second order. Computing
1995;55:379-393, doi:10.1007/BF02238488, on a geometric 2 x 2 x 2 pattern:

- **Aggregates of 2 x 2 x 2 cells** with piecewise-constant prolongation ``P`` over their free
  cells. The Galerkin coarse operator ``P^T A P`` is again a 7-point operator: a coarse face
  conductance is the sum of the fine faces it covers, a coarse diagonal the sum of the fine
  diagonals minus twice the faces inside the aggregate. Jumps in conductivity (bone 0.02 S/m
  next to muscle 0.5 S/m), insulators and electrode cells need no special treatment.
- **Weighted-Jacobi smoothing**, the same sweeps before and after the coarse correction (a
  Jacobi sweep is self-adjoint in the energy inner product), and an exact (dense) solve on the
  coarsest level (at most ``COARSEST_CELLS``), so the V-cycle is a symmetric operator, as CG
  requires. Jacobi rather than Gauss-Seidel because its sweep is branch-free and vectorises:
  on the benchmark grid it costs a quarter of a red-black Gauss-Seidel sweep.
- **Over-correction** of the coarse correction by ``COARSE_CORRECTION_SCALE``: piecewise-
  constant interpolation underestimates smooth errors, which Braess compensates by scaling the
  coarse correction. Measured on the benchmark grid: 15 iterations at 1.0, 10 at 1.8. The
  convergence tests in tests/physics check the solver to a relative residual of 1e-12.

Arrays of unknowns carry one ghost layer of zeros, so the kernels have no boundary branches;
face arrays are stored per owning cell (``gx[i]`` couples ``i - 1`` and ``i``; the first and
last planes are zero because the boundary coupling is in the diagonal). The finest level's
kernels run in parallel; coarser levels are small enough to run serially.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.typed import List

COARSEST_CELLS = 250
"""Coarsening stops at this many cells; that level is solved exactly (dense inverse). [-]"""

COARSE_CORRECTION_SCALE = 1.8
"""Over-correction factor of the piecewise-constant coarse correction (Braess 1995); chosen
by measurement on the benchmark grid (first solve: 15 iterations at 1.0, 11 at 1.4, 10 at 1.8). [-]"""

SMOOTHING_SWEEPS = 2
"""Weighted-Jacobi sweeps before and after each coarse correction (even). [-]"""

JACOBI_WEIGHT = 0.8
"""Damping of the Jacobi smoother; 6/7 minimises the smoothing factor of the 7-point
Laplacian, a little less is safer with jumping coefficients. [-]"""

PARALLEL_CELLS = 50_000
"""Levels with at least this many cells use the parallel kernels. [-]"""


def _jacobi_py(x, out, b, gx, gy, gz, inv_diag, omega):
    """One weighted-Jacobi sweep ``out = x + omega D^-1 (b - A x)``."""
    nx, ny, nz = inv_diag.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                s = (
                    b[i + 1, j + 1, k + 1]
                    + gx[i, j, k] * x[i, j + 1, k + 1]
                    + gx[i + 1, j, k] * x[i + 2, j + 1, k + 1]
                    + gy[i, j, k] * x[i + 1, j, k + 1]
                    + gy[i, j + 1, k] * x[i + 1, j + 2, k + 1]
                    + gz[i, j, k] * x[i + 1, j + 1, k]
                    + gz[i, j, k + 1] * x[i + 1, j + 1, k + 2]
                )
                xc = x[i + 1, j + 1, k + 1]
                out[i + 1, j + 1, k + 1] = xc + omega * (s * inv_diag[i, j, k] - xc)


def _restrict_residual_py(x, b, gx, gy, gz, diag, coarse_b):
    """``coarse_b = P^T (b - A x)``: each free cell's residual summed into its aggregate."""
    nx, ny, nz = diag.shape
    cx = coarse_b.shape[0] - 2
    for ci in numba.prange(cx):
        row = np.zeros(nz + 1)  # one residual row; the extra 0 pads an odd nz
        coarse_b[ci + 1] = 0.0
        for i in range(2 * ci, min(2 * ci + 2, nx)):
            for j in range(ny):
                for k in range(nz):
                    row[k] = (
                        b[i + 1, j + 1, k + 1]
                        - diag[i, j, k] * x[i + 1, j + 1, k + 1]
                        + gx[i, j, k] * x[i, j + 1, k + 1]
                        + gx[i + 1, j, k] * x[i + 2, j + 1, k + 1]
                        + gy[i, j, k] * x[i + 1, j, k + 1]
                        + gy[i, j + 1, k] * x[i + 1, j + 2, k + 1]
                        + gz[i, j, k] * x[i + 1, j + 1, k]
                        + gz[i, j, k + 1] * x[i + 1, j + 1, k + 2]
                    )
                out = coarse_b[ci + 1, j // 2 + 1]
                for ck in range((nz + 1) // 2):
                    out[ck + 1] += row[2 * ck] + row[2 * ck + 1]


def _prolong_add_py(x, inv_diag, coarse_x, scale):
    """``x += scale P coarse_x`` on the free cells."""
    nx, ny, nz = inv_diag.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                if inv_diag[i, j, k] > 0.0:
                    x[i + 1, j + 1, k + 1] += scale * coarse_x[i // 2 + 1, j // 2 + 1, k // 2 + 1]


_jacobi_par = numba.njit(parallel=True, cache=True, nogil=True)(_jacobi_py)
_jacobi_ser = numba.njit(cache=True, nogil=True)(_jacobi_py)
_restrict_par = numba.njit(parallel=True, cache=True, nogil=True)(_restrict_residual_py)
_restrict_ser = numba.njit(cache=True, nogil=True)(_restrict_residual_py)
_prolong_par = numba.njit(parallel=True, cache=True, nogil=True)(_prolong_add_py)
_prolong_ser = numba.njit(cache=True, nogil=True)(_prolong_add_py)


@numba.njit(cache=True, nogil=True)
def _smooth(x, tmp, b, gx, gy, gz, inv_diag):
    """``SMOOTHING_SWEEPS`` weighted-Jacobi sweeps on ``x`` (an even number: ends in x)."""
    for _ in range(SMOOTHING_SWEEPS // 2):
        if inv_diag.size >= PARALLEL_CELLS:
            _jacobi_par(x, tmp, b, gx, gy, gz, inv_diag, JACOBI_WEIGHT)
            _jacobi_par(tmp, x, b, gx, gy, gz, inv_diag, JACOBI_WEIGHT)
        else:
            _jacobi_ser(x, tmp, b, gx, gy, gz, inv_diag, JACOBI_WEIGHT)
            _jacobi_ser(tmp, x, b, gx, gy, gz, inv_diag, JACOBI_WEIGHT)


@numba.njit(cache=True, nogil=True)
def _vcycle(gxs, gys, gzs, diags, inv_diags, xs, ts, bs, coarse_inverse, scale):
    """``xs[0] = M^-1 bs[0]``: one symmetric V-cycle (all arrays of unknowns padded)."""
    levels = len(diags)
    for lev in range(levels - 1):
        x = xs[lev]
        x[...] = 0.0
        _smooth(x, ts[lev], bs[lev], gxs[lev], gys[lev], gzs[lev], inv_diags[lev])
        if diags[lev].size >= PARALLEL_CELLS:
            _restrict_par(x, bs[lev], gxs[lev], gys[lev], gzs[lev], diags[lev], bs[lev + 1])
        else:
            _restrict_ser(x, bs[lev], gxs[lev], gys[lev], gzs[lev], diags[lev], bs[lev + 1])
    last = levels - 1
    cb = bs[last][1:-1, 1:-1, 1:-1]
    cx = xs[last][1:-1, 1:-1, 1:-1]
    nx, ny, nz = cb.shape
    for p in range(cb.size):
        s = 0.0
        for q in range(cb.size):
            s += coarse_inverse[p, q] * cb[q // (ny * nz), (q // nz) % ny, q % nz]
        cx[p // (ny * nz), (p // nz) % ny, p % nz] = s
    for lev in range(levels - 2, -1, -1):
        x = xs[lev]
        if diags[lev].size >= PARALLEL_CELLS:
            _prolong_par(x, inv_diags[lev], xs[lev + 1], scale)
        else:
            _prolong_ser(x, inv_diags[lev], xs[lev + 1], scale)
        _smooth(x, ts[lev], bs[lev], gxs[lev], gys[lev], gzs[lev], inv_diags[lev])


@numba.njit(cache=True, nogil=True)
def _coarsen(gx, gy, gz, diag, gxc, gyc, gzc, dc):
    """Galerkin coarse operator ``P^T A P`` of 2 x 2 x 2 aggregates (owned-face layout),
    written into ``gxc, gyc, gzc, dc`` (of the coarse shape ``(n + 1) // 2``)."""
    nx, ny, nz = diag.shape
    gxc[...] = 0.0
    gyc[...] = 0.0
    gzc[...] = 0.0
    dc[...] = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                if diag[i, j, k] <= 0.0:
                    continue
                ci, cj, ck = i // 2, j // 2, k // 2
                dc[ci, cj, ck] += diag[i, j, k]
                # The face below each cell (shared with cell - 1) is inside the aggregate when
                # the cell index is odd, and a coarse face when it is even.
                if i % 2 == 1:
                    dc[ci, cj, ck] -= 2.0 * gx[i, j, k]
                else:
                    gxc[ci, cj, ck] += gx[i, j, k]
                if j % 2 == 1:
                    dc[ci, cj, ck] -= 2.0 * gy[i, j, k]
                else:
                    gyc[ci, cj, ck] += gy[i, j, k]
                if k % 2 == 1:
                    dc[ci, cj, ck] -= 2.0 * gz[i, j, k]
                else:
                    gzc[ci, cj, ck] += gz[i, j, k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _finest(gx, gy, gz, diag, free, mx, my, mz, d, inv_d):
    """The finest level, written into ``mx, my, mz, d, inv_d``: faces with non-free cells
    zeroed, diagonal and its inverse on the free cells (0 elsewhere).

    Every entry is written except the faces past the last cell along each axis (``mx[nx]``
    etc.), which are zero from the allocation and stay so, so the arrays can be reused from
    one solve to the next. In parallel over x-planes (each writes only its own; no sums, so
    the result does not depend on the threads): built at every potential solve, serially it
    took 5 ms of the 40.
    """
    nx, ny, nz = free.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                f = free[i, j, k]
                d[i, j, k] = diag[i, j, k] if f else 0.0
                inv_d[i, j, k] = 1.0 / diag[i, j, k] if f else 0.0
                mx[i, j, k] = gx[i, j, k] if f and i > 0 and free[i - 1, j, k] else 0.0
                my[i, j, k] = gy[i, j, k] if f and j > 0 and free[i, j - 1, k] else 0.0
                mz[i, j, k] = gz[i, j, k] if f and k > 0 and free[i, j, k - 1] else 0.0


def _padded(a=None, shape=None):
    """A zero array with one ghost layer around ``a`` (or of interior ``shape``)."""
    shape = a.shape if a is not None else shape
    out = np.zeros(tuple(n + 2 for n in shape))
    if a is not None:
        out[1:-1, 1:-1, 1:-1] = a
    return out


class Hierarchy:
    """The multigrid levels of one operator.

    The arrays are allocated once for a grid's shape; :meth:`rebuild` fills them for a new
    operator. A coupled run re-solves the potential whenever the conductivities have moved
    (11 times in the benchmark), and allocating the levels afresh each time cost ~3 ms of
    page faults per solve (the finest level alone is eight arrays of the grid's size). The
    coarse operators themselves are rebuilt every time, so a reused hierarchy gives the same
    preconditioner, bit for bit, as a new one.
    """

    def __init__(self, g_faces, diag, free):
        self.shape = diag.shape
        self.gxs, self.gys, self.gzs = List(), List(), List()
        self.diags, self.inv_diags = List(), List()
        self.xs, self.ts, self.bs = List(), List(), List()
        nx, ny, nz = diag.shape
        while True:
            self.gxs.append(np.zeros((nx + 1, ny, nz)))
            self.gys.append(np.zeros((nx, ny + 1, nz)))
            self.gzs.append(np.zeros((nx, ny, nz + 1)))
            self.diags.append(np.zeros((nx, ny, nz)))
            self.inv_diags.append(np.zeros((nx, ny, nz)))
            self.xs.append(_padded(shape=(nx, ny, nz)))
            self.ts.append(_padded(shape=(nx, ny, nz)))
            self.bs.append(_padded(shape=(nx, ny, nz)))
            if nx * ny * nz <= COARSEST_CELLS:
                break
            nx, ny, nz = (nx + 1) // 2, (ny + 1) // 2, (nz + 1) // 2
        self.rebuild(g_faces, diag, free)

    def rebuild(self, g_faces, diag, free) -> None:
        """Fill the levels for the operator ``(g_faces, diag)`` on ``free`` (same shape)."""
        _finest(*g_faces, diag, free, self.gxs[0], self.gys[0], self.gzs[0], self.diags[0],
                self.inv_diags[0])  # fmt: skip
        for lev in range(1, len(self.diags)):
            _coarsen(
                self.gxs[lev - 1], self.gys[lev - 1], self.gzs[lev - 1], self.diags[lev - 1],
                self.gxs[lev], self.gys[lev], self.gzs[lev], self.diags[lev],
            )  # fmt: skip
            d, inv_d = self.diags[lev], self.inv_diags[lev]
            inv_d[...] = 0.0
            np.divide(1.0, d, out=inv_d, where=d > 0)
        last = len(self.diags) - 1
        self.coarse_inverse = _dense_inverse(
            self.gxs[last], self.gys[last], self.gzs[last], self.diags[last]
        )


class Workspace:
    """What one caller keeps between its solves on one grid: the hierarchy's arrays.

    Not to be shared between threads (a :class:`~thermablate.physics.engine.Simulation` holds
    its own).
    """

    def __init__(self):
        self.hierarchy: Hierarchy | None = None

    def hierarchy_for(self, g_faces, diag, free) -> Hierarchy:
        """The hierarchy of this operator, in the arrays of the last one when shapes match."""
        h = self.hierarchy
        if h is None or h.shape != diag.shape:
            self.hierarchy = h = Hierarchy(g_faces, diag, free)
        else:
            h.rebuild(g_faces, diag, free)
        return h


def _dense_inverse(gx, gy, gz, d):
    """Inverse of the coarsest operator on its free cells (zero rows/columns elsewhere)."""
    shape = d.shape
    n = d.size
    free = d.ravel() > 0
    idx = np.arange(n).reshape(shape)
    a = np.diag(np.where(free, d.ravel(), 1.0))
    for axis, g in enumerate((gx, gy, gz)):
        m = shape[axis]
        lo = np.take(idx, np.arange(m - 1), axis=axis).ravel()
        hi = np.take(idx, np.arange(1, m), axis=axis).ravel()
        inner = np.take(g, np.arange(1, m), axis=axis).ravel()
        a[lo, hi] -= inner
        a[hi, lo] -= inner
    inv = np.linalg.inv(a)
    inv[~free] = 0.0
    inv[:, ~free] = 0.0
    return np.ascontiguousarray(inv)


@numba.njit(parallel=True, cache=True, nogil=True)
def _apply_dot(p, gx, gy, gz, diag, out):
    """``out = A p`` on the free cells; returns ``p . A p``."""
    nx, ny, nz = diag.shape
    total = 0.0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                pc = p[i + 1, j + 1, k + 1]
                s = (
                    diag[i, j, k] * pc
                    - gx[i, j, k] * p[i, j + 1, k + 1]
                    - gx[i + 1, j, k] * p[i + 2, j + 1, k + 1]
                    - gy[i, j, k] * p[i + 1, j, k + 1]
                    - gy[i, j + 1, k] * p[i + 1, j + 2, k + 1]
                    - gz[i, j, k] * p[i + 1, j + 1, k]
                    - gz[i, j, k + 1] * p[i + 1, j + 1, k + 2]
                )
                out[i + 1, j + 1, k + 1] = s
                total += pc * s
    return total


@numba.njit(parallel=True, cache=True, nogil=True)
def _update(x, r, p, ap, alpha):
    """``x += alpha p``, ``r -= alpha A p``; returns ``r . r`` (padded arrays)."""
    nx, ny, nz = x.shape
    rr = 0.0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                x[i, j, k] += alpha * p[i, j, k]
                rn = r[i, j, k] - alpha * ap[i, j, k]
                r[i, j, k] = rn
                rr += rn * rn
    return rr


@numba.njit(parallel=True, cache=True, nogil=True)
def _dot(a, b):
    nx, ny, nz = a.shape
    total = 0.0
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                total += a[i, j, k] * b[i, j, k]
    return total


@numba.njit(parallel=True, cache=True, nogil=True)
def _direction(p, z, beta):
    """``p = z + beta p``."""
    nx, ny, nz = p.shape
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                p[i, j, k] = z[i, j, k] + beta * p[i, j, k]


@numba.njit(cache=True, nogil=True)
def _pcg(x, r, rtol, bnorm, maxiter, gxs, gys, gzs, diags, inv_diags, xs, ts, bs, inv, scale):
    gx, gy, gz, diag = gxs[0], gys[0], gzs[0], diags[0]
    ap = np.zeros_like(x)
    z = xs[0]
    bs[0][...] = r
    _vcycle(gxs, gys, gzs, diags, inv_diags, xs, ts, bs, inv, scale)
    p = z.copy()
    rz = _dot(r, z)
    if np.sqrt(_dot(r, r)) <= rtol * bnorm:
        return 0, True
    for it in range(1, maxiter + 1):
        alpha = rz / _apply_dot(p, gx, gy, gz, diag, ap)
        rr = _update(x, r, p, ap, alpha)
        if np.sqrt(rr) <= rtol * bnorm:
            return it, True
        bs[0][...] = r
        _vcycle(gxs, gys, gzs, diags, inv_diags, xs, ts, bs, inv, scale)
        rz_new = _dot(r, z)
        _direction(p, z, rz_new / rz)
        rz = rz_new
    return maxiter, False


def solve(g_faces, diag, free, b, x0, rtol, maxiter=500, workspace: Workspace | None = None):
    """Solve ``A x = b`` on the free cells by multigrid-preconditioned CG.

    Parameters
    ----------
    g_faces : tuple of 3 ndarrays
        Face conductances along x, y, z in the owned layout: ``gx`` has shape
        ``(nx + 1, ny, nz)`` and ``gx[i]`` couples cells ``i - 1`` and ``i`` (zero on the
        boundary planes). [S] or [W/K]
    diag : ndarray
        Diagonal of the operator (all couplings of the cell, including to fixed cells and
        the boundary, plus any sink).
    free : ndarray of bool
        The unknowns; other cells are held at 0 in ``x``.
    b, x0 : ndarray
        Right-hand side and starting guess, both 0 outside ``free``.
    rtol : float
        Stop when ``|b - A x| <= rtol |b|``.
    workspace : Workspace, optional
        Keeps the hierarchy's arrays for the caller's next solve on the same grid.

    Returns ``(x, iterations, converged)``.
    """
    if workspace is None:
        h = Hierarchy(g_faces, diag, free)
    else:
        h = workspace.hierarchy_for(g_faces, diag, free)
    bnorm = float(np.sqrt(np.sum(b * b)))
    x = _padded(x0)
    if bnorm == 0.0:
        return np.zeros_like(b), 0, True
    ap = np.zeros_like(x)
    _apply_dot(x, h.gxs[0], h.gys[0], h.gzs[0], h.diags[0], ap)
    r = _padded(b)
    r -= ap
    iterations, converged = _pcg(
        x, r, rtol, bnorm, maxiter, h.gxs, h.gys, h.gzs, h.diags, h.inv_diags, h.xs, h.ts, h.bs,
        h.coarse_inverse, COARSE_CORRECTION_SCALE,
    )  # fmt: skip
    return np.ascontiguousarray(x[1:-1, 1:-1, 1:-1]), iterations, converged
