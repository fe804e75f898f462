"""Grid convergence of a result: the same scenario on a coarser grid, Richardson-style.

A result on a voxel grid depends on the voxel size: tissue layers are drawn in whole voxels
(the electrode is not: its true surface is in the heat equation and, by default since issue
13, in the potential), so the error falls only about linearly with the spacing, and not
steadily (issue 13 found the lumbar preset's 1 mm zone about 23 % smaller than at 0.33 mm with
the voxelised electrode; the field near a voxelised layer moves with how the grid aligns with
it, by about 1 K in the lumbar preset's epidural space between alignments of a 0.75 mm grid,
docs/thermal-engine.md; a preset's neural peaks are read over its exact shapes,
``physics/true_surface.py``, so the read itself no longer adds up to a voxel of the
gradient). Every plan therefore carries an
estimate of that error: the scenario is run again at ``COARSENING`` times the spacing (about a
seventh of the work), and the difference between the two answers, scaled as Richardson
extrapolation scales it for a method of order ``ASSUMED_ORDER``, estimates the error of the
finer one:

    error(h) ~ |Q(h) - Q(c h)| / (c**p - 1)

With p = 1 and c = 1.5 that is twice the difference: deliberately cautious, since two grids
cannot measure the order, and the order observed for voxelised layers and electrodes is about
1. The
estimate is compared with stated tolerances; a result that exceeds one carries a warning,
and a neural structure whose peak is within its error of the 45 °C threshold cannot be judged
"below thresholds" (see :func:`thermablate.planning.safety.neural_safety`).

Scenarios built from a segmented label volume are not re-run: their grid is the image's, and
resampling a segmentation is a choice this module should not make silently; their estimate is
reported as not available.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

from thermablate.physics.engine import simulate
from thermablate.physics.results import Result
from thermablate.planning.scenario import scenario_from_dict

COARSENING = 1.5
"""Ratio of the coarser grid's spacing to the result's. [-]"""

ASSUMED_ORDER = 1.0
"""Order of accuracy assumed for the Richardson estimate (voxelised tissue layers: ~1; the
electrode's true surface is second order, but a plan's figures also depend on the layers). [-]"""

ZONE_VOLUME_TOLERANCE = 0.10
"""Largest estimated relative error of the ablation-zone volume that passes without a
warning. [-]"""

NEURAL_TEMPERATURE_TOLERANCE_K = 1.0
"""Largest estimated error of a neural structure's peak temperature that passes without a
warning. [K]"""


@dataclass(frozen=True)
class Estimate:
    """One quantity on the two grids and the estimated error of the finer value.

    ``tissue`` names the neural structure whose peak temperature it is (None for the zone).
    """

    name: str
    unit: str
    fine: float
    coarse: float
    tolerance: float
    relative: bool
    tissue: str | None = None

    @property
    def error(self) -> float:
        """Estimated error of ``fine`` (absolute, in ``unit``)."""
        return abs(self.fine - self.coarse) / (COARSENING**ASSUMED_ORDER - 1.0)

    @property
    def error_for_tolerance(self) -> float:
        """The error in the tolerance's terms: relative to ``fine``, or absolute."""
        if not self.relative:
            return self.error
        return self.error / abs(self.fine) if self.fine else math.inf

    @property
    def within_tolerance(self) -> bool:
        return math.isfinite(self.error) and self.error_for_tolerance <= self.tolerance

    def describe(self) -> str:
        tolerance = (
            f"{100 * self.tolerance:.0f} %" if self.relative else f"{self.tolerance:g} {self.unit}"
        )
        error = (
            f"{100 * self.error_for_tolerance:.0f} %"
            if self.relative
            else f"{self.error:.1f} {self.unit}"
        )
        return (
            f"{self.name}: {self.fine:.2f} {self.unit} against {self.coarse:.2f} on the coarser "
            f"grid, estimated error {error} (tolerance {tolerance})"
        )


