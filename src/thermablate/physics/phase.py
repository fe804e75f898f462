"""Tissue water boiling near 100 °C (enthalpy method) and temperature-dependent conduction.

Each tissue cell carries, beside its temperature ``T``, the latent heat its water has taken up
so far, ``L`` (per unit volume, from 0 to ``L_max = w rho h_fg``, ``w`` the water mass
fraction). Its enthalpy relative to the state "100 °C, no water boiled" is

    E = rho c (T - 100) + L                   while L < L_max (wet: T <= 100, and T = 100 if L > 0)
    E = L_max + (rho c)_dry (T - 100)         once L = L_max (dry)

and ``T(E)``, ``L(E)`` invert it: below 0 the tissue is liquid-water tissue at ``T < 100``;
between 0 and ``L_max`` it boils at exactly 100 °C (an isothermal plateau); above, the dried
tissue heats with the lower heat capacity ``(rho c)_dry = (1 - w) rho c``. The time step
updates ``E`` by the heat the cell received and reads ``T`` back (:func:`boil`): a true
enthalpy variable, so a step cannot jump over the boiling window (an apparent heat capacity
spread over 1 K can be stepped over by an explicit step), and the energy balance closes with
the latent heat included. This is the enthalpy treatment of water vaporisation used in RF
ablation models [ZHU13]; condensation (heat flowing back out of a boiling cell) is the same
curve run backwards, as in those models (vapour does not leave the cell here).

The thermal conductivity rises linearly with temperature up to 100 °C and is constant above,
``k(T) = k_37 (1 + beta (min(T, 100) - 37))`` [BHA03 for the linear, reversible rise below
90 °C; beta = 0.0012 /K as commonly used in RF ablation models, see docs/thermal-engine.md].
Each face's precomputed coefficient is scaled by the mean of its two cells' factors
(:func:`face_factor`), which is symmetric, so what one cell gives its neighbour the other
receives.

References
----------
[ZHU13] Zhu Q, Shen Y, Zhang A, Xu LX. Numerical study of the influence of water evaporation
    on radiofrequency ablation. Biomed Eng Online 2013;12:127. doi:10.1186/1475-925X-12-127
[BHA03] Bhattacharya A, Mahajan RL. Temperature dependence of thermal conductivity of
    biological tissues. Physiol Meas 2003;24(3):769-783. PubMed 14509313 (its DOI was not
    checked) (liver: linear in T and reversible from 25 to 90 °C).
[IAPWS] Wagner W, Pruss A. The IAPWS formulation 1995 for the thermodynamic properties of
    ordinary water substance. J Phys Chem Ref Data 2002;31(2):387-535. doi:10.1063/1.1461829
    (enthalpy of vaporisation at 100 °C and 101.325 kPa: 2256-2257 kJ/kg, as the NIST steam
    tables built on it print).
"""

from __future__ import annotations

import numba
import numpy as np

BOILING_C = 100.0
"""Tissue water boils at 100 °C (atmospheric pressure; tissue pressure is not modelled). [°C]"""

LATENT_HEAT_J_KG = 2.257e6
"""Enthalpy of vaporisation of water at 100 °C [IAPWS]. [J/kg]"""

CONDUCTIVITY_COEFFICIENT_PER_K = 0.0012
"""Relative rise of the thermal conductivity per kelvin above 37 °C, up to 100 °C (see the
module docstring for its standing). [1/K]"""

CONDUCTIVITY_REFERENCE_C = 37.0
"""Temperature at which the tissue tables give k. [°C]"""

CONDUCTIVITY_CAP_C = BOILING_C
"""k stops rising here: above 100 °C the tissue dries and its conductivity is held. [°C]"""

MAX_CONDUCTIVITY_FACTOR = 1.0 + CONDUCTIVITY_COEFFICIENT_PER_K * (
    CONDUCTIVITY_CAP_C - CONDUCTIVITY_REFERENCE_C
)
"""Largest k(T)/k_37 (1.0756): the stable time step is bounded with it. [-]"""


def conductivity_factor(temperature_c, beta_per_k=CONDUCTIVITY_COEFFICIENT_PER_K):
    """k(T) / k_37 of one cell: linear up to 100 °C, constant above. [-]"""
    t = np.minimum(np.asarray(temperature_c, float), CONDUCTIVITY_CAP_C)
    return 1.0 + beta_per_k * (t - CONDUCTIVITY_REFERENCE_C)


def face_factor(t_a_c, t_b_c, beta_per_k=CONDUCTIVITY_COEFFICIENT_PER_K):
    """Scale of a face's conductance between cells at ``t_a_c`` and ``t_b_c``: the mean of the
    two cells' k(T)/k_37 (:func:`conductivity_factor`). [-]

    The kernel evaluates the same expression. Across an interface between two tissues the
    exact harmonic mean of ``k_a f_a`` and ``k_b f_b`` differs from ``f * harmonic(k_a, k_b)``
    by a second-order amount in ``f_a - f_b`` (at most 0.0756 here), which is left out.
    """
    return 0.5 * (conductivity_factor(t_a_c, beta_per_k) + conductivity_factor(t_b_c, beta_per_k))


def remaining_water_fraction(latent_j_m3, latent_max_j_m3):
    """Fraction of each cell's water not yet boiled off, ``1 - L / L_max`` (1 for a cell
    without water). [-]"""
    latent = np.asarray(latent_j_m3, float)
    latent_max = np.asarray(latent_max_j_m3, float)
    boiled = np.divide(latent, latent_max, out=np.zeros(latent.shape), where=latent_max > 0.0)
    return 1.0 - boiled


