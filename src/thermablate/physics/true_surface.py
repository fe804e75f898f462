"""A tissue's peak read over its exact shape, not over its voxels.

A label volume drawn from exact shapes (the presets' anatomy) puts each voxel in the tissue
its centre lies in, so a structure's hottest voxel can sit up to half a voxel behind the
structure's true hot edge, or in front of it where a layer is drawn thicker than it is (the
dura, at least one voxel thick). Read over voxels, a neural structure's peak therefore moves
by up to half a voxel of its temperature gradient, several kelvin per millimetre beside the
canal, depending only on how the grid lines up with the structure (issue 13: the lumbar
preset's epidural peak moved 1.1 K between 0.5 and 0.75 mm, first order and not monotone).

Here the peak is the maximum of the cell-centred field, interpolated trilinearly, over the
points the exact shapes put in the tissue. The maximum is found by branch and bound on boxes
of the dual grid (the boxes between eight neighbouring cell centres): inside one such box the
interpolant is multilinear, so its maximum over any axis-aligned sub-box is at one of the
sub-box's corners. A box whose largest corner value lies in the tissue is therefore settled
exactly; a box whose largest corner is outside the tissue, and could still beat the best
value found, is cut into eight; boxes that cannot beat it are dropped. The cutting stops at
:data:`SMALLEST_BOX` of a cell, where what is left unsettled is bounded by the field's
change over that box (a few hundredths of a kelvin beside the canal at 0.5 mm). A box with
none of its corners in the tissue is dropped once it is no larger than
:data:`THINNEST_LAYER_MM`: a smooth surface can bulge into it by a sliver only, whose values
its neighbours bound to the field's change over the sliver.

Both fields are interpolated linearly. The interpolated maximum of a field of peaks over time
(the largest temperature each cell reached) is at least the peak over time of the interpolated
field, since the weights are positive: in time, the temperature errs on the hot side. In space
it does not everywhere: across a change of thermal conductivity the field bends, and where
heat flows from a better conductor into a worse one the straight line between two cell centres
passes below the worse one's hot edge (the epidural space against the posterior cortex: 0.27 K
low at 0.5 mm). The results therefore also read each neural structure along the segments of
the faces at its interfaces, following the heat flux (``InterfaceFaces.peaks_along``), and
keep the larger of the two. The dose grows exponentially with the temperature, so between a
cool cell and a hot one its linear interpolant overstates it (by about twice at the lumbar
preset's dura at 0.5 mm). Its
logarithm would be closer, but would understate it where the interval straddles 43 °C, where
the dose's rate changes from a factor of 4 per kelvin to 2 (a 40 °C and a 44 °C cell: 0.88 min
half-way, where 42 °C for the same 5 minutes gives 1.25 min, over the 1 min threshold); a
safety verdict must not rest on a read that can be low.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from thermablate.physics.grid import Grid

SMALLEST_BOX = 1.0 / 64.0
"""Edge of the smallest box the search cuts, as a fraction of the cell. [-]"""

THINNEST_LAYER_MM = 0.2
"""The thinnest layer of tissue the search is sure to find: a box with none of its corners in
the tissue is cut only while it is larger than this (the dura, the thinnest layer the presets
draw, is 0.3-0.5 mm; planning.anatomy). [mm]"""

ExactLabels = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""Labels of the exact anatomy at points given as x, y, z arrays in millimetres."""

