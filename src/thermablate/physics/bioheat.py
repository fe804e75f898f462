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

The update of one step is one Numba kernel that reads each array once: temperature, label,
heat source, damage, CEM43 and maximum temperature, and writes the new temperature and the
three accumulators. Memory traffic, not arithmetic, limits its speed (see benchmarks/thermal.py).
"""

from __future__ import annotations

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
from thermablate.physics.grid import Grid

BYTES_PER_CELL_UPDATE = 1 + 1 + 8 + 8 + 8 + 8 + 2 * 8
"""Minimum memory traffic of one cell update in :func:`step`: label and held flag (1 B each),
read T, write T_new, read q, read damage, read+write maximum temperature. CEM43 and damage are
only written in heated cells, so they are not counted. [B]"""


class MaterialTables:
    """Per-label coefficient tables used by the kernel (all already divided as needed).

    Parameters
    ----------
    thermal_conductivity_w_mk, volumetric_heat_capacity_j_m3k, perfusion_sink_w_m3k : arrays
        One entry per label. [W/(m K)], [J/(m^3 K)], [W/(m^3 K)]
    spacing_m : float
        Voxel size. [m]
    """

    def __init__(self, thermal_conductivity_w_mk, volumetric_heat_capacity_j_m3k,
                 perfusion_sink_w_m3k, spacing_m):  # fmt: skip
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
        coefficients + boundary coefficients + perfusion sink)``.
        """
        rate = self.sink[label].astype(float)
        face = self.face
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
                rate[tuple(sl)] += self.boundary[label[tuple(sl)]]
        return float(np.min(self.rhoc[label] / rate))


@numba.njit(parallel=True, fastmath=False, cache=True, nogil=True)
def step(t_pad_c, t_new_pad_c, label_pad, held, held_value_c, q_unit_w_m3, q_scale, damage,
         cem43_min, t_max_c, face, inv_rhoc, sink, t_arterial_c, dt_s, ln_arrhenius_a,
         ea_over_r_k, damage_floor_c, dose_floor_c, shutoff_damage):  # fmt: skip
    """Advance one forward-Euler step; returns (perfusion, held) heat rates per volume.

    ``t_pad_c`` and ``label_pad`` carry one ghost layer: ghost cells hold the boundary
    temperature and the ghost label, whose face coefficient with label ``a`` is ``2 k_a/h^2``
    (the boundary node at h/2), so the interior loop has no branches for the boundary.
    The other arrays have the interior shape. Units: temperatures [°C], q [W/m^3] (times the
    dimensionless ``q_scale``), damage [-], CEM43 [min], ``dt_s`` [s]. The returned sums are
    in [W/m^3] summed over cells (multiply by the cell volume for watts).
    """
    nx, ny, nz = held.shape
    perfusion_sum = 0.0
    held_sum = 0.0
    ln_half = np.log(0.5)
    ln_quarter = np.log(0.25)
    for i in numba.prange(nx):
        for j in range(ny):
            for k in range(nz):
                pi, pj, pk = i + 1, j + 1, k + 1
                lab = label_pad[pi, pj, pk]
                t = t_pad_c[pi, pj, pk]
                fr = face[lab]
                flux = (
                    fr[label_pad[pi - 1, pj, pk]] * (t_pad_c[pi - 1, pj, pk] - t)
                    + fr[label_pad[pi + 1, pj, pk]] * (t_pad_c[pi + 1, pj, pk] - t)
                    + fr[label_pad[pi, pj - 1, pk]] * (t_pad_c[pi, pj - 1, pk] - t)
                    + fr[label_pad[pi, pj + 1, pk]] * (t_pad_c[pi, pj + 1, pk] - t)
                    + fr[label_pad[pi, pj, pk - 1]] * (t_pad_c[pi, pj, pk - 1] - t)
                    + fr[label_pad[pi, pj, pk + 1]] * (t_pad_c[pi, pj, pk + 1] - t)
                )
                om = damage[i, j, k]
                perf = sink[lab] * (t - t_arterial_c) if om < shutoff_damage else 0.0
                perfusion_sum += perf
                tn = t + dt_s * inv_rhoc[lab] * (flux + q_scale * q_unit_w_m3[i, j, k] - perf)
                if held[i, j, k]:
                    hv = held_value_c[i, j, k]
                    held_sum += (hv - tn) / (dt_s * inv_rhoc[lab])
                    tn = hv
                t_new_pad_c[pi, pj, pk] = tn
                if t > dose_floor_c:
                    lnr = ln_half if t >= 43.0 else ln_quarter
                    cem43_min[i, j, k] += dt_s / 60.0 * np.exp(lnr * (43.0 - t))
                    if t > damage_floor_c:
                        damage[i, j, k] = om + dt_s * np.exp(
                            ln_arrhenius_a - ea_over_r_k / (t + 273.15)
                        )
                if tn > t_max_c[i, j, k]:
                    t_max_c[i, j, k] = tn
    return perfusion_sum, held_sum


