"""Typical adult long-bone dimensions by site: the long-bone model of a lesion outside the
spine is drawn at the size of the bone its record names (``data/long_bone_dimensions.csv``;
its header cites each source with its DOI)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from thermablate.datafiles import keyed_sources, positive_cell, read_data_file

DATA_FILE = "long_bone_dimensions.csv"

# How a bone site is written in a record -> the table's site name.
_SITE_WORDS = {
    "femur": "femur", "femoral": "femur", "tibia": "tibia", "tibial": "tibia",
    "fibula": "fibula", "fibular": "fibula", "humerus": "humerus", "humeral": "humerus",
    "radius": "radius", "radial": "radius", "ulna": "ulna", "ulnar": "ulna",
}  # fmt: skip


@dataclass(frozen=True)
class BoneDimensions:
    site: str
    region: str
    outer_diameter_mm: float
    cortical_thickness_mm: float | None
    source: str

    @property
    def outer_radius_mm(self) -> float:
        return 0.5 * self.outer_diameter_mm

    @property
    def description(self) -> str:
        cortex = (
            f" with a {self.cortical_thickness_mm:g} mm cortex"
            if self.cortical_thickness_mm is not None
            else ""
        )
        return (
            f"typical adult {self.site} {self.region}, {self.outer_diameter_mm:g} mm "
            f"across{cortex} ({self.source})"
        )


@cache
def table() -> tuple[BoneDimensions, ...]:
    meta, rows = read_data_file("thermablate.planning", DATA_FILE)
    sources = keyed_sources(meta)
    found = []
    for row in rows:
        diameter = positive_cell(row.get("outer_diameter_mm"), f"{DATA_FILE}: outer_diameter_mm")
        cortex = positive_cell(
            row.get("cortical_thickness_mm"), f"{DATA_FILE}: cortical_thickness_mm"
        )
        if diameter is None:
            continue  # without its size a row cannot draw a bone
        key = (row.get("source") or "").strip()
        found.append(
            BoneDimensions(
                row["site"].strip(), row["region"].strip(), diameter, cortex,
                sources.get(key, key).split(". ")[0] if key else "",
            )
        )  # fmt: skip
    return tuple(found)


def typical_dimensions(bone_site: str) -> BoneDimensions | None:
    """The table's row for a bone site as a record writes it ("left femoral neck", "tibia"),
    or None when the site is not in the table."""
    words = re.findall(r"[a-z]+", bone_site.lower())
    sites = {_SITE_WORDS[w] for w in words if w in _SITE_WORDS}
    if len(sites) != 1:
        return None
    site = sites.pop()
    rows = [r for r in table() if r.site == site]
    for row in rows:
        if row.region in words:
            return row
    return next((r for r in rows if r.region == "diaphysis"), None)
