"""Closed-form solutions used to verify the engine (tests/physics/test_convergence.py).

References
----------
[PEN48] Pennes HH. J Appl Physiol 1948;1(2):93-122. doi:10.1152/jappl.1948.1.2.93
[CJ59] Carslaw HS, Jaeger JC. Conduction of Heat in Solids, 2nd ed. Oxford: Clarendon Press,
    1959, section 9.10 (sphere with uniform heat production in an infinite medium) and
    section 10.2 (instantaneous point source, integrated here over the sphere); chapter IX
    (radial flow in the sphere: with ``v = r u`` the radial equation becomes that of linear
    flow, so steady solutions are ``A + B/r`` and, with a term linear in ``u``,
    ``exp(+-m r)/r``) and chapter I (the conditions at the contact of two media in perfect
    thermal contact: equal temperature and equal normal heat flux).
[BER06] Berjano EJ. Theoretical modeling for radiofrequency ablation: state-of-the-art and
    challenges for the future. Biomed Eng Online 2006;5:24. doi:10.1186/1475-925X-5-24
    (the quasi-static electric problem ``div(sigma grad V) = 0`` of RF ablation, whose
    radial solutions and interface conditions are those of steady conduction without sources).
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


def _layer_modes(r, k_w_mk, sink_w_m3k, near_m, far_m):
    """The two radial solutions of ``k u'' + 2 k u'/r = W u`` in one layer, and their slopes.

    ``u`` is the temperature above the body temperature. Without perfusion they are ``1`` and
    ``near/r``; with it ``exp(m (r - far)) far/r`` and ``exp(-m (r - near)) near/r``,
    ``m = sqrt(W/k)`` [CJ59, chapter IX]. The scaling keeps both of order one across the layer
    ``near <= r <= far``, so the linear system stays well conditioned for any ``m``. Returns
    ``(values, slopes)``, each of shape ``(2,) + r.shape``. [-], [1/m]
    """
    if sink_w_m3k == 0.0:
        one = np.ones_like(r)
        return np.array([one, near_m / r]), np.array([0 * r, -near_m / r**2])
    m = np.sqrt(sink_w_m3k / k_w_mk)
    grow = np.exp(m * (r - far_m)) * far_m / r
    decay = np.exp(-m * (r - near_m)) * near_m / r
    return np.array([grow, decay]), np.array([grow * (m - 1 / r), decay * (-m - 1 / r)])


def _outer_mode(r, k_w_mk, sink_w_m3k, interface_m):
    """The radial solution of the outer layer that vanishes far away, 1 at the interface, and
    its slope: ``b/r`` without perfusion, ``exp(-m (r - b)) b/r`` with it [CJ59]. [-], [1/m]"""
    m = np.sqrt(sink_w_m3k / k_w_mk)
    value = np.exp(-m * (r - interface_m)) * interface_m / r
    return value, value * (-m - 1 / r)


def layered_sphere_temperature_c(r_m, radius_m, interface_radius_m, surface_c, body_c, *,
                                 k_w_mk, sink_w_m3k=(0.0, 0.0)):  # fmt: skip
    """Steady temperature around a sphere held at ``surface_c`` inside two concentric tissues.

    Tissue 1 (say a tumour) fills ``a < r < b`` and tissue 2 (say bone) ``r > b``; each obeys
    Pennes' steady equation ``k (u'' + 2 u'/r) = W u`` with ``u = T - T_body`` [PEN48], whose
    radial solutions are ``A + B/r`` without perfusion and ``(A exp(m r) + B exp(-m r))/r``
    with it, ``m = sqrt(W/k)`` per tissue [CJ59, chapter IX]. The three coefficients (two in
    tissue 1, the decaying one in tissue 2, as ``T -> T_body`` far away) follow from
    ``T(a) = T_s`` and, at ``r = b``, continuity of ``T`` and of the heat flux ``k dT/dr``
    [CJ59, chapter I]. For ``r < a`` tissue 1's formula is continued smoothly (exact Dirichlet
    data for the cells inside the sphere).

    Parameters
    ----------
    r_m : array_like
        Distance from the centre. [m]
    radius_m : float
        Radius ``a`` of the held sphere (the electrode). [m]
    interface_radius_m : float
        Radius ``b`` of the interface between the two tissues, ``b > a``. [m]
    surface_c : float
        Temperature held on the sphere. [°C]
    body_c : float
        Temperature far away, also the arterial temperature of Pennes' sink. [°C]
    k_w_mk : (float, float)
        Thermal conductivity of tissue 1 and tissue 2. [W/(m K)]
    sink_w_m3k : (float, float)
        Perfusion sink ``omega rho_b c_b`` of tissue 1 and tissue 2 (0: unperfused). [W/(m^3 K)]
    """
    a, b = float(radius_m), float(interface_radius_m)
    (k1, k2), (w1, w2) = (np.asarray(v, float) for v in (k_w_mk, sink_w_m3k))
    if not 0 < a < b:
        raise ValueError("need 0 < radius_m < interface_radius_m")
    if min(k1, k2) <= 0 or min(w1, w2) < 0:
        raise ValueError("conductivities must be positive and perfusion sinks not negative")
    at_a, _ = _layer_modes(np.array(a), k1, w1, a, b)
    at_b, slope_b = _layer_modes(np.array(b), k1, w1, a, b)
    out_b, out_slope_b = _outer_mode(np.array(b), k2, w2, b)
    system = np.array(
        [
            [at_a[0], at_a[1], 0.0],
            [at_b[0], at_b[1], -out_b],
            [k1 * slope_b[0], k1 * slope_b[1], -k2 * out_slope_b],
        ]
    )
    inner1, inner2, outer = np.linalg.solve(system, [surface_c - body_c, 0.0, 0.0])
    r = np.maximum(np.asarray(r_m, float), 1e-12)
    modes, _ = _layer_modes(np.minimum(r, b), k1, w1, a, b)
    far, _ = _outer_mode(np.maximum(r, b), k2, w2, b)
    u = np.where(r < b, inner1 * modes[0] + inner2 * modes[1], outer * far)
    return body_c + u


def layered_sphere_potential_v(r_m, radius_m, interface_radius_m, voltage_v, sigma_s_m):
    """Potential around a sphere at ``voltage_v`` inside two concentric conductors. [V]

    Conductor 1 fills ``a < r < b``, conductor 2 ``r > b``, and the potential vanishes far away
    (the ground). Laplace's equation gives ``V = A + B/r`` in each [CJ59, chapter IX; BER06];
    continuity of ``V`` and of the current density ``sigma dV/dr`` at ``b`` give, with
    ``s = sigma_1 / sigma_2``::

        B_1 = V_0 / (1/a + (s - 1)/b),   A_1 = B_1 (s - 1)/b,   V = s B_1 / r  for r > b.

    (The two shells are resistors in series: ``R = (1/a - 1/b)/(4 pi sigma_1) + 1/(4 pi
    sigma_2 b)``, see :func:`layered_sphere_resistance_ohm`.) Tissue 1's formula is continued
    smoothly for ``r < a``.

    Parameters
    ----------
    r_m : array_like
        Distance from the centre. [m]
    radius_m, interface_radius_m : float
        Radius ``a`` of the electrode and ``b > a`` of the interface. [m]
    voltage_v : float
        Potential of the electrode. [V]
    sigma_s_m : (float, float)
        Electrical conductivity of conductor 1 and conductor 2. [S/m]
    """
    a, b = float(radius_m), float(interface_radius_m)
    sigma1, sigma2 = (float(s) for s in sigma_s_m)
    if not 0 < a < b:
        raise ValueError("need 0 < radius_m < interface_radius_m")
    s = sigma1 / sigma2
    b1 = voltage_v / (1 / a + (s - 1) / b)
    r = np.maximum(np.asarray(r_m, float), 1e-12)
    return np.where(r < b, b1 * (s - 1) / b + b1 / r, s * b1 / r)


def layered_sphere_resistance_ohm(radius_m, interface_radius_m, sigma_s_m):
    """Resistance from a sphere electrode to infinity through two concentric conductors. [ohm]

    ``R = (1/a - 1/b)/(4 pi sigma_1) + 1/(4 pi sigma_2 b)``: the current ``4 pi sigma_1 B_1``
    of :func:`layered_sphere_potential_v` per volt. Parameters as there.
    """
    a, b = float(radius_m), float(interface_radius_m)
    sigma1, sigma2 = (float(s) for s in sigma_s_m)
    return (1 / a - 1 / b) / (4 * np.pi * sigma1) + 1 / (4 * np.pi * sigma2 * b)
