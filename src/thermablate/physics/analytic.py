"""Closed-form solutions used to verify the engine (tests/physics/test_convergence.py).

References
----------
[PEN48] Pennes HH. J Appl Physiol 1948;1(2):93-122. doi:10.1152/jappl.1948.1.2.93
[CJ59] Carslaw HS, Jaeger JC. Conduction of Heat in Solids, 2nd ed. Oxford: Clarendon Press,
    1959, section 9.10 (sphere with uniform heat production in an infinite medium) and
    section 10.2 (instantaneous point source, integrated here over the sphere).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import erf


def pennes_held_sphere_c(r_m, radius_m, surface_c, arterial_c, k_w_mk, sink_w_m3k):
    """Steady Pennes temperature outside a sphere held at ``surface_c`` [PEN48].

    ``T = T_a + (T_s - T_a) (R / r) exp(-(r - R) / L)`` with ``L = sqrt(k / W)``. The formula is
    also returned for ``r < R`` (its smooth continuation, used as exact Dirichlet data).

    Parameters
    ----------
    r_m : array_like
        Distance from the centre. [m]
    radius_m : float
        Sphere radius. [m]
    surface_c, arterial_c : float
        Held and arterial temperature. [°C]
    k_w_mk : float
        Thermal conductivity. [W/(m K)]
    sink_w_m3k : float
        Perfusion sink ``omega rho_b c_b``. [W/(m^3 K)]
    """
    r = np.maximum(np.asarray(r_m, float), 1e-12)
    length = np.sqrt(k_w_mk / sink_w_m3k)
    return arterial_c + (surface_c - arterial_c) * radius_m / r * np.exp(-(r - radius_m) / length)


def sphere_potential_v(r_m, radius_m, voltage_v):
    """Potential around a sphere at ``voltage_v`` in an infinite uniform conductor. [V]"""
    r = np.maximum(np.asarray(r_m, float), 1e-12)
    return voltage_v * radius_m / r


def _unit_sphere_response(r, s, a, alpha):
    """Temperature at ``r`` a time ``s`` after a unit instantaneous release of heat density
    in the sphere ``|x| < a`` (Green's function integrated over the sphere) [CJ59]. [-]"""
    d = 2.0 * np.sqrt(alpha * s)
    term1 = 0.5 * (erf((a + r) / d) + erf((a - r) / d))
    if r < 1e-12:
        return erf(a / d) - 2.0 * a / (np.sqrt(np.pi) * d) * np.exp(-((a / d) ** 2))
    term2 = (
        np.sqrt(alpha * s)
        / (r * np.sqrt(np.pi))
        * (np.exp(-(((a - r) / d) ** 2)) - np.exp(-(((a + r) / d) ** 2)))
    )
    return term1 - term2


def heated_sphere_rise_k(r_m, time_s, radius_m, power_density_w_m3, k_w_mk, rhoc_j_m3k):
    """Temperature rise at ``r_m`` after ``time_s`` of uniform heating inside a sphere, in an
    infinite unperfused medium starting at uniform temperature [CJ59]. [K]

    ``T(r, t) = q / (rho c) * integral_0^t u(r, s) ds`` with ``u`` the sphere response.
    """
    alpha = k_w_mk / rhoc_j_m3k
    out = []
    for r in np.atleast_1d(np.asarray(r_m, float)):
        val, _ = integrate.quad(lambda s, r=r: _unit_sphere_response(r, s, radius_m, alpha), 0.0, time_s,
                                limit=200, epsabs=1e-12, epsrel=1e-10)  # fmt: skip
        out.append(val * power_density_w_m3 / rhoc_j_m3k)
    return np.asarray(out)