def latent_capacity_j_m3(water_mass_fraction, density_kg_m3):
    """Latent heat the water of a unit volume takes up to boil off, ``w rho h_fg``. [J/m^3]"""
    return (
        np.asarray(water_mass_fraction, float) * np.asarray(density_kg_m3, float) * LATENT_HEAT_J_KG
    )


def dry_heat_capacity_j_m3k(water_mass_fraction, volumetric_heat_capacity_j_m3k):
    """Volumetric heat capacity of the tissue once its water has boiled off. [J/(m^3 K)]

    ``(1 - w) rho c``: the solids left keep the tissue's mean specific heat per kilogram and
    the water's mass is gone. (Taking the water's own heat capacity out instead, ``rho (c - w
    c_water)``, is negative for CSF and 3 % of the wet value for muscle with the IT'IS
    figures, whose mean c is not consistent with a separate water content.) A tissue without
    water keeps its heat capacity.
    """
    w = np.asarray(water_mass_fraction, float)
    return (1.0 - w) * np.asarray(volumetric_heat_capacity_j_m3k, float)


@numba.njit(cache=True, nogil=True, inline="always")
def enthalpy_j_m3(t_c, latent, latent_max, rhoc, rhoc_dry, boil_c):
    """Enthalpy of one cell relative to "at ``boil_c``, nothing boiled". [J/m^3]

    Valid for any ``t_c``, also one that an operator with a constant heat capacity (the needle
    chain's implicit step) has moved off the curve: wet cells count ``rho c`` per kelvin, dry
    ones ``(rho c)_dry``, which is what :func:`boil` then reads back.
    """
    if latent_max > 0.0 and latent >= latent_max:
        return latent_max + rhoc_dry * (t_c - boil_c)
    return rhoc * (t_c - boil_c) + latent


@numba.njit(cache=True, nogil=True, inline="always")
def temperature_of(energy, latent_max, rhoc, rhoc_dry, boil_c):
    """Invert :func:`enthalpy_j_m3`: (temperature [°C], latent heat taken up [J/m^3])."""
    if energy <= 0.0:
        return boil_c + energy / rhoc, 0.0
    if energy < latent_max:
        return boil_c, energy
    return boil_c + (energy - latent_max) / rhoc_dry, latent_max


@numba.njit(cache=True, nogil=True)
def renormalise(t_pad_c, t_max_c, column_boiling, cells_pad, latent, latent_max, rhoc, rhoc_dry,
                boil_c):  # fmt: skip
    """Put the listed cells (padded indices) back on the enthalpy curve, keeping their energy.

    The needle chain's implicit step (``needle.conduct``) moves the tissue cells beside a
    contact with a constant heat capacity; a boiling cell may leave it a little above 100 °C,
    and its running maximum ``t_max_c`` with it: a cell that was wet has not been above
    ``boil_c`` (unless it dried and condensed again, which is not tracked), so its maximum is
    brought back to its temperature on the curve. ``column_boiling`` (the kernel's count of
    cells holding latent heat per x-plane and z-column) is kept up to date.
    """
    for p in range(cells_pad.shape[0]):
        i, j, k = cells_pad[p, 0], cells_pad[p, 1], cells_pad[p, 2]
        lm = latent_max[i - 1, j - 1, k - 1]
        if lm <= 0.0:
            continue
        c = rhoc[i - 1, j - 1, k - 1]
        cd = rhoc_dry[i - 1, j - 1, k - 1]
        lat_before = latent[i - 1, j - 1, k - 1]
        e = enthalpy_j_m3(t_pad_c[i, j, k], lat_before, lm, c, cd, boil_c)
        t, lat = temperature_of(e, lm, c, cd, boil_c)
        t_pad_c[i, j, k] = t
        latent[i - 1, j - 1, k - 1] = lat
        column_boiling[i - 1, k - 1] += int(lat > 0.0) - int(lat_before > 0.0)
        if lat_before < lm and lat < lm:
            m = t_max_c[i - 1, j - 1, k - 1]
            t_max_c[i - 1, j - 1, k - 1] = max(min(m, boil_c), t)


@numba.njit(cache=True, nogil=True)
def coupled_heat_capacity(cells_pad, latent, latent_max, rhoc, rhoc_dry, volume_m3, out_j_k):
    """Heat capacity of each listed cell (padded indices) as it is now: ``(rho c)_dry`` once
    its water has boiled off, ``rho c`` before, times the cell volume. [J/K]

    What the needle chain's implicit step needs for the tissue cells it moves, so that the
    heat it gives them changes their enthalpy as :func:`enthalpy_j_m3` counts it.
    """
    for p in range(cells_pad.shape[0]):
        i, j, k = cells_pad[p, 0] - 1, cells_pad[p, 1] - 1, cells_pad[p, 2] - 1
        lm = latent_max[i, j, k]
        dry = lm > 0.0 and latent[i, j, k] >= lm
        out_j_k[p] = (rhoc_dry[i, j, k] if dry else rhoc[i, j, k]) * volume_m3


@numba.njit(cache=True, nogil=True)
def stored_energy_sum(t_pad_c, latent, latent_max, rhoc, rhoc_dry, reference_c, boil_c):
    """Sum over cells of the enthalpy relative to ``reference_c`` with nothing boiled. [J/m^3]"""
    nx, ny, nz = rhoc.shape
    total = 0.0
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                c = rhoc[i, j, k]
                e = enthalpy_j_m3(
                    t_pad_c[i + 1, j + 1, k + 1], latent[i, j, k], latent_max[i, j, k], c,
                    rhoc_dry[i, j, k], boil_c,
                )  # fmt: skip
                total += e + c * (boil_c - reference_c)
    return total
