"""Pennes' bioheat equation on the voxel grid, with the thermal-damage integrals fused in.

    rho c dT/dt = div(k grad T) - omega rho_b c_b (T - T_a) + q

Pennes HH. Analysis of tissue and arterial blood temperatures in the resting human forearm.
J Appl Physiol 1948;1(2):93-122. doi:10.1152/jappl.1948.1.2.93

Discretisation: cell-centred finite volumes with the harmonic mean of the thermal conductivity
on each face (the same operator as the electric problem), forward-Euler in time. The time step
obeys the positivity (maximum-principle) bound ``dt <= rho c / (sum_faces G/h^3 + W)`` in every
cell, which is also the stability bound, so no cell can overshoot its neighbours. Perfusion
stops in coagulated tissue (Arrhenius damage >= 1), as in Chang & Nguyen 2004
(doi:10.1186/1475-925X-3-27).

The domain boundary is held at body temperature in a ghost layer one cell outside the grid.
Cells flagged ``held`` are Dirichlet cells (the ideal held-temperature electrode, or exact data
in verification tests); the heat the held cells must receive to stay at their value is
returned so that the delivered energy can be accounted for.

The update of one step is one Numba kernel (:func:`step`) that streams once over precomputed
per-face and per-cell coefficients (no table look-ups in the inner loop, so LLVM vectorises
it), and accumulates the damage integral and CEM43 in the heated cells only. On the 0.5 mm
benchmark grid all its arrays (~19 MB) sit in the last-level cache; the stencil and the two
exponentials per heated cell, not DRAM bandwidth, set its speed (see docs/thermal-engine.md).
"""

from __future__ import annotations

import math
from typing import Protocol

import numba
import numpy as np

from thermablate.physics.damage import (
    ARRHENIUS_A_PER_S,
    ARRHENIUS_EA_J_MOL,
    DAMAGE_FLOOR_C,
    DOSE_FLOOR_C,
    GAS_CONSTANT_J_MOLK,
)
from thermablate.physics.electric import solve_diffusion
from thermablate.physics.embedded import EmbeddedFaces, hold_faces
from thermablate.physics.grid import Grid
from thermablate.physics.phase import (
    BOILING_C,
    CONDUCTIVITY_CAP_C,
    CONDUCTIVITY_COEFFICIENT_PER_K,
    CONDUCTIVITY_REFERENCE_C,
    MAX_CONDUCTIVITY_FACTOR,
    coupled_heat_capacity,
    dry_heat_capacity_j_m3k,
    latent_capacity_j_m3,
    remaining_water_fraction,
    renormalise,
    stored_energy_sum,
)

BYTES_PER_CELL_UPDATE = 8 + 8 + 3 * 8 + 8 + 8 + 8 + 2 * 8
"""Minimum memory traffic of one cell update in :func:`step`: read T, write T_new, the three
face coefficients the cell owns (each face is read once per sweep), dt/(rho c), the perfusion
sink and the heat source, read+write the maximum temperature (all float64). Neighbour
temperatures come from cache. CEM43 and damage are only touched in heated cells, so they are
not counted. [B]"""


KERNEL_CHUNK_PLANES = 4
"""The kernel's threads take x-planes in chunks of this many, dynamically, rather than half the
grid each: when another process holds a core, the thread that has one takes more chunks
instead of waiting for the other at the end of the step (10-20 % faster under load). [-]"""


class CellFractions(Protocol):
    """Tissue fractions inside cells (:class:`physics.volume_fractions.TissueFractions`)."""

    def per_cell(self, property_by_label: np.ndarray, labels: np.ndarray) -> np.ndarray: ...