_CORNERS = np.array([(i, j, k) for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)


def exact_labels_on_grid(grid: Grid, exact_labels_at: ExactLabels) -> np.ndarray:
    """The exact anatomy's label at every cell centre."""
    x, y, z = (c * 1e3 for c in grid.centres_m())
    return np.ascontiguousarray(np.broadcast_to(exact_labels_at(x, y, z), grid.shape))


def peaks_over_exact_shape(
    grid: Grid,
    label: int,
    fields: list[np.ndarray],
    exact_labels_at: ExactLabels,
    exact_on_grid: np.ndarray,
    near: np.ndarray,
    excluded: np.ndarray,
) -> list[float]:
    """The largest value of each field over the points of tissue ``label`` in the exact shapes.

    Parameters
    ----------
    grid : Grid
    label : int
        The tissue's label value.
    fields : list of ndarray
        Cell-centred fields on ``grid`` (peak temperature [°C], thermal dose [min]).
    exact_labels_at : callable
        Labels of the exact shapes at points (x, y, z in mm).
    exact_on_grid : ndarray
        ``exact_labels_at`` at the cell centres (:func:`exact_labels_on_grid`).
    near : ndarray of bool
        Cells where the tissue may lie: those labelled with it, in the label volume or the
        exact shapes (the search looks one cell around them).
    excluded : ndarray of bool
        Cells that are not tissue whatever the shapes say (the electrodes' metal).

    Returns
    -------
    list of float
        One peak per field; -inf where the exact shapes put no point of the tissue.
    """
    inside = (exact_on_grid == label) & ~excluded
    # Dual box (i, j, k) spans the cell centres i..i+1, j..j+1, k..k+1; it may hold tissue if
    # one of its corner cells is near the tissue.
    near = ndimage.binary_dilation(near, iterations=1)
    dual = near[:-1, :-1, :-1].copy()
    for di, dj, dk in _CORNERS.astype(int)[1:]:
        dual |= near[di : di + near.shape[0] - 1, dj : dj + near.shape[1] - 1,
                     dk : dk + near.shape[2] - 1]  # fmt: skip
    boxes = np.argwhere(dual)
    return [
        _peak(
            grid,
            label,
            field,
            float(field[inside].max()) if inside.any() else -np.inf,
            boxes,
            exact_labels_at,
            excluded,
        )  # fmt: skip
        for field in fields
    ]


def _peak(grid, label, field, best, boxes, exact_labels_at, excluded) -> float:
    corners_of_dual = np.stack(
        [
            field[boxes[:, 0] + i, boxes[:, 1] + j, boxes[:, 2] + k]
            for i, j, k in _CORNERS.astype(int)
        ],
        axis=1,  # fmt: skip
    )
    if not (math.isfinite(best) or best == -math.inf) or not np.isfinite(corners_of_dual).all():
        return math.nan  # a value that is not finite in or beside the tissue: not read around
    keep = corners_of_dual.max(axis=1) > best
    cells, values = boxes[keep], corners_of_dual[keep]  # the dual box's 8 corner values
    low = np.zeros((len(cells), 3))  # the sub-box's lower corner in the dual box, [0, 1)
    size = 1.0
    while len(cells):
        local = low[:, None, :] + size * _CORNERS[None, :, :]  # (n, 8 corners, 3)
        corner_values = _multilinear(values, local)
        points = cells[:, None, :] + local  # in cell-centre index units
        in_tissue = _in_tissue(grid, label, points, exact_labels_at, excluded)
        best = max(best, float(np.where(in_tissue, corner_values, -np.inf).max(initial=-np.inf)))
        # A box whose largest corner is in the tissue has just given its maximum to ``best``;
        # one whose largest corner is outside may hold a larger value inside, near that corner.
        # A box with no corner in the tissue holds none of it once it is smaller than the
        # thinnest layer (a smooth surface cuts off at most a sliver of it, whose values its
        # neighbours with corners inside bound to the field's change over the sliver).
        open_ = (corner_values.max(axis=1) > best) & (
            in_tissue.any(axis=1) | (size * grid.spacing_mm > THINNEST_LAYER_MM)
        )
        if size / 2 < SMALLEST_BOX or not open_.any():
            break
        size /= 2
        cells, values, low = cells[open_], values[open_], low[open_]
        cells = np.repeat(cells, 8, axis=0)
        values = np.repeat(values, 8, axis=0)
        low = np.repeat(low, 8, axis=0) + size * np.tile(_CORNERS, (len(low), 1))
    return best


def _multilinear(values: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Interpolate each dual box's 8 corner values (n, 8) at local points (n, m, 3) in [0, 1]."""
    fx, fy, fz = local[..., 0], local[..., 1], local[..., 2]
    out = np.zeros(local.shape[:2])
    for c, (i, j, k) in enumerate(_CORNERS.astype(int)):
        weight = (fx if i else 1 - fx) * (fy if j else 1 - fy) * (fz if k else 1 - fz)
        out += weight * values[:, c : c + 1]
    return out


def _in_tissue(grid, label, points, exact_labels_at, excluded) -> np.ndarray:
    """Which points (in cell-centre index units, any shape (..., 3)) the exact shapes put in
    the tissue, outside the excluded cells."""
    flat = points.reshape(-1, 3)
    mm = np.asarray(grid.origin_m) * 1e3 + (flat + 0.5) * grid.spacing_mm
    labels = np.asarray(exact_labels_at(mm[:, 0], mm[:, 1], mm[:, 2]))
    cell = np.clip(np.rint(flat).astype(int), 0, np.asarray(grid.shape) - 1)
    ok = (labels == label) & ~excluded[cell[:, 0], cell[:, 1], cell[:, 2]]
    return ok.reshape(points.shape[:-1])
