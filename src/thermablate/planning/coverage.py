"""How well the ablation zone covers the lesion: the share of the lesion inside the zone and
the smallest margin of ablated tissue around it.

The margin is what interventional radiologists check on post-ablation imaging: the shortest
distance from the lesion's edge to the zone's edge, negative when part of the lesion is left
out (by how far the farthest untreated lesion tissue lies outside the zone). Both are measured
on the voxel grid, so they carry its resolution (about one voxel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

LESION_TISSUES = ("tumour-lytic", "tumour-sclerotic")
"""The tissues a lesion (tumour or osteoid osteoma nidus) is drawn with."""


@dataclass(frozen=True)
class Coverage:
    lesion_ml: float
    covered_share: float
    """Share of the lesion's volume inside the ablation zone. [-]"""
    smallest_margin_mm: float
    """Shortest distance from the lesion's edge to the zone's edge; negative when part of the
    lesion lies outside the zone. [mm]"""

    def to_dict(self) -> dict:
        return {
            "lesion_ml": round(self.lesion_ml, 3),
            "covered_share": round(self.covered_share, 4),
            "smallest_margin_mm": round(self.smallest_margin_mm, 2),
        }


def lesion_coverage(
    lesion: np.ndarray, zone: np.ndarray, spacing_mm: float, cell_ml: float
) -> Coverage | None:
    """Coverage of the boolean ``lesion`` mask by the boolean ``zone`` mask (same grid), or
    None when the grid holds no lesion."""
    cells = int(lesion.sum())
    if cells == 0:
        return None
    covered = lesion & zone
    share = float(covered.sum()) / cells
    if share < 1.0:
        # Distance of each untreated lesion cell to the nearest zone cell (centre to centre):
        # the farthest one says by how much the zone falls short.
        if zone.any():
            to_zone = ndimage.distance_transform_edt(~zone, sampling=spacing_mm)
            margin = -float(to_zone[lesion & ~zone].max())
        else:
            margin = -float(np.inf)
    else:
        # Distance from each lesion cell to the nearest cell outside the zone, less one voxel
        # (half a voxel to each cell's face).
        to_edge = ndimage.distance_transform_edt(zone, sampling=spacing_mm)
        margin = float(to_edge[lesion].min()) - spacing_mm
    return Coverage(cells * cell_ml, share, margin)


def result_coverage(result) -> Coverage | None:
    """The coverage of a simulation result's lesion by its ablation zone."""
    scenario = result.scenario
    ids = [i for i, t in enumerate(scenario.tissues) if t.name in LESION_TISSUES]
    lesion = np.isin(result.fields["labels"], ids)
    # The electrode sits in the lesion; the tissue it displaces is treated as ablated.
    zone = result.fields["ablated"] | result.fields["electrode"]
    grid = scenario.grid
    return lesion_coverage(lesion, zone, grid.spacing_mm, grid.cell_volume_m3 * 1e6)
