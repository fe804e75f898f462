"""Tissue fractions inside the cells: heat capacity, perfusion and water by volume.

A label volume gives each cell the heat capacity, perfusion and water of the one tissue its
centre lies in. Beside an interface that misplaces up to half a cell of material: a cell whose
centre is just inside a 1.5 mm layer of epidural fat holds the fat's heat capacity (52 % of
the CSF's, :mod:`thermablate.physics.tissues`) while most of its volume is CSF, and the
layer stores heat as if it were shifted by up to half a cell, differently at every alignment of
the grid. :mod:`physics.interfaces` gives the faces near an interface the conductance of what
lies between their centres; this module gives the cells near one the capacities of what lies
inside them, so that both halves of the finite-volume balance (what a cell stores, what its
faces carry) follow the exact shapes, not the drawn labels.

Each cell within a face of a change of drawn tissue (the cells
:func:`physics.interfaces.cells_at_a_change` marks; every layer is drawn at least a cell thick,
so a layer inside a cell is seen there; a cell whose only other tissue lies across an edge or
a corner is not, a few cells in a thousand of a sphere's surface) is sampled at
:data:`SAMPLES_PER_CELL` points of a rank-1 lattice, not of an even 4 x 4 x 4 subdivision: the
subdivision rounds every cell's share of a plane along a grid axis (the vertebral end plates,
the discs) to quarters, the same way in every cell of the plane, which puts the whole plane
up to an eighth of a cell off, where the faces' conductances place it exactly. The lattice's
points are about as evenly spread in the cell (nearest neighbours 0.2475 of a cell apart,
0.25 in the subdivision) but have 64 distinct coordinates along each axis, so such a plane
is placed to 1/128 of a cell. Each cell's lattice is shifted by its own pseudo-random offset
(a Cranley-Patterson rotation, seeded, so a run is repeatable): a plane at another angle
cuts every cell's unshifted lattice the same way, and its share came out off by up to 0.16
the same way in every cell; shifted, the cells' errors have no common sign and the plane's
total averages out (tests/physics/test_volume_fractions.py). A cell's volumetric property is
then the mean of its tissues' weighted by their fractions: exact for the heat capacity, the
latent heat of the water and the dry heat capacity, which are extensive (heat per volume,
added over the volume), and for the Pennes perfusion sink, which is a blood flow per volume
of tissue.

The electrodes' metal keeps its drawn properties (the needle is modelled apart,
:mod:`physics.needle`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thermablate.physics.grid import Grid
from thermablate.physics.interfaces import cells_at_a_change
from thermablate.physics.true_surface import ExactLabels

SAMPLES_PER_CELL = 64
"""Sample points per cell. [-]"""

LATTICE_GENERATOR = (1, 5, 19)
"""The rank-1 lattice's generating vector: point ``n`` is at ``(n g / N + u) mod 1`` of the
cell along each axis, ``N = SAMPLES_PER_CELL`` and ``u`` the cell's own shift. Chosen by
search among odd generators for the largest distance between nearest points (0.2475 of a
cell; an even subdivision has 0.25) and every axis's coordinates distinct. [-]"""

SHIFT_SEED = 20261208
"""Seed of the cells' lattice shifts: the same scenario gives the same fractions. [-]"""

CHUNK_CELLS = 16_384
"""Cells sampled at once (bounds the memory of the sample points to a few tens of MB). [-]"""


@dataclass(frozen=True)
class TissueFractions:
    """The cells whose volume the exact shapes share between tissues.

    ``cells[n]`` is a cell's index; ``fractions[n, m]`` the share of its volume in tissue
    ``m`` (each row sums to 1). Cells not listed are wholly their drawn tissue."""

    cells: np.ndarray
    fractions: np.ndarray

    def __len__(self) -> int:
        return len(self.cells)

    def per_cell(self, property_by_label: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """A volumetric property of every cell: its drawn tissue's value, or for the cells
        listed the mean of their tissues' values weighted by volume. [unit of the property]"""
        table = np.asarray(property_by_label, float)
        values = table[labels]
        if len(self.cells):
            values[tuple(self.cells.T)] = self.fractions @ table[: self.fractions.shape[1]]
        return values


def tissue_fractions(grid: Grid, labels: np.ndarray, exact_labels_at: ExactLabels,
                     excluded: np.ndarray, n_tissues: int) -> TissueFractions:  # fmt: skip
    """The fractions of tissue in each cell beside a change of drawn tissue, not ``excluded``
    (the electrodes' metal), whose samples do not all lie in its drawn tissue."""
    candidates = np.argwhere(cells_at_a_change(labels) & ~excluded)
    h = grid.spacing_mm
    origin_mm = np.asarray(grid.origin_m) * 1e3
    n = np.arange(SAMPLES_PER_CELL)[:, None]
    lattice = (n * np.asarray(LATTICE_GENERATOR)) % SAMPLES_PER_CELL / SAMPLES_PER_CELL
    shifts = np.random.default_rng(SHIFT_SEED).random((len(candidates), 3))
    kept_cells, kept_fractions = [], []
    for start in range(0, len(candidates), CHUNK_CELLS):
        cells = candidates[start : start + CHUNK_CELLS]
        shift = shifts[start : start + CHUNK_CELLS]
        offsets = ((lattice[None, :, :] + shift[:, None, :]) % 1.0 - 0.5) * h
        points = (origin_mm + (cells + 0.5) * h)[:, None, :] + offsets
        flat = points.reshape(-1, 3)
        found = np.asarray(exact_labels_at(flat[:, 0], flat[:, 1], flat[:, 2]), np.intp)
        found = found.reshape(len(cells), SAMPLES_PER_CELL)
        mixed = (found != labels[tuple(cells.T)][:, None]).any(axis=1)
        if not mixed.any():
            continue
        found = found[mixed]
        if found.max() >= n_tissues:
            raise ValueError("the exact shapes name a tissue the scenario does not have")
        fractions = np.zeros((len(found), n_tissues))
        rows = np.repeat(np.arange(len(found)), found.shape[1])
        np.add.at(fractions, (rows, found.ravel()), 1.0 / found.shape[1])
        kept_cells.append(cells[mixed])
        kept_fractions.append(fractions)
    if not kept_cells:
        return TissueFractions(np.zeros((0, 3), np.intp), np.zeros((0, n_tissues)))
    return TissueFractions(np.concatenate(kept_cells), np.concatenate(kept_fractions))