@dataclass(frozen=True)
class GridConvergence:
    """The estimates of a result's grid error, or why there are none."""

    spacing_mm: float
    coarse_spacing_mm: float | None
    estimates: tuple[Estimate, ...] = ()
    not_available: str | None = None

    @property
    def warnings(self) -> list[str]:
        if self.not_available:
            return [f"grid error not estimated: {self.not_available}"]
        return [e.describe() for e in self.estimates if not e.within_tolerance]

    @property
    def converged(self) -> bool:
        return self.not_available is None and not self.warnings

    def neural_errors_k(self) -> dict[str, float]:
        """Tissue name -> estimated error of its peak temperature. [K]"""
        return {e.tissue: e.error for e in self.estimates if e.tissue is not None}

    def to_dict(self) -> dict:
        return {
            "spacing_mm": self.spacing_mm,
            "coarse_spacing_mm": self.coarse_spacing_mm,
            "converged": self.converged,
            "not_available": self.not_available,
            "assumed_order": ASSUMED_ORDER,
            "estimates": [
                {
                    "quantity": e.name,
                    "unit": e.unit,
                    "fine": round(e.fine, 3),
                    "coarse": round(e.coarse, 3),
                    "estimated_error": round(e.error, 3),
                    "tolerance": e.tolerance,
                    "relative_tolerance": e.relative,
                    "within_tolerance": e.within_tolerance,
                }
                for e in self.estimates
            ],
            "warnings": self.warnings,
        }


def coarser_scenario_data(data: dict, spacing_mm: float) -> dict:
    """The scenario dictionary with its grid spacing multiplied by :data:`COARSENING`."""
    coarse = copy.deepcopy(data)
    coarse.setdefault("grid", {})["spacing_mm"] = spacing_mm * COARSENING
    return coarse


def grid_convergence(
    data: dict, result: Result, base_dir: Path | None = None, progress=None
) -> GridConvergence:
    """Run ``data`` (the dictionary ``result`` was computed from) on the coarser grid and
    estimate the error of ``result``'s zone volume and neural peak temperatures.

    ``progress`` is called as :func:`~thermablate.physics.engine.simulate` calls it, during
    the coarser run (a background plan keeps its heartbeat with it)."""
    h = result.spacing_mm
    if "label_volume" in data.get("anatomy", {}):
        return GridConvergence(h, None, not_available="the anatomy is a segmented image")
    try:
        coarse = simulate(
            scenario_from_dict(coarser_scenario_data(data, h), base_dir=base_dir),
            progress=progress,
        )
    except ValueError as exc:  # ScenarioError too: e.g. the electrode covers no coarse voxel
        return GridConvergence(
            h, h * COARSENING, not_available=f"the coarser grid could not be run ({exc})"
        )
    return compare(result, coarse)


def compare(fine: Result, coarse: Result) -> GridConvergence:
    """The estimates from a result and the same scenario on a coarser grid."""
    if fine.stopped_reason or coarse.stopped_reason:
        return GridConvergence(
            fine.spacing_mm, coarse.spacing_mm, not_available="a run stopped before the end"
        )
    estimates = [
        Estimate(
            "ablation-zone volume",
            "ml",
            fine.zone.volume_ml,
            coarse.zone.volume_ml,
            ZONE_VOLUME_TOLERANCE,
            True,
        )  # fmt: skip
    ]
    neural = [t.name for t in fine.scenario.tissues if t.neural]
    for name in neural:
        if name in fine.tissues and name in coarse.tissues:
            estimates.append(
                Estimate(
                    f"peak temperature, {name}",
                    "°C",
                    fine.tissues[name]["max_temp_c"],
                    coarse.tissues[name]["max_temp_c"],
                    NEURAL_TEMPERATURE_TOLERANCE_K,
                    False,
                    tissue=name,
                )  # fmt: skip
            )
    return GridConvergence(fine.spacing_mm, coarse.spacing_mm, tuple(estimates))
