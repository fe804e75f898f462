"""Vertebral and spinal-cord dimensions by level: the versioned table the vertebra model is
scaled from (``data/vertebral_morphometry.csv``; its header cites each source with its DOI).

:func:`level_dimensions` gives the parameters of :class:`~thermablate.planning.anatomy.Vertebra`
for a level; :func:`cannot_model_reason` says why a level is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from thermablate.datafiles import positive_cell, read_data_file

DATA_FILE = "vertebral_morphometry.csv"

THORACIC = tuple(f"T{n}" for n in range(1, 13))
LUMBAR = tuple(f"L{n}" for n in range(1, 6))
MODELLED_LEVELS = THORACIC + LUMBAR
"""Levels the vertebra model draws. The cervical spine is not among them: there the canal is
wider than the vertebral body, the pedicles run into the lateral mass beside the transverse
foramen, and the vertebral artery, which an ablation there must spare, is not in the model."""

# Table column -> Vertebra parameter.
_PARAMETERS = {
    "body_width_mm": "body_width_mm",
    "body_depth_mm": "body_depth_mm",
    "body_height_mm": "body_height_mm",
    "disc_height_mm": "disc_height_mm",
    "canal_width_mm": "canal_width_mm",
    "canal_depth_mm": "canal_depth_mm",
    "pedicle_width_mm": "pedicle_diameter_mm",
    "cord_width_mm": "cord_diameter_mm",
    "cord_depth_mm": "cord_depth_mm",
}


@dataclass(frozen=True)
class MorphometryTable:
    name: str
    version: str
    rows: dict[str, dict[str, float]]
    sources: tuple[str, ...]


@cache
def table() -> MorphometryTable:
    meta, rows = read_data_file("thermablate.planning", DATA_FILE)
    levels = {}
    for row in rows:
        values = {}
        for column, parameter in _PARAMETERS.items():
            value = positive_cell(row.get(column), f"{DATA_FILE}: {column}")
            if value is not None:
                values[parameter] = value
        levels[row["level"].strip()] = values
    return MorphometryTable(
        (meta.get("name") or [""])[0],
        (meta.get("version") or [""])[0],
        levels,
        tuple(meta.get("source", [])),
    )


BONE_DIMENSIONS = ("body_width_mm", "body_depth_mm", "body_height_mm", "canal_width_mm",
                   "canal_depth_mm", "pedicle_diameter_mm")  # fmt: skip
"""The dimensions a level needs from the table before the model can be scaled to it."""


def missing_dimensions(level: str) -> list[str]:
    row = table().rows.get(level, {})
    return [name for name in BONE_DIMENSIONS if name not in row]


def cannot_model_reason(level: str) -> str:
    """Why the vertebra model cannot draw ``level``, or "" when it can.

    A lumbar level the table does not fill is drawn with the model's round lumbar figures
    (Zhou et al. 2000, see ``planning.anatomy``), and :func:`level_dimensions` says so; a
    thoracic level needs its own: the thoracic vertebrae are smaller, and the canal and
    pedicles narrower, than any lumbar stand-in would draw them."""
    if level in LUMBAR:
        return ""
    if level in THORACIC:
        missing = missing_dimensions(level)
        if missing:
            shown = ", ".join(name.removesuffix("_mm").replace("_", " ") for name in missing)
            return (
                f"the morphometry table (version {table().version}) has no {shown} for {level} "
                "yet, and a lumbar stand-in would draw the canal and pedicles too wide"
            )
        return ""
    if level.startswith("C"):
        return (
            "the cervical spine is not modelled: its canal is wider than the vertebral body, the "
            "pedicles run beside the transverse foramen, and the vertebral artery an ablation "
            "there must spare is not in the model"
        )
    if level.startswith("S"):
        return "the sacrum is not modelled: the vertebra model is of a thoracic or lumbar vertebra"
    return f"{level} is not a spinal level the model knows"


def level_dimensions(level: str) -> dict[str, float]:
    """The vertebra parameters for ``level`` (mm) from the table; ValueError if the level is
    not modelled. A lumbar level's missing bone dimensions are left to the model's defaults
    (see :func:`stand_in_dimensions`)."""
    reason = cannot_model_reason(level)
    if reason:
        raise ValueError(reason)
    return dict(table().rows.get(level, {}))


def stand_in_dimensions(level: str) -> list[str]:
    """The bone dimensions of ``level`` drawn with the model's round lumbar figures because
    the table has none (empty for a fully tabulated level)."""
    return missing_dimensions(level) if level in LUMBAR else []