def boundary_loss_w(t_pad_c, label_pad, face, ghost_label, t_boundary_c, cell_volume_m3):
    """Heat flowing out through the domain boundary. [W]"""
    total = 0.0
    for axis in range(3):
        n = t_pad_c.shape[axis]
        for inner, _ghost in ((1, 0), (n - 2, n - 1)):
            sl_in = [slice(1, -1)] * 3
            sl_in[axis] = inner
            sl_in = tuple(sl_in)
            coef = face[label_pad[sl_in], ghost_label]
            total += float(np.sum(coef * (t_pad_c[sl_in] - t_boundary_c)))
    return total * cell_volume_m3


class BioheatState:
    """The evolving fields of one simulation (plain arrays on the grid).

    ``temperature_c`` is a view of the interior of a padded array whose ghost layer holds the
    boundary temperature.
    """

    def __init__(self, grid: Grid, label: np.ndarray, tables: MaterialTables,
                 initial_c: float | np.ndarray, t_boundary_c: float):  # fmt: skip
        padded = tuple(n + 2 for n in grid.shape)
        self.tables = tables
        self.t_boundary_c = float(t_boundary_c)
        self.ghost_label = tables.ghost_label
        self.label_pad = np.full(padded, tables.ghost_label, dtype=np.uint8)
        self.label_pad[1:-1, 1:-1, 1:-1] = label
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

    @property
    def temperature_c(self) -> np.ndarray:
        return self._t[1:-1, 1:-1, 1:-1]

    def advance(self, held, held_value_c, q_unit_w_m3, q_scale, t_arterial_c, dt_s):
        """One step; returns (perfusion, held) heat rates in [W]."""
        perf, held_w = step(
            self._t, self._t_new, self.label_pad, held, held_value_c, q_unit_w_m3,
            float(q_scale), self.damage, self.cem43_min, self.max_temperature_c,
            self.tables.face, self.tables.inv_rhoc, self.tables.sink, float(t_arterial_c),
            float(dt_s), np.log(ARRHENIUS_A_PER_S), ARRHENIUS_EA_J_MOL / GAS_CONSTANT_J_MOLK,
            DAMAGE_FLOOR_C, DOSE_FLOOR_C, self.perfusion_shutoff_damage,
        )  # fmt: skip
        self._t, self._t_new = self._t_new, self._t
        return perf * self.cell_volume_m3, held_w * self.cell_volume_m3

    def boundary_loss_w(self) -> float:
        return boundary_loss_w(
            self._t, self.label_pad, self.tables.face, self.ghost_label, self.t_boundary_c,
            self.cell_volume_m3,
        )  # fmt: skip

    def stored_energy_j(self, reference_c: float) -> float:
        rhoc = self.tables.rhoc[self.label_pad[1:-1, 1:-1, 1:-1]]
        return float(np.sum(rhoc * (self.temperature_c - reference_c))) * self.cell_volume_m3


def steady_state(grid: Grid, label, tables: MaterialTables, source_w_m3, held, held_value_c,
                 t_boundary_c, t_arterial_c, rtol=1e-10):  # fmt: skip
    """Steady solution of Pennes' equation with the same spatial operator as :func:`step`.

    ``-div(k grad T) + W (T - T_a) = q`` with held cells and the boundary ghost node. [°C]
    """
    vol = grid.cell_volume_m3
    k = tables.k[label]
    w = tables.sink[label] * vol
    # Unknown u = T - T_a makes the sink term homogeneous.
    u, *_ = solve_diffusion(
        grid, k, held, held_value_c - t_arterial_c, True, t_boundary_c - t_arterial_c,
        rtol=rtol, sink_per_cell=w, source_per_cell=source_w_m3 * vol, boundary_factor=1.0,
    )  # fmt: skip
    return u + t_arterial_c
