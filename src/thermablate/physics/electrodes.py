"""Electrode geometry and its rasterisation onto the grid.

A needle has an insulated shaft and one active tip (monopolar; the return is a dispersive pad
represented by the grounded domain boundary) or two active contacts separated by an insulating
gap on one shaft (bipolar; no current leaves through the boundary). A sphere is a verification
electrode.

Electrically the active parts are perfect conductors (Dirichlet cells of the potential) and the
shaft insulation carries no current. Thermally the needle's voxels keep the heat capacity of the
tissue they displace (steel's, 3.8e6 J/(m^3 K), is within 10 % of soft tissue's); the steel's
axial conduction is a sub-grid model of its own (``physics/needle.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermablate.physics.grid import Grid

# Outer diameter of Stubs/Birmingham wire gauges used for RF needles. [mm]
# Source: ISO 9626:2016 "Stainless steel needle tubing", Table 1 (normal-wall nominal OD).
GAUGE_DIAMETER_MM = {
    14: 2.11,
    15: 1.83,
    16: 1.65,
    17: 1.47,
    18: 1.27,
    19: 1.07,
    20: 0.91,
    21: 0.82,
    22: 0.72,
}


@dataclass(frozen=True)
class Needle:
    """A straight RF needle.

    Parameters
    ----------
    tip_mm : tuple of float
        Position of the distal tip. [mm]
    direction : tuple of float
        Direction of insertion (from the skin towards the tip); normalised on use. [-]
    active_tip_mm : float
        Length of each exposed (active) contact. [mm]
    gauge : int
        Needle gauge (sets the diameter, see ``GAUGE_DIAMETER_MM``).
    bipolar : bool
        Two contacts on one shaft instead of one tip and a dispersive pad.
    gap_mm : float
        Insulating gap between the two bipolar contacts. [mm]
    thermocouple_mm : float
        Distance of the tip thermocouple behind the distal tip, on the axis. [mm]
    """

    tip_mm: tuple[float, float, float]
    direction: tuple[float, float, float]
    active_tip_mm: float = 10.0
    gauge: int = 17
    bipolar: bool = False
    gap_mm: float = 5.0
    thermocouple_mm: float = 0.0

    @property
    def radius_mm(self) -> float:
        return 0.5 * GAUGE_DIAMETER_MM[self.gauge]

    @property
    def unit_direction(self) -> np.ndarray:
        d = np.asarray(self.direction, dtype=float)
        return d / np.linalg.norm(d)

    @property
    def thermocouple_position_mm(self) -> np.ndarray:
        return np.asarray(self.tip_mm, float) - self.thermocouple_mm * self.unit_direction

    @property
    def centre_of_active_mm(self) -> np.ndarray:
        return np.asarray(self.tip_mm, float) - 0.5 * self.active_tip_mm * self.unit_direction


@dataclass(frozen=True)
class Sphere:
    """A spherical electrode (verification geometry).

    Parameters
    ----------
    centre_mm : tuple of float
        Centre. [mm]
    radius_mm : float
        Radius. [mm]
    """

    centre_mm: tuple[float, float, float]
    radius_mm: float

    @property
    def thermocouple_position_mm(self) -> np.ndarray:
        return np.asarray(self.centre_mm, float)

    @property
    def tip_mm(self) -> tuple[float, float, float]:
        return self.centre_mm


Electrode = Needle | Sphere


@dataclass
class ElectrodeMasks:
    """Cells occupied by electrodes.

    ``active_a`` is at potential 1 (unit voltage), ``active_b`` at 0 (the second bipolar
    contact; empty for monopolar), ``insulated`` carries no current. ``boundary_grounded`` is
    True for monopolar setups (dispersive pad at the domain boundary).
    """

    active_a: np.ndarray
    active_b: np.ndarray
    insulated: np.ndarray
    boundary_grounded: bool

    @property
    def metal(self) -> np.ndarray:
        return self.active_a | self.active_b | self.insulated

    @property
    def active(self) -> np.ndarray:
        return self.active_a | self.active_b


def _segment_distance_m(grid: Grid, a_m: np.ndarray, b_m: np.ndarray):
    """Distance of every cell centre to the segment a-b, and the axial coordinate. [m]"""
    x, y, z = grid.centres_m()
    d = b_m - a_m
    length = float(np.linalg.norm(d))
    u = d / length
    s = (x - a_m[0]) * u[0] + (y - a_m[1]) * u[1] + (z - a_m[2]) * u[2]
    sc = np.clip(s, 0.0, length)
    px = x - (a_m[0] + sc * u[0])
    py = y - (a_m[1] + sc * u[1])
    pz = z - (a_m[2] + sc * u[2])
    return np.sqrt(px * px + py * py + pz * pz), s


def _drawn_radius_m(grid: Grid, radius_m: float) -> float:
    # At least the voxels nearest the axis, even when the needle is thinner than a voxel: no
    # line is farther than h/sqrt(2) from every cell centre of a column it runs along.
    return max(radius_m, grid.spacing_m / np.sqrt(2.0) * (1 + 1e-9))


def _capsule(grid: Grid, a_m, b_m, radius_m: float) -> np.ndarray:
    r = _drawn_radius_m(grid, radius_m)
    dist, _ = _segment_distance_m(grid, np.asarray(a_m), np.asarray(b_m))
    return dist <= r


def _capsule_inside(a_m, b_m, radius_m: float):
    """``f(points)``, not positive exactly where :func:`_capsule` holds a cell centre. [m]

    The same arithmetic as :func:`_segment_distance_m`, on points of shape (n, 3).
    """
    a_m, b_m = np.asarray(a_m, float), np.asarray(b_m, float)
    d = b_m - a_m
    length = float(np.linalg.norm(d))
    u = d / length

    def f(p):
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        s = (x - a_m[0]) * u[0] + (y - a_m[1]) * u[1] + (z - a_m[2]) * u[2]
        sc = np.clip(s, 0.0, length)
        px = x - (a_m[0] + sc * u[0])
        py = y - (a_m[1] + sc * u[1])
        pz = z - (a_m[2] + sc * u[2])
        return np.sqrt(px * px + py * py + pz * pz) - radius_m

    return f


def _sphere_inside(centre_m, radius_m: float):
    """``f(points)``, not positive exactly where :func:`rasterise` holds a sphere's cell. [m^2]"""
    c = np.asarray(centre_m, float)

    def f(p):
        return (p[:, 0] - c[0]) ** 2 + (p[:, 1] - c[1]) ** 2 + (p[:, 2] - c[2]) ** 2 - radius_m**2

    return f


