"""Tissue interfaces inside the cells: face conductances from the exact shapes.

A label volume puts each cell wholly in one tissue, so an interface between tissues is known
only to within half a cell, and a layer thinner than a cell (the dura, a cortical shell) is
drawn a whole cell thick or not at all. On each face the finite-volume operators then take
the harmonic mean of the two cells' conductivities: exact for a flat interface half-way
between the centres, wrong by up to half a cell of misplaced material otherwise. The field
beside the canal therefore moved with how the grid happened to align with the anatomy
(issue 13: the lumbar preset's epidural peak moved 1.3 K between alignments of a 0.75 mm grid,
0.3 K once every tissue was given the same thermal and electrical conductivity, and 0.03 K
with every property the same, docs/thermal-engine.md).

Where the scenario has the exact shapes its labels were drawn from (a preset's anatomy), each
face near an interface is given the conductance of what actually lies between its two cell
centres: the tissue is read from the exact shapes at :data:`SAMPLES` + 1 points along the
segment, each change of tissue between two of them is located by bisection, and the face's
resistance is ``int ds / k(s)`` over the segment so described (exact for an interface across
the face; one running obliquely through the cells is what remains). The half of the segment
in each cell is kept apart, so that the electrical
conductivity, which each cell scales by its own temperature and water (``electric``), scales
its own half: ``1 / g = (R_lo / f_lo + R_hi / f_hi) / h`` with ``R`` the half's resistance at
the tissues' reference conductivities and ``f`` the cell's factor. The heat equation's faces
use the same halves with the thermal conductivities (its k(T) factor is per face).

A previous measurement on the exact two-material sphere (tests/physics/test_convergence.py)
found the error beside a voxelised interface falling at first order, and at second order with
the face conductance weighted by where the sphere cuts the segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermablate.physics.grid import Grid
from thermablate.physics.true_surface import ExactLabels

SAMPLES = 8
"""Each face's segment is sampled at ``j / SAMPLES``, ``j = 0 ... SAMPLES`` (an even number,
so the face itself is a sample): a layer thicker than ``h / SAMPLES`` is seen, and each change
of tissue between two samples is then located by bisection. [-]"""


@dataclass(frozen=True)
class InterfaceFaces:
    """The faces near a tissue interface whose segment does not hold what the two cells'
    labels say, with the tissue of each piece of the segment.

    Face ``f`` joins cell ``lower[f]`` and the next cell along ``axis[f]``. Its segment, from
    the lower cell's centre (0) to the upper one's (1), holds tissue ``tissues[f, j]`` from
    ``edges[f, j]`` to ``edges[f, j + 1]``: the tissue the exact shapes put at ``j / SAMPLES``,
    out to where they change tissue (located by bisection).
    """

    axis: np.ndarray
    lower: np.ndarray
    tissues: np.ndarray
    edges: np.ndarray

    @property
    def n_faces(self) -> int:
        return len(self.axis)

    def half_resistances(self, property_by_label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each face's two halves' resistance, ``int ds / p`` over each half of the segment
        (in units of its length), for a property ``p`` by tissue label (a half all of one
        tissue gives ``0.5 / p``); a tissue with ``p = 0`` makes its half infinite.
        [1/(unit of p)]"""
        with np.errstate(divide="ignore"):
            inverse = np.where(property_by_label > 0, 1.0 / property_by_label, np.inf)
        start, end = self.edges[:, :-1], self.edges[:, 1:]
        in_lower = np.clip(np.minimum(end, 0.5) - start, 0.0, None)
        in_upper = np.clip(end - np.maximum(start, 0.5), 0.0, None)
        pieces = inverse[self.tissues]
        with np.errstate(invalid="ignore"):  # inf x 0: a tissue with p = 0 outside the half
            lower = np.where(in_lower > 0, pieces * in_lower, 0.0).sum(axis=1)
            upper = np.where(in_upper > 0, pieces * in_upper, 0.0).sum(axis=1)
        return lower, upper

    def peaks_along(self, label: int, fields: list[np.ndarray],
                    conductivity_by_label: np.ndarray) -> list[float]:  # fmt: skip
        """The largest value of each cell-centred field on the pieces of tissue ``label`` along
        these faces' segments, the field between the two centres following the heat flux:
        linear in the thermal resistance ``int ds / k`` from the lower centre, as the face's
        conductance assumes (a flux ``q`` along the segment drops ``q ds / k`` over each piece).

        Interpolated linearly in distance instead, the field bends at the interface the wrong
        way whenever the tissues conduct differently: where heat flows from a better conductor
        into a worse one (cortical bone, 0.32 W/(m K), into epidural fat, 0.21), the worse
        one's edge is hotter than the straight line between the centres says, and its peak is
        read low (by 0.27 K for the lumbar preset's epidural space at 0.5 mm). Each piece is
        linear in ``s``, so its largest value is at one of its two ends. The same weights are
        applied to the dose (positive weights of the two cells' values); like the straight
        line of the exact-shape read, they can read a dose a few per cent under the dose of
        the interpolated temperature where the two cells straddle 43 °C, whose rate bends
        there. -inf where no piece is of the tissue. [unit of each field]"""
        own = self.tissues == label
        if not own.any():
            return [-np.inf] * len(fields)
        faces = np.nonzero(own.any(axis=1))[0]
        own = own[faces]
        widths = np.diff(self.edges[faces], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # k = 0: refused by the tissues
            resistance = widths / conductivity_by_label[self.tissues[faces]]
        to_edge = np.concatenate([np.zeros((len(faces), 1)), np.cumsum(resistance, axis=1)], 1)
        weight = to_edge / to_edge[:, -1:]  # 0 at the lower centre, 1 at the upper one
        lower = tuple(self.lower[faces].T)
        upper = tuple((self.lower[faces] + np.eye(3, dtype=np.intp)[self.axis[faces]]).T)
        peaks = []
        for field in fields:
            low, high = field[lower][:, None], field[upper][:, None]
            at_edges = low + (high - low) * weight
            ends = np.maximum(at_edges[:, :-1], at_edges[:, 1:])
            values = ends[own]
            peaks.append(float(np.nan) if not np.all(np.isfinite(values)) else float(values.max()))
        return peaks

    def for_property(self, property_by_label: np.ndarray, labels: np.ndarray
                     ) -> InterfaceConductances:  # fmt: skip
        """The faces' conductances for one property by tissue label (``labels`` gives each
        cell's own tissue, whose value is its reference)."""
        r_lower, r_upper = self.half_resistances(property_by_label)
        lower = tuple(self.lower.T)
        upper = tuple((self.lower + np.eye(3, dtype=np.intp)[self.axis]).T)
        return InterfaceConductances(
            self.axis, lower, upper, r_lower, r_upper,
            property_by_label[labels[lower]], property_by_label[labels[upper]],
        )  # fmt: skip


@dataclass(frozen=True)
class InterfaceConductances:
    """The interface faces for one property (a conductivity): their two cells, the two halves'
    resistances at the tissues' reference values, and the two cells' own reference values, so
    that a cell whose coefficient has moved from its reference (the electrical conductivity
    with temperature and water) scales its half by the same factor."""

    axis: np.ndarray
    lower: tuple[np.ndarray, np.ndarray, np.ndarray]
    upper: tuple[np.ndarray, np.ndarray, np.ndarray]
    r_lower: np.ndarray
    r_upper: np.ndarray
    reference_lower: np.ndarray
    reference_upper: np.ndarray

    def conductance(self, coefficient: np.ndarray, spacing_m: float) -> np.ndarray:
        """Each face's conductance ``h / (R_lo / f_lo + R_hi / f_hi)`` for the cells'
        ``coefficient``, with ``f`` a cell's coefficient over its reference value (0 where a
        cell conducts nothing). [coefficient x m]"""
        with np.errstate(divide="ignore", invalid="ignore"):
            f_lo = coefficient[self.lower] / self.reference_lower
            f_hi = coefficient[self.upper] / self.reference_upper
            resistance = self.r_lower / f_lo + self.r_upper / f_hi
            g = spacing_m / resistance
        return np.where(np.isfinite(g) & (f_lo > 0) & (f_hi > 0), g, 0.0)

    def apply(self, faces: tuple[np.ndarray, ...], diag: np.ndarray, coefficient: np.ndarray,
              spacing_m: float) -> None:  # fmt: skip
        """Replace the harmonic-mean conductances of these faces (owned layout, in place) and
        move the two cells' diagonal by the change. Faces the assembly left at 0 (a cell that
        conducts nothing) stay 0."""
        for on, change in self.set_faces(faces, self.conductance(coefficient, spacing_m)):
            np.add.at(diag, tuple(c[on] for c in self.lower), change)
            np.add.at(diag, tuple(c[on] for c in self.upper), change)

    def set_faces(self, faces: tuple[np.ndarray, ...], values: np.ndarray):
        """Write ``values`` to these faces in the owned layout (``gx[i]`` couples cells
        ``i - 1`` and ``i``, so a face is stored at its upper cell), leaving faces at 0 at 0;
        yields, per axis, which of the faces it wrote and how much each changed."""
        for a in range(3):
            on = self.axis == a
            index = tuple(c[on] for c in self.upper)
            old = faces[a][index]
            faces[a][index] = np.where(old != 0.0, values[on], 0.0)
            yield on, faces[a][index] - old


def interface_faces(
    grid: Grid, labels: np.ndarray, exact_labels_at: ExactLabels, excluded: np.ndarray
) -> InterfaceFaces:
    """The faces between two cells, neither ``excluded`` (the electrodes' metal), within a
    cell of a change of tissue, whose segment's pieces are not the two cells' own tissues half
    and half."""
    # A layer drawn thicker than it is lies in the cells of a drawn change (the presets draw
    # every layer at least a cell thick).
    near = cells_at_a_change(labels) & ~excluded
    origin_mm = np.asarray(grid.origin_m) * 1e3
    h = grid.spacing_mm
    along = np.arange(SAMPLES + 1) / SAMPLES  # both centres and the points between
    half = SAMPLES // 2
    axes, lowers, tissues, edges = [], [], [], []
    for axis in range(3):
        lo, hi = _pairs_along(axis)
        candidate = (near[lo] | near[hi]) & ~excluded[lo] & ~excluded[hi]
        lower = np.argwhere(candidate)
        if not len(lower):
            continue
        centres = origin_mm + (lower + 0.5) * h
        points = np.repeat(centres[:, None, :], SAMPLES + 1, axis=1)
        points[:, :, axis] += along[None, :] * h
        flat = points.reshape(-1, 3)
        found = np.asarray(exact_labels_at(flat[:, 0], flat[:, 1], flat[:, 2]), np.uint8)
        found = found.reshape(len(lower), SAMPLES + 1)
        drawn_lower = labels[tuple(lower.T)]
        drawn_upper = labels[tuple((lower + np.eye(3, dtype=np.intp)[axis]).T)]
        # Every face between two drawn tissues (its interface need not be half-way), and
        # every one whose segment holds other than its cells' tissues, half and half.
        keep = (
            (drawn_lower != drawn_upper)
            | (found[:, :half] != drawn_lower[:, None]).any(axis=1)
            | (found[:, half + 1 :] != drawn_upper[:, None]).any(axis=1)
            | ((found[:, half] != drawn_lower) & (found[:, half] != drawn_upper))
        )
        axes.append(np.full(int(keep.sum()), axis, np.intp))
        lowers.append(lower[keep])
        tissues.append(found[keep])
        edges.append(_edges(centres[keep], axis, h, found[keep], exact_labels_at))
    if not axes:
        return InterfaceFaces(np.zeros(0, np.intp), np.zeros((0, 3), np.intp),
                              np.zeros((0, SAMPLES + 1), np.uint8),
                              np.zeros((0, SAMPLES + 2)))  # fmt: skip
    return InterfaceFaces(
        np.concatenate(axes), np.concatenate(lowers), np.concatenate(tissues),
        np.concatenate(edges),
    )  # fmt: skip


def cells_at_a_change(labels: np.ndarray) -> np.ndarray:
    """The cells with a face neighbour of another drawn tissue. [bool]"""
    changes = np.zeros(labels.shape, bool)
    for axis in range(3):
        differ = np.diff(labels, axis=axis) != 0
        lo, hi = _pairs_along(axis)
        changes[lo] |= differ
        changes[hi] |= differ
    return changes


def _pairs_along(axis: int) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Index of the lower and of the upper cell of every pair of neighbours along ``axis``."""
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(0, -1)
    hi[axis] = slice(1, None)
    return tuple(lo), tuple(hi)


BISECTIONS = 30
"""Bisection steps locating a change of tissue between two sample points (to 2^-30 of the
distance between them). [-]"""


def _edges(centres_mm, axis, h_mm, tissues, exact_labels_at) -> np.ndarray:
    """Where each sample's tissue begins and ends along the segment (0 to 1). The samples are
    at ``j / SAMPLES`` (both cell centres included); sample ``j``'s tissue holds from the
    change before it to the change after it, each change found by bisection between the two
    samples it separates (between two samples of one tissue, half-way: any point will do)."""
    n = len(tissues)
    along = np.arange(SAMPLES + 1) / SAMPLES
    edges = np.empty((n, SAMPLES + 2))
    edges[:, 0], edges[:, -1] = 0.0, 1.0
    edges[:, 1:-1] = 0.5 * (along[:-1] + along[1:])
    face, sample = np.nonzero(tissues[:, :-1] != tissues[:, 1:])
    if not len(face):
        return edges
    left = tissues[face, sample]
    low, high = along[sample].copy(), along[sample + 1].copy()
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        points = centres_mm[face].copy()
        points[:, axis] += middle * h_mm
        stays = np.asarray(exact_labels_at(points[:, 0], points[:, 1], points[:, 2])) == left
        low = np.where(stays, middle, low)
        high = np.where(stays, high, middle)
    edges[face, sample + 1] = 0.5 * (low + high)
    return edges


def apply_thermal(faces: tuple[np.ndarray, ...], conductances: InterfaceConductances,
                  conductivity: np.ndarray, spacing_m: float) -> None:  # fmt: skip
    """Give the heat operator's faces (``G/h^3`` per unit volume, owned layout, modified in
    place) the conductance of what lies between the centres, ``1 / (h^2 (R_lo + R_hi))``,
    for the cells' thermal ``conductivity`` (its k(T) factor is applied per face by the
    kernel). Faces already at 0 stay 0."""
    per_volume = conductances.conductance(conductivity, spacing_m) / spacing_m**3
    for _ in conductances.set_faces(faces, per_volume):
        pass