class MaterialTables:
    """Per-label coefficient tables used by the kernel (all already divided as needed).

    Parameters
    ----------
    thermal_conductivity_w_mk, volumetric_heat_capacity_j_m3k, perfusion_sink_w_m3k : arrays
        One entry per label. [W/(m K)], [J/(m^3 K)], [W/(m^3 K)]
    spacing_m : float
        Voxel size. [m]
    water_mass_fraction, density_kg_m3 : arrays, optional
        One entry per label. [-], [kg/m^3] With them, the tissue's water boils at 100 °C and
        k depends on temperature (``physics/phase.py``); without, the properties are
        constant (the exact-solution verifications).
    """

    def __init__(self, thermal_conductivity_w_mk, volumetric_heat_capacity_j_m3k,
                 perfusion_sink_w_m3k, spacing_m, water_mass_fraction=None,
                 density_kg_m3=None):  # fmt: skip
        self.phase_change = water_mass_fraction is not None
        if self.phase_change:
            self.latent_max = latent_capacity_j_m3(water_mass_fraction, density_kg_m3)
            self.rhoc_dry = dry_heat_capacity_j_m3k(
                water_mass_fraction, volumetric_heat_capacity_j_m3k
            )
        self.k_factor_max = MAX_CONDUCTIVITY_FACTOR if self.phase_change else 1.0
        """Largest k(T)/k_37 the kernel can apply to a face. [-]"""
        k = np.asarray(thermal_conductivity_w_mk, float)
        self.k = k
        self.rhoc = np.asarray(volumetric_heat_capacity_j_m3k, float)
        self.sink = np.asarray(perfusion_sink_w_m3k, float)
        h2 = spacing_m**2
        kk = np.add.outer(k, k)
        # Face coefficient per unit volume: harmonic-mean k over h^2. [W/(m^3 K)]
        face = np.divide(2 * np.outer(k, k), kk, out=np.zeros_like(kk), where=kk > 0) / h2
        # Boundary node one cell outside the grid (ghost-cell centre), so boundary cells are
        # no stiffer than interior ones and the stable step is not reduced.
        self.boundary = k / h2
        # One extra label for the ghost layer: its face with label a is the boundary coefficient.
        n = len(k)
        self.ghost_label = n
        self.face = np.zeros((n + 1, n + 1))
        self.face[:n, :n] = face
        self.face[:n, n] = self.boundary
        self.face[n, :n] = self.boundary
        self.inv_rhoc = np.append(1.0 / self.rhoc, 0.0)
        self.sink = np.append(self.sink, 0.0)

    def stable_time_step_s(self, label: np.ndarray) -> float:
        """Largest forward-Euler step keeping every cell's update a convex combination. [s]

        Evaluated cell by cell on the actual label array: ``rho c / (sum of face
        coefficients + boundary coefficients + perfusion sink)``, the faces at their largest
        k(T) factor. The wet heat capacity bounds it: a cell whose water has all boiled off
        has less, and :meth:`BioheatState.advance` then cuts the step into sub-steps.
        """
        rate = self.sink[label].astype(float)
        face = self.face * self.k_factor_max if self.phase_change else self.face
        shape = label.shape
        for axis in range(3):
            n = shape[axis]
            lo = np.take(label, np.arange(n - 1), axis=axis)
            hi = np.take(label, np.arange(1, n), axis=axis)
            f = face[lo, hi]
            pad_lo = [(0, 0)] * 3
            pad_hi = [(0, 0)] * 3
            pad_lo[axis] = (0, 1)
            pad_hi[axis] = (1, 0)
            rate += np.pad(f, pad_lo) + np.pad(f, pad_hi)
            for end in (0, n - 1):
                sl = [slice(None)] * 3
                sl[axis] = slice(end, end + 1)
                rate[tuple(sl)] += self.boundary[label[tuple(sl)]] * self.k_factor_max
        return float(np.min(self.rhoc[label] / rate))


def stable_time_step_of_faces_s(faces: tuple[np.ndarray, ...], label: np.ndarray,
                                tables: MaterialTables,
                                fractions: CellFractions | None = None) -> float:  # fmt: skip
    """:meth:`MaterialTables.stable_time_step_s` for face coefficients that are not all the
    label pairs' (``physics/interfaces.py`` moves some): the same bound, read from the faces
    themselves (owned layout, boundary planes included), with the cells' heat capacity and
    perfusion by their tissue ``fractions`` where given (``physics/volume_fractions.py``).
    [s]"""
    gx, gy, gz = faces
    cells = CellProperties.of(tables, label, fractions)
    rate = cells.sink + tables.k_factor_max * (
        gx[:-1] + gx[1:] + gy[:, :-1] + gy[:, 1:] + gz[:, :, :-1] + gz[:, :, 1:]
    )
    return float(np.min(cells.rhoc / rate))


class CellProperties:
    """Each cell's volumetric heat capacity and perfusion sink, and with boiling modelled its
    water's latent heat and its dry heat capacity: its drawn tissue's, or with ``fractions``
    the volume-weighted mean of the tissues the exact shapes put in it.
    [J/(m^3 K)], [W/(m^3 K)], [J/m^3], [J/(m^3 K)]"""

    def __init__(self, rhoc, sink, latent_max=None, rhoc_dry=None):
        self.rhoc = rhoc
        self.sink = sink
        self.latent_max = latent_max
        self.rhoc_dry = rhoc_dry

    @classmethod
    def of(cls, tables: MaterialTables, label: np.ndarray,
           fractions: CellFractions | None = None) -> CellProperties:  # fmt: skip
        n = len(tables.rhoc)  # the tissues (``sink`` also holds the ghost label's 0)

        def per_cell(table):
            table = np.asarray(table, float)[:n]
            if fractions is None:
                return table[label]
            return fractions.per_cell(table, label)

        if not tables.phase_change:
            return cls(per_cell(tables.rhoc), per_cell(tables.sink))
        return cls(
            per_cell(tables.rhoc), per_cell(tables.sink), per_cell(tables.latent_max),
            per_cell(tables.rhoc_dry),
        )  # fmt: skip


def face_coefficients(label: np.ndarray, tables: MaterialTables):
    """Face coefficients ``G/h^3`` of the heat operator along x, y, z. [W/(m^3 K)]

    ``gx`` has shape ``(nx + 1, ny, nz)``: ``gx[i]`` couples cells ``i - 1`` and ``i``, and the
    first and last planes couple the boundary cells with the ghost node one cell outside
    (``k/h^2``, the ghost label's entry of ``tables.face``). Likewise ``gy`` and ``gz``.
    Precomputed once, so the kernel reads three arrays instead of looking up six label pairs
    per cell.
    """
    padded = np.full(tuple(n + 2 for n in label.shape), tables.ghost_label, dtype=np.intp)
    padded[1:-1, 1:-1, 1:-1] = label
    inner = slice(1, -1)
    face = tables.face
    gx = face[padded[:-1, inner, inner], padded[1:, inner, inner]]
    gy = face[padded[inner, :-1, inner], padded[inner, 1:, inner]]
    gz = face[padded[inner, inner, :-1], padded[inner, inner, 1:]]
    return tuple(np.ascontiguousarray(g) for g in (gx, gy, gz))


