"""The voxel grid: plain data, cell-centred, isotropic spacing, SI inside.

Arrays on the grid have shape ``(nx, ny, nz)`` (C order, z fastest). Cell ``(i, j, k)`` has its
centre at ``origin_m + (i + 1/2, j + 1/2, k + 1/2) * spacing_m``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

BYTES_PER_CELL = 320
"""Peak memory per cell of a simulation, measured as the growth of the peak resident set from
125,000 to 1,000,000 cells (294 B), rounded up: the fields of the time loop (two temperature
buffers, maximum temperature, damage, CEM43, Joule heat, face coefficients, per-cell
coefficients), and, during a potential solve, the assembled system, the multigrid levels and
the CG vectors. [B]"""


@dataclass(frozen=True)
class Grid:
    """A box of cubic voxels.

    Parameters
    ----------
    shape : tuple of int
        Number of cells along x, y, z.
    spacing_m : float
        Edge length of a voxel. [m]
    origin_m : tuple of float
        Position of the box's lower corner. [m]
    """

    shape: tuple[int, int, int]
    spacing_m: float
    origin_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def from_extent_mm(cls, extent_mm, spacing_mm: float, origin_mm=None) -> Grid:
        """Grid covering ``extent_mm`` (box size) with its lower corner at ``origin_mm``.

        Without ``origin_mm`` the box is centred on the coordinate origin.
        """
        extent = np.asarray(extent_mm, dtype=float)
        shape = tuple(int(max(1, round(e / spacing_mm))) for e in extent)
        if origin_mm is None:
            origin_mm = -0.5 * np.asarray(shape) * spacing_mm
        origin = tuple(float(o) * 1e-3 for o in origin_mm)
        return cls(shape, spacing_mm * 1e-3, origin)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    @property
    def cell_volume_m3(self) -> float:
        return self.spacing_m**3

    @property
    def spacing_mm(self) -> float:
        return self.spacing_m * 1e3

    @property
    def upper_m(self) -> np.ndarray:
        return np.asarray(self.origin_m) + np.asarray(self.shape) * self.spacing_m

    def axes_m(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell-centre coordinates along each axis. [m]"""
        return tuple(
            self.origin_m[a] + (np.arange(self.shape[a]) + 0.5) * self.spacing_m for a in range(3)
        )

    def centres_m(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable cell-centre coordinate arrays ``(x, y, z)``. [m]"""
        x, y, z = self.axes_m()
        return x[:, None, None], y[None, :, None], z[None, None, :]

    def contains_m(self, point_m) -> bool:
        p = np.asarray(point_m, dtype=float)
        return bool(np.all(p >= np.asarray(self.origin_m)) and np.all(p <= self.upper_m))

    def index_of_m(self, point_m) -> tuple[int, int, int]:
        """Index of the cell containing ``point_m`` (clipped to the grid)."""
        p = (np.asarray(point_m, dtype=float) - np.asarray(self.origin_m)) / self.spacing_m
        idx = np.clip(np.floor(p).astype(int), 0, np.asarray(self.shape) - 1)
        return tuple(int(i) for i in idx)

    def estimated_memory_bytes(self) -> int:
        return self.n_cells * BYTES_PER_CELL


def available_memory_bytes() -> int:
    """Memory the operating system reports as available (Linux), else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3


def trilinear_weights(grid: Grid, point_m, shape=None):
    """Cells and weights of the trilinear interpolation at ``point_m`` (clamped at edges).

    Returns ``(index, weights)``: ``index`` a tuple of three integer arrays of 8 cells for
    fancy indexing, so that ``weights @ field[index]`` is the interpolated value. Computed once
    per probe, so sampling during a run is one small gather.
    """
    p = (np.asarray(point_m, dtype=float) - np.asarray(grid.origin_m)) / grid.spacing_m - 0.5
    shape = np.asarray(grid.shape if shape is None else shape)
    p = np.clip(p, 0.0, shape - 1.0)
    i0 = np.minimum(np.floor(p).astype(int), np.maximum(shape - 2, 0))
    f = p - i0
    cells, weights = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                cells.append(np.minimum(i0 + (dx, dy, dz), shape - 1))
                weights.append(
                    (f[0] if dx else 1 - f[0])
                    * (f[1] if dy else 1 - f[1])
                    * (f[2] if dz else 1 - f[2])
                )
    return tuple(np.array(cells).T), np.array(weights)


def trilinear(grid: Grid, field: np.ndarray, point_m) -> float:
    """Trilinear interpolation of a cell-centred ``field`` at ``point_m`` (clamped at edges)."""
    index, weights = trilinear_weights(grid, point_m, field.shape)
    return float(weights @ field[index])