def contact_shapes(grid: Grid, electrodes: list[Electrode]) -> list:
    """The active contacts' exact shapes as drawn by :func:`rasterise`, first-come first-served.

    Each is a function of points (n, 3) [m], not positive inside and convex (a sphere or a
    capsule), so that ``physics/embedded.py`` can find where a face crosses the surface. The
    ``active_a`` shapes come first, then the ``active_b`` ones (the masks' precedence).
    """
    first, second = [], []
    for e in electrodes:
        if isinstance(e, Sphere):
            first.append(_sphere_inside(np.asarray(e.centre_mm) * 1e-3, e.radius_mm * 1e-3))
            continue
        u = e.unit_direction
        tip = np.asarray(e.tip_mm, float) * 1e-3
        r = _drawn_radius_m(grid, e.radius_mm * 1e-3)
        act = e.active_tip_mm * 1e-3
        first.append(_capsule_inside(tip - act * u, tip, r))
        if e.bipolar:
            b_start = tip - (act + e.gap_mm * 1e-3) * u
            second.append(_capsule_inside(b_start - act * u, b_start, r))
    return first + second


def shaft_start_mm(needle: Needle) -> np.ndarray:
    """Where the needle's steel shaft begins: the proximal end of its proximal contact. [mm]"""
    behind = needle.active_tip_mm
    if needle.bipolar:
        behind = 2 * needle.active_tip_mm + needle.gap_mm
    return np.asarray(needle.tip_mm, float) - behind * needle.unit_direction


def shaft_cells(grid: Grid, needle: Needle) -> tuple[np.ndarray, np.ndarray]:
    """The voxels of the needle's shaft capsule and every cell's distance behind its start.

    Returns (mask, s) with ``s`` in metres along the shaft, measured from
    :func:`shaft_start_mm` back towards the skin.
    """
    diag_m = float(np.linalg.norm(grid.upper_m - np.asarray(grid.origin_m)))
    start = shaft_start_mm(needle) * 1e-3
    end = start - 2 * diag_m * needle.unit_direction
    r = _drawn_radius_m(grid, needle.radius_mm * 1e-3)
    dist, s = _segment_distance_m(grid, start, end)
    return (dist <= r) & (s >= 0.0), s


def rasterise(grid: Grid, electrodes: list[Electrode]) -> ElectrodeMasks:
    """Voxel masks of the electrodes' active and insulated parts."""
    shape = grid.shape
    a = np.zeros(shape, bool)
    b = np.zeros(shape, bool)
    ins = np.zeros(shape, bool)
    grounded = True
    diag_m = float(np.linalg.norm(grid.upper_m - np.asarray(grid.origin_m)))
    for e in electrodes:
        if isinstance(e, Sphere):
            x, y, z = grid.centres_m()
            c = np.asarray(e.centre_mm) * 1e-3
            r2 = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2
            a |= r2 <= (e.radius_mm * 1e-3) ** 2
            continue
        u = e.unit_direction
        tip = np.asarray(e.tip_mm, float) * 1e-3
        r = e.radius_mm * 1e-3
        act = e.active_tip_mm * 1e-3
        if e.bipolar:
            grounded = False
            gap = e.gap_mm * 1e-3
            a |= _capsule(grid, tip - act * u, tip, r)
            b_start = tip - (act + gap) * u
            b |= _capsule(grid, b_start - act * u, b_start, r)
            shaft_end = b_start - act * u
            ins |= _capsule(grid, b_start, tip - act * u, r)
        else:
            a |= _capsule(grid, tip - act * u, tip, r)
            shaft_end = tip - act * u
        # The shaft runs back out of the domain.
        ins |= _capsule(grid, shaft_end - 2 * diag_m * u, shaft_end, r)
    ins &= ~(a | b)
    b &= ~a
    return ElectrodeMasks(a, b, ins, grounded)