_LOG2_E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2^21 (fdlibm's constants).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))


# fastmath "contract" (this function only: LLVM inlines it into the kernel with its own
# instruction flags) lets each Horner step be one fused multiply-add, a third faster; it
# rounds once instead of twice, and the result stays within 1 ulp of the library's.
@numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _exp(x):
    """``exp(x)`` within 1 ulp of the C library's, in a form LLVM vectorises. [-]

    A call to the library's ``exp`` is scalar (this Numba has no vector math library), and the
    dose and damage loop of :func:`step` spends most of its time there: at 300 s, 133,000 of
    the benchmark's 216,000 cells take two exponentials every step. Here ``x = n ln 2 + r``
    with ``|r| <= ln 2 / 2`` (Cody-Waite, ``n ln 2`` exact), ``e^r`` by its Taylor polynomial
    to degree 13 (truncation 4e-18, below half an ulp) and ``2^n`` written into a float's
    exponent bits: plain arithmetic, so the loop runs 8 cells per instruction. Measured
    against ``math.exp`` on 3 million arguments in [-700, 700]: at most 1 ulp apart (the
    library's own error is up to 1 ulp too). ``x`` is clamped to [-708, 709.79] so that the
    exponent stays in range: below -708 it returns ``exp(-708)`` rather than a subnormal
    (the kernel's arguments are above -10), above it ``inf`` as ``exp`` does. Not for NaN.
    """
    x = min(max(x, -708.0), 709.79)
    n = math.floor(x * _LOG2_E + 0.5)
    r = (x - n * _LN2_HI) - n * _LN2_LO
    c = _EXP_TAYLOR
    p = c[13]
    p = p * r + c[12]
    p = p * r + c[11]
    p = p * r + c[10]
    p = p * r + c[9]
    p = p * r + c[8]
    p = p * r + c[7]
    p = p * r + c[6]
    p = p * r + c[5]
    p = p * r + c[4]
    p = p * r + c[3]
    p = p * r + c[2]
    p = p * r * r + r  # e^r - 1, added to 1 last so that its rounding is the only large one
    two_n = np.int64((np.int64(n) + 1023) << 52).view(np.float64)
    return (1.0 + p) * two_n


@numba.njit(cache=True, nogil=True, inline="always")
def _boil(i, j, k, t_pad_c, t_new_pad_c, gx, gy, gz, sink, t_max_c, latent, latent_max, rhoc,
          rhoc_dry, boil_c, k_factor_max, plane_min_dry, column_boiling):  # fmt: skip
    """The boiling correction of one cell after the stencil (see :func:`step`); returns its
    new temperature. [°C]

    The step's heat ``rho c (T* - T)`` goes into the cell's enthalpy and ``T`` is read back
    from it (``physics/phase.py``); a cell that is dry afterwards writes its own stable step
    ``(rho c)_dry / (k_max sum G + W)`` into ``plane_min_dry[i]``. Cells without water keep
    the stencil's update. ``column_boiling[i, k]`` counts the cells of the column holding
    latent heat (so that a boiling cell that cools is still visited).
    """
    t = t_pad_c[i + 1, j + 1, k + 1]
    tn = t_new_pad_c[i + 1, j + 1, k + 1]
    if max(t, tn) < boil_c:
        return tn
    lm = latent_max[i, j, k]
    if lm > 0.0:
        c = rhoc[i, j, k]
        cd = rhoc_dry[i, j, k]
        lat = latent[i, j, k]
        column_boiling[i, k] -= lat > 0.0
        e = lm + cd * (t - boil_c) if lat >= lm else c * (t - boil_c) + lat
        e += c * (tn - t)  # as stored_energy_j counts it
        if e <= 0.0:
            tn = boil_c + e / c
            latent[i, j, k] = 0.0
        elif e < lm:
            tn = boil_c
            latent[i, j, k] = e
        else:
            tn = boil_c + (e - lm) / cd
            latent[i, j, k] = lm
            g = gx[i, j, k] + gx[i + 1, j, k] + gy[i, j, k] + gy[i, j + 1, k]
            rate = k_factor_max * (g + gz[i, j, k] + gz[i, j, k + 1]) + sink[i, j, k]
            if rate > 0.0:
                plane_min_dry[i] = min(plane_min_dry[i], cd / rate)
        t_new_pad_c[i + 1, j + 1, k + 1] = tn
        column_boiling[i, k] += latent[i, j, k] > 0.0
    t_max_c[i, j, k] = max(t_max_c[i, j, k], tn)
    return tn


# error_model="numpy": a float division by zero gives inf instead of raising. With Python's
# model every division carries a zero check and a branch to the raise, which stops LLVM
# vectorising the dose and damage loop (its ``/ (t + 273.15)``); no divisor here can be 0
# (heat capacities are validated positive, ``_boil``'s rate is tested > 0).
@numba.njit(parallel=True, fastmath=False, cache=True, nogil=True, error_model="numpy")
def step(t_pad_c, t_new_pad_c, gx, gy, gz, dt_over_rhoc, sink, q_unit_w_m3, q_scale, damage,
         cem43_min, t_max_c, t_arterial_c, dt_s, ln_arrhenius_a, ea_over_r_k, damage_floor_c,
         dose_floor_c, shutoff_damage, row_hottest_c, row_check, plane_hottest_c,
         plane_nonfinite, phase):  # fmt: skip
    """Advance one forward-Euler step of every cell, with the damage integrals.

    It also writes, per x-plane, the hottest new temperature (``plane_hottest_c``) and the
    number of z-columns where some new temperature is not finite (``plane_nonfinite``): the
    time loop checks both after every step. They are accumulated element-wise along z in two
    scratch rows per plane (``row_hottest_c``, ``row_check``, shape ``(nx, nz)``) and reduced
    once per plane: a running scalar maximum would be a loop-carried dependency that stops
    LLVM vectorising the stencil (it cost 30 % of the step), and a sum of ``tn - tn`` stays 0
    unless some ``tn`` was NaN or infinite.

    ``t_pad_c`` and ``t_new_pad_c`` carry one ghost layer holding the boundary temperature; the
    other arrays have the interior shape (faces one more along their axis, see
    :func:`face_coefficients`). ``dt_over_rhoc`` is ``dt / (rho c)`` per cell [m^3 K/J],
    ``sink`` the perfusion sink per cell [W/(m^3 K)]; the kernel sets it to 0 where the damage
    reaches ``shutoff_damage`` (perfusion stops from the next step on). Units: temperatures
    [°C], q [W/m^3] (times the dimensionless ``q_scale``), damage [-], CEM43 [min], ``dt_s``
    [s].

    ``phase`` is :meth:`BioheatState.phase_arguments` (``physics/phase.py``): each face's
    coefficient is scaled by ``k_a + k_b (min(T_1, cap) + min(T_2, cap))``, the mean k(T)
    factor of its two cells (``k_a = 1, k_b = 0`` leaves it exact), and a cell whose old or new
    temperature reaches ``boil_c`` (``inf`` without phase change) takes the heat of the step
    into its enthalpy: wet cells boil at ``boil_c`` until their water is gone, dry ones heat
    with ``(rho c)_dry``. The smallest stable step of the dry cells of each plane goes to
    ``plane_min_dry`` (``inf`` if none); ``column_boiling`` counts, per plane and z-column, the
    cells holding latent heat (:func:`_boil` keeps it).

    Each (i, j) row is two inner loops, both branch-free over contiguous memory so that LLVM
    vectorises them: the stencil update, then the dose and damage, which only rows holding a
    heated cell enter (with :func:`_exp`); the boiling follows per plane, in the z-columns
    that need it. The damage and CEM43 use the start-of-step temperature (left-rectangle
    rule).
    """
    (k_a, k_b, cap_c, boil_c, k_factor_max, latent, latent_max, rhoc, rhoc_dry, plane_min_dry,
     column_boiling) = phase  # fmt: skip
    boils = boil_c < np.inf
    nx, ny, nz = q_unit_w_m3.shape
    ln_half = np.log(0.5)
    ln_quarter = np.log(0.25)
    dose_per_s = dt_s / 60.0
    for i in numba.prange(nx):
        hot = row_hottest_c[i]
        check = row_check[i]
        boiling = column_boiling[i]
        hot[:] = -np.inf
        check[:] = 0.0
        # Written in place, not through a scalar: a scalar updated by min() inside the prange
        # body and stored at its end came out inf (Numba's parfors read it as a reduction).
        plane_min_dry[i] = np.inf
        for j in range(ny):
            tc = t_pad_c[i + 1, j + 1]
            txm = t_pad_c[i, j + 1]
            txp = t_pad_c[i + 2, j + 1]
            tym = t_pad_c[i + 1, j]
            typ = t_pad_c[i + 1, j + 2]
            out = t_new_pad_c[i + 1, j + 1]
            gxm = gx[i, j]
            gxp = gx[i + 1, j]
            gym = gy[i, j]
            gyp = gy[i, j + 1]
            gzr = gz[i, j]
            cr = dt_over_rhoc[i, j]
            sr = sink[i, j]
            qr = q_unit_w_m3[i, j]
            mr = t_max_c[i, j]
            for k in range(nz):
                t = tc[k + 1]
                # k(T) factor of each face: k_a + k_b (u_cell + u_neighbour).
                u = k_a + k_b * min(t, cap_c)
                flux = (
                    gxm[k] * (u + k_b * min(txm[k + 1], cap_c)) * (txm[k + 1] - t)
                    + gxp[k] * (u + k_b * min(txp[k + 1], cap_c)) * (txp[k + 1] - t)
                    + gym[k] * (u + k_b * min(tym[k + 1], cap_c)) * (tym[k + 1] - t)
                    + gyp[k] * (u + k_b * min(typ[k + 1], cap_c)) * (typ[k + 1] - t)
                    + gzr[k] * (u + k_b * min(tc[k], cap_c)) * (tc[k] - t)
                    + gzr[k + 1] * (u + k_b * min(tc[k + 2], cap_c)) * (tc[k + 2] - t)
                )
                tn = t + cr[k] * (flux + q_scale * qr[k] - sr[k] * (t - t_arterial_c))
                out[k + 1] = tn
                # Cells at boiling are corrected below and record their own maximum there.
                mr[k] = max(mr[k], min(tn, boil_c))
                hot[k] = max(hot[k], min(tn, boil_c))
                check[k] += tn - tn  # NaN - NaN and inf - inf are NaN, and NaN sticks
            # Dose and damage: rows without a heated cell are skipped (a count vectorises);
            # the others are updated branch-free, every cell computing both exponentials
            # with its argument set to 0 where it is not heated (which also keeps NaN out of
            # _exp) and keeping its old values there, so that the row vectorises: with the
            # library's scalar exp and a branch per cell this loop took 3/4 of a late step.
            heated = 0
            for k in range(nz):
                heated += tc[k + 1] > dose_floor_c
            if heated == 0:
                continue
            dr = damage[i, j]
            cm = cem43_min[i, j]
            for k in range(nz):
                t = tc[k + 1]
                dose = t > dose_floor_c
                hurt = dose and t > damage_floor_c
                lnr = ln_half if t >= 43.0 else ln_quarter
                dose_rate = _exp(lnr * (43.0 - t) if dose else 0.0)
                rate = _exp(ln_arrhenius_a - ea_over_r_k / (t + 273.15) if hurt else 0.0)
                c = cm[k]
                cm[k] = c + dose_per_s * dose_rate if dose else c
                om = dr[k] + dt_s * rate
                dr[k] = om if hurt else dr[k]
                sr[k] = 0.0 if hurt and om >= shutoff_damage else sr[k]
        # Boiling, cell by cell, in the z-columns of this plane where some new temperature
        # reached boil_c or some cell holds latent heat (rare: beside the electrode).
        for k in range(nz):
            if boils and (hot[k] >= boil_c or boiling[k] > 0):
                for j in range(ny):
                    tn = _boil(
                        i, j, k, t_pad_c, t_new_pad_c, gx, gy, gz, sink, t_max_c, latent,
                        latent_max, rhoc, rhoc_dry, boil_c, k_factor_max, plane_min_dry,
                        column_boiling,
                    )  # fmt: skip
                    hot[k] = max(hot[k], tn)
        hottest = -np.inf
        nonfinite = 0
        for k in range(nz):
            hottest = max(hottest, hot[k])
            nonfinite += check[k] != 0.0
        plane_hottest_c[i] = hottest
        plane_nonfinite[i] = nonfinite


@numba.njit(cache=True, nogil=True)
def _perfusion_sum(t_pad_c, sink, t_arterial_c):
    """Perfusion heat sink of the current temperatures, summed over cells. [W/m^3]"""
    nx, ny, nz = sink.shape
    total = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                total += sink[i, j, k] * (t_pad_c[i + 1, j + 1, k + 1] - t_arterial_c)
    return total


@numba.njit(cache=True, nogil=True)
def _hold(t_new_pad_c, t_max_c, t_max_before, dt_over_rhoc, cells, values):
    """Impose the held cells' values after a step; returns the heat they needed. [W/m^3]

    ``cells`` are interior indices (n, 3). The step computed the free update ``tn`` of each
    held cell; holding it at ``v`` needs ``(v - tn) / (dt/(rho c))`` per unit volume. Its
    maximum temperature is that before the step or ``v``.
    """
    total = 0.0
    for n in range(cells.shape[0]):
        i, j, k = cells[n, 0], cells[n, 1], cells[n, 2]
        v = values[n]
        total += (v - t_new_pad_c[i + 1, j + 1, k + 1]) / dt_over_rhoc[i, j, k]
        t_new_pad_c[i + 1, j + 1, k + 1] = v
        t_max_c[i, j, k] = max(t_max_before[n], v)
    return total


def boundary_loss_w(t_pad_c, faces, t_boundary_c, cell_volume_m3, k_a=1.0, k_b=0.0,
                    cap_c=np.inf):  # fmt: skip
    """Heat flowing out through the domain boundary. [W]

    ``k_a``, ``k_b``, ``cap_c``: the faces' k(T) factor, as in :func:`step`.
    """
    total = 0.0
    boundary_u = k_b * min(t_boundary_c, cap_c)
    for axis, g in enumerate(faces):
        n = g.shape[axis]
        for face_plane, cell_plane in ((0, 1), (n - 1, n - 1)):
            sl_g = [slice(None)] * 3
            sl_g[axis] = face_plane
            sl_t = [slice(1, -1)] * 3
            sl_t[axis] = cell_plane
            t = t_pad_c[tuple(sl_t)]
            factor = (k_a + k_b * np.minimum(t, cap_c)) + boundary_u
            total += float(np.sum(g[tuple(sl_g)] * factor * (t - t_boundary_c)))
    return total * cell_volume_m3


class BioheatState:
    """The evolving fields of one simulation (plain arrays on the grid).

    ``temperature_c`` is a view of the interior of a padded array whose ghost layer holds the
    boundary temperature.

    With ``tables.phase_change``, ``latent_j_m3`` is the latent heat each cell's water has
    taken up (``physics/phase.py``). ``without_water`` marks cells that never boil (the metal
    contacts). ``chain`` is the needle chain (``physics/needle.py``) whose implicit step moves
    the tissue cells beside the contacts: they are put back on their enthalpy curve before
    each step, and the chain is given their current (wet or dry) heat capacity after it.
    """

    def __init__(self, grid: Grid, label: np.ndarray, tables: MaterialTables,
                 initial_c: float | np.ndarray, t_boundary_c: float,
                 embedded: EmbeddedFaces | None = None, without_water: np.ndarray | None = None,
                 chain=None, faces: tuple[np.ndarray, ...] | None = None,
                 fractions: CellFractions | None = None):  # fmt: skip
        padded = tuple(n + 2 for n in grid.shape)
        self.tables = tables
        self.t_boundary_c = float(t_boundary_c)
        self.label = np.asarray(label)
        # ``faces``: the caller's, when it has moved some (physics/interfaces.py).
        self.faces = face_coefficients(self.label, tables) if faces is None else faces
        self._set_embedded(embedded, grid.spacing_m)
        # ``fractions``: the tissues inside the cells (physics/volume_fractions.py).
        cells = CellProperties.of(tables, self.label, fractions)
        self.rhoc = cells.rhoc
        self._inv_rhoc = 1.0 / self.rhoc
        self._dt_over_rhoc = None
        self._dt_over_rhoc_cache = {}
        self._dt_s = None
        self.sink = np.ascontiguousarray(cells.sink)
        self._t = np.full(padded, self.t_boundary_c)
        self._t[1:-1, 1:-1, 1:-1] = initial_c
        self._t_new = self._t.copy()
        self.damage = np.zeros(grid.shape)
        self.cem43_min = np.zeros(grid.shape)
        self.max_temperature_c = self._t[1:-1, 1:-1, 1:-1].copy()
        self.cell_volume_m3 = grid.cell_volume_m3
        # Perfusion stops where the damage integral reaches this value (inf: never; used by
        # verification against Pennes' closed form, which has constant perfusion).
        self.perfusion_shutoff_damage = 1.0
        self._held_mask = None
        self._held_cells = np.zeros((0, 3), np.intp)
        self._row_hottest_c = np.empty((grid.shape[0], grid.shape[2]))
        self._row_check = np.empty((grid.shape[0], grid.shape[2]))
        self._plane_hottest_c = np.empty(grid.shape[0])
        self._plane_nonfinite = np.zeros(grid.shape[0], np.int64)
        self._set_phase(grid, without_water, chain, cells)
        self.boundary_loss_j = 0.0
        """Heat that left through the domain boundary during the last :meth:`advance` (summed
        only when it integrates the perfusion). [J]"""
        self.substeps = 1
        """Sub-steps the last :meth:`advance` took (more than 1 once some cell is dry)."""
        self.hottest_c = float(np.max(initial_c))
        """Hottest cell after the last step (held cells: their free update). [°C]"""
        self.nonfinite_columns = 0
        """z-columns of cells where some temperature was not finite after the last step."""

    def _set_phase(self, grid: Grid, without_water, chain, cells: CellProperties) -> None:
        """The per-cell boiling arrays and the kernel's k(T) coefficients (see :func:`step`)."""
        tables = self.tables
        self.phase_change = tables.phase_change
        self._plane_min_dry_dt_s = np.full(grid.shape[0], np.inf)
        self._column_boiling = np.zeros((grid.shape[0], grid.shape[2]), np.int64)
        self._coupled_cells = np.zeros((0, 3), np.intp)
        self._coupled_capacity = np.zeros(0)
        if not self.phase_change:
            # Rows of length 1 the kernel never indexes (boil_c = inf keeps it out).
            stub = np.zeros(grid.shape[:2] + (1,))
            self.latent_j_m3 = stub
            self._latent_max = self._rhoc_cell = self._rhoc_dry = stub
            self._k_a, self._k_b, self._cap_c, self._boil_c = 1.0, 0.0, np.inf, np.inf
            return
        self.latent_j_m3 = np.zeros(grid.shape)
        self._latent_max = np.array(cells.latent_max, float)
        self._rhoc_dry = np.array(cells.rhoc_dry, float)
        if without_water is not None:
            self._latent_max[without_water] = 0.0
            self._rhoc_dry[without_water] = self.rhoc[without_water]
        self._rhoc_cell = np.ascontiguousarray(self.rhoc, dtype=float)
        beta = CONDUCTIVITY_COEFFICIENT_PER_K
        self._k_a = 1.0 - beta * CONDUCTIVITY_REFERENCE_C
        self._k_b = 0.5 * beta
        self._cap_c = CONDUCTIVITY_CAP_C
        self._boil_c = BOILING_C
        if chain is not None and len(chain.coupled_cells):
            self._coupled_cells = chain.coupled_cells
            self._coupled_capacity = chain.coupled_capacity_j_k

    def phase_arguments(self) -> tuple:
        """The kernel's ``phase`` argument (see :func:`step`)."""
        return (
            self._k_a, self._k_b, self._cap_c, self._boil_c, self.tables.k_factor_max,
            self.latent_j_m3, self._latent_max, self._rhoc_cell, self._rhoc_dry,
            self._plane_min_dry_dt_s, self._column_boiling,
        )  # fmt: skip

    def water_fraction(self) -> np.ndarray | None:
        """Fraction of each cell's water not yet boiled off (``phase.remaining_water_fraction``),
        or None without the boiling modelled. [-]"""
        if not self.phase_change:
            return None
        return remaining_water_fraction(self.latent_j_m3, self._latent_max)

    @property
    def column_boiling(self) -> np.ndarray:
        """Per x-plane and z-column, the number of cells holding latent heat (a live array). [-]"""
        return self._column_boiling

    @property
    def latent_max_j_m3(self) -> np.ndarray:
        """Latent heat each cell's water takes up to boil off (0: no water). [J/m^3]"""
        return self._latent_max

    def _set_embedded(self, embedded: EmbeddedFaces | None, spacing_m: float) -> None:
        """Take the embedded faces out of the explicit kernel (they are stepped implicitly).

        With held cells, :meth:`advance` couples each tissue cell beside them implicitly to
        their new values (``embedded.hold_faces``). Without, the caller couples them to the
        contact nodes (``needle.conduct``, as the engine does): ``embedded_cells`` and
        ``embedded_g_w_m3k`` are what it needs.
        """
        self.embedded = embedded
        n = 0 if embedded is None else embedded.n_faces
        if n == 0:
            self.embedded_cells = np.zeros((0, 3), np.int64)
            self.embedded_starts = np.zeros(1, np.int64)
            self.embedded_neighbours = np.zeros((0, 3), np.int64)
            self.embedded_g_w_m3k = np.zeros(0)
            return
        axis, i, j, k = embedded.owned_face_index()
        for a in range(3):
            self.faces[a][i[axis == a], j[axis == a], k[axis == a]] = 0.0
        self.embedded_cells, self.embedded_starts = embedded.cell_rows()
        self.embedded_neighbours = embedded.neighbours
        self.embedded_g_w_m3k = embedded.conductance_per_volume(
            self.tables.k[self.label], spacing_m
        )

    @property
    def temperature_c(self) -> np.ndarray:
        return self._t[1:-1, 1:-1, 1:-1]

    @property
    def temperature_padded_c(self) -> np.ndarray:
        """The current temperature with its ghost layer (a live buffer). [°C]"""
        return self._t

    def _held(self, held) -> np.ndarray:
        if held is not self._held_mask:
            self._held_mask = held
            self._held_cells = np.argwhere(held) if held is not None else np.zeros((0, 3), np.intp)
        return self._held_cells

    def advance(self, held, held_value_c, q_unit_w_m3, q_scale, t_arterial_c, dt_s,
                perfusion: bool = True):  # fmt: skip
        """One step; returns (perfusion, held) heat rates in [W].

        Afterwards ``hottest_c`` and ``nonfinite_columns`` describe the new temperatures.

        ``held`` is a boolean mask of Dirichlet cells (or None) and ``held_value_c`` their
        value: an array on the grid or one temperature for all of them. [°C] The perfusion
        heat rate, and ``boundary_loss_j``, are only summed when ``perfusion`` is true (0
        otherwise).

        Once some cell's water has all boiled off, its smaller heat capacity needs a shorter
        step than the wet tissue's: the step is then cut into as many equal sub-steps as the
        dry cells' own positivity bound asks (known from the previous step; the step in which a
        cell dries is taken whole). The rates returned are means over the step.
        """
        cells = self._held(held)
        if len(cells):
            idx = tuple(cells.T)
            t_max_before = self.max_temperature_c[idx]
            if np.ndim(held_value_c) == 0:
                values = np.full(len(cells), float(held_value_c))
            else:
                values = np.ascontiguousarray(held_value_c[idx], dtype=float)
        if self.phase_change and len(self._coupled_cells):
            renormalise(
                self._t, self.max_temperature_c, self._column_boiling, self._coupled_cells,
                self.latent_j_m3, self._latent_max, self._rhoc_cell, self._rhoc_dry,
                self._boil_c,
            )  # fmt: skip
        min_dry_dt = float(self._plane_min_dry_dt_s.min())
        n = 1 if min_dry_dt >= dt_s else math.ceil(dt_s / min_dry_dt)
        self.substeps = n
        h = dt_s / n
        self._set_dt(h)
        perf = held_w = boundary_w = 0.0
        nonfinite = 0
        for _ in range(n):
            if perfusion:
                perf += _perfusion_sum(self._t, self.sink, float(t_arterial_c))
                boundary_w += self.boundary_loss_w()
            p_held = self._step_once(
                cells, values if len(cells) else None, t_max_before if len(cells) else None,
                q_unit_w_m3, q_scale, t_arterial_c, h,
            )  # fmt: skip
            held_w += p_held
            nonfinite += int(self._plane_nonfinite.sum())
        self.hottest_c = float(self._plane_hottest_c.max())
        self.nonfinite_columns = nonfinite
        self.boundary_loss_j = boundary_w * h
        if len(self._coupled_cells):
            coupled_heat_capacity(
                self._coupled_cells, self.latent_j_m3, self._latent_max, self._rhoc_cell,
                self._rhoc_dry, self.cell_volume_m3, self._coupled_capacity,
            )  # fmt: skip
        return perf / n * self.cell_volume_m3, held_w / n * self.cell_volume_m3

    def _set_dt(self, dt_s: float) -> None:
        if dt_s != self._dt_s:
            # A shortened step (see engine._run) comes and goes: keep the few dt/(rho c) arrays
            # it needs instead of recomputing one for every change of step.
            self._dt_s = dt_s
            self._dt_over_rhoc = self._dt_over_rhoc_cache.get(dt_s)
            if self._dt_over_rhoc is None:
                self._dt_over_rhoc = dt_s * self._inv_rhoc
                if len(self._dt_over_rhoc_cache) < 8:
                    self._dt_over_rhoc_cache[dt_s] = self._dt_over_rhoc

    def _step_once(self, cells, values, t_max_before, q_unit_w_m3, q_scale, t_arterial_c,
                   dt_s) -> float:  # fmt: skip
        """The kernel, then the held cells; swaps the buffers. Returns the held heat [W/m^3]."""
        gx, gy, gz = self.faces
        with numba.parallel_chunksize(KERNEL_CHUNK_PLANES):
            step(
                self._t, self._t_new, gx, gy, gz, self._dt_over_rhoc, self.sink, q_unit_w_m3,
                float(q_scale), self.damage, self.cem43_min, self.max_temperature_c,
                float(t_arterial_c), float(dt_s), np.log(ARRHENIUS_A_PER_S),
                ARRHENIUS_EA_J_MOL / GAS_CONSTANT_J_MOLK, DAMAGE_FLOOR_C, DOSE_FLOOR_C,
                float(self.perfusion_shutoff_damage), self._row_hottest_c, self._row_check,
                self._plane_hottest_c, self._plane_nonfinite, self.phase_arguments(),
            )  # fmt: skip
        held_w = 0.0
        if len(cells):
            held_w = _hold(
                self._t_new, self.max_temperature_c, t_max_before, self._dt_over_rhoc, cells,
                values,
            )  # fmt: skip
            if len(self.embedded_cells):
                held_w += hold_faces(
                    self._t_new, self.max_temperature_c, self._dt_over_rhoc,
                    self.embedded_cells, self.embedded_starts, self.embedded_neighbours,
                    self.embedded_g_w_m3k,
                )  # fmt: skip
        self._t, self._t_new = self._t_new, self._t
        return held_w

    def boundary_loss_w(self) -> float:
        """Heat flowing out through the domain boundary now. [W]"""
        return boundary_loss_w(
            self._t, self.faces, self.t_boundary_c, self.cell_volume_m3, self._k_a, self._k_b,
            self._cap_c,
        )  # fmt: skip

    def stored_energy_j(self, reference_c: float) -> float:
        """Enthalpy relative to every cell at ``reference_c`` with no water boiled. [J]

        The latent heat taken up by boiling water counts (``physics/phase.py``).
        """
        if not self.phase_change:
            return (
                float(np.sum(self.rhoc * (self.temperature_c - reference_c))) * self.cell_volume_m3
            )
        total = stored_energy_sum(
            self._t, self.latent_j_m3, self._latent_max, self._rhoc_cell, self._rhoc_dry,
            float(reference_c), self._boil_c,
        )  # fmt: skip
        return total * self.cell_volume_m3


def steady_state(grid: Grid, label, tables: MaterialTables, source_w_m3, held, held_value_c,
                 t_boundary_c, t_arterial_c, rtol=1e-10, embedded=None,
                 interfaces=None):  # fmt: skip
    """Steady solution of Pennes' equation with the same spatial operator as :func:`step`.

    ``-div(k grad T) + W (T - T_a) = q`` with held cells and the boundary ghost node. [°C]
    The perfusion ``W`` is each cell's drawn tissue's: the verifications that use this solver
    have no tissue fractions (``physics/volume_fractions.py``).
    ``embedded`` faces (``physics/embedded.py``) join the held electrode to the tissue at its
    true surface, as in :class:`BioheatState`; ``interfaces`` (the thermal conductivity's
    ``InterfaceConductances``, ``physics/interfaces.py``) conduct as the tissues between
    their centres, as the engine's faces do.
    """
    vol = grid.cell_volume_m3
    k = tables.k[label]
    w = tables.sink[label] * vol
    # Unknown u = T - T_a makes the sink term homogeneous.
    u, *_ = solve_diffusion(
        grid, k, held, held_value_c - t_arterial_c, True, t_boundary_c - t_arterial_c,
        rtol=rtol, sink_per_cell=w, source_per_cell=source_w_m3 * vol, boundary_factor=1.0,
        embedded=embedded, interfaces=interfaces,
    )  # fmt: skip
    return u + t_arterial_c
