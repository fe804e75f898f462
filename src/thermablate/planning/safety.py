"""Neural safety thresholds and the verdict on a simulated ablation.

The engine reports each tissue's peak temperature and thermal dose; :func:`neural_safety`
judges those of every neural-risk structure the anatomy contains (:data:`NEURAL_STRUCTURES`:
cord, cauda equina, the exiting nerve root on the patient's left and the one on the right,
each on its own, CSF, dura, epidural space) against the thresholds below, says
which structures the anatomy lacks, and is never "safe" from a value that is not finite or a
run that stopped early.

References
----------
[DUP00] Dupuy DE, Hong R, Oliver B, Goldberg SN. Radiofrequency ablation of spinal tumors:
    temperature distribution in the spinal canal. AJR Am J Roentgenol 2000;175(5):1263-1266.
    doi:10.2214/ajr.175.5.1751263 (45 °C as the threshold for neural injury; epidural
    temperatures measured during vertebral RFA).
[YAR11] Yarmolenko PS, Moon EJ, Landon C, et al. Thresholds for thermal damage to normal
    tissues: an update. Int J Hyperthermia 2011;27(4):320-343.
    doi:10.3109/02656736.2010.534527 (CEM43 thresholds for nervous tissue of the order of
    minutes; the most sensitive endpoints near 1 min).
[VRH13] van Rhoon GC, Samaras T, Yarmolenko PS, Dewhirst MW, Neufeld E, Kuster N. CEM43°C
    thermal dose thresholds: a potential guide for magnetic resonance radiofrequency exposure
    levels? Eur Radiol 2013;23(8):2215-2227. doi:10.1007/s00330-013-2825-y

The CEM43 threshold below is deliberately conservative (the lowest order of magnitude reported
for nervous tissue in [YAR11]/[VRH13]) and should be reviewed by the clinical lead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from thermablate.physics.results import Result
from thermablate.planning.convergence import GridConvergence

NEURAL_TEMPERATURE_THRESHOLD_C = 45.0
"""Temperature above which neural tissue is at risk of thermal injury [DUP00]. [°C]"""

NEURAL_CEM43_THRESHOLD_MIN = 1.0
"""Thermal dose above which neural tissue is at risk, conservative [YAR11, VRH13]. [min]"""

THRESHOLD_SOURCES = (
    "45 °C: Dupuy DE et al. AJR 2000;175(5):1263-6, doi:10.2214/ajr.175.5.1751263; "
    "CEM43 1 min: Yarmolenko PS et al. Int J Hyperthermia 2011;27(4):320-43, "
    "doi:10.3109/02656736.2010.534527"
)
"""The thresholds' sources in one line, as a report or a stored plan quotes them."""


NEURAL_STRUCTURES: dict[str, str] = {
    "spinal-cord": "spinal cord and conus",
    "cauda-equina": "cauda equina",
    # The patient's left and right (planning.anatomy.SIDE_SIGN): the root on the side of a
    # transpedicular approach is the one usually at risk, so each is judged on its own.
    "nerve-root-left": "exiting nerve root (patient's left)",
    "nerve-root-right": "exiting nerve root (patient's right)",
    "csf": "CSF in the thecal sac",
    "dura": "dura mater",
    "epidural-fat": "epidural space (fat; its venous plexus is not modelled)",
}
"""Every structure the verdict judges, by tissue name, with the words a report uses for it.
The CSF, dura and epidural space are judged as the neural tissue they enclose: their
temperature is what the published studies measure ([DUP00] in the epidural space), and the
roots of the cauda equina float in the CSF. A structure the anatomy does not contain is listed
as not modelled, never silently passed over."""

EARLIER_STRUCTURES: dict[str, str] = {
    "nerve-root": "exiting nerve roots (left and right together)",
}
"""Structures that results stored by earlier versions carry and the verdict no longer makes
(``physics.tissues.SPLIT_TISSUES``), with their words: a stored plan is an immutable record,
so its page shows what it holds, for what it was."""


def structure_name(tissue: str) -> str:
    """The words for a judged tissue, one of today's or of a stored earlier result (else the
    tissue's own name)."""
    return NEURAL_STRUCTURES.get(tissue) or EARLIER_STRUCTURES.get(tissue, tissue)


MODEL_LIMITATIONS = (
    "the thermal resistance of the needle's insulation (its steel is a solid rod)",
    "charring, the escape of vapour and the pressure of boiling (tissue water boils at 100 °C "
    "and takes up its latent heat, but a run stops when tissue reaches 105 °C)",
    "the generator's voltage and current limits and impedance cut-off, unless its device "
    "documents them (no shipped device does)",
    "hyperaemia; the heat capacity's change with temperature below boiling; k at the "
    "electrode's true surface stays at its 37 °C value",
    "large vessels as heat sinks (basivertebral vein, segmental arteries, epidural veins)",
    "sub-voxel geometry of the needle's insulated shaft, which follows the voxels (a preset's "
    "conductances at tissue interfaces, its cells' heat capacity, perfusion and water, where "
    "its Joule heat is dissipated and its neural peaks follow its exact shapes; a segmented "
    "image is whole voxels throughout; see the grid error)",
)
"""What the engine does not model yet (issue 13), stated with every verdict: each would
change the temperatures the verdict rests on."""

WHOLE_VOXELS = (
    "sub-voxel tissue geometry: this run drew every cell as its one tissue and every face as "
    "the harmonic mean of its two cells ([solver] subvoxel_interfaces = false; the "
    "electrode's contacts keep their true surface; the neural peaks are read over the "
    "anatomy's exact shapes by straight lines between cell centres, which read a structure's "
    "edge low where heat flows into it from a better conductor; see the grid error)"
)
"""The last of :data:`MODEL_LIMITATIONS` for a preset run with its exact shapes inside the
cells turned off (:func:`model_limitations`)."""


def model_limitations(result: Result) -> tuple[str, ...]:
    """:data:`MODEL_LIMITATIONS` as they hold for ``result``: a preset's run with the exact
    shapes inside the cells turned off says it drew whole voxels."""
    s = result.scenario
    if s is not None and s.exact_labels_at is not None and not s.subvoxel_interfaces:
        return (*MODEL_LIMITATIONS[:-1], WHOLE_VOXELS)
    return MODEL_LIMITATIONS


STATUSES = ("below thresholds", "at risk", "cannot judge", "nothing to judge")


@dataclass(frozen=True)
class StructureVerdict:
    """Safety of one neural structure."""

    tissue: str
    max_temperature_c: float
    max_cem43_min: float
    temperature_exceeded: bool
    dose_exceeded: bool

    @property
    def at_risk(self) -> bool:
        return self.temperature_exceeded or self.dose_exceeded

    @property
    def finite(self) -> bool:
        return math.isfinite(self.max_temperature_c) and math.isfinite(self.max_cem43_min)

    @property
    def structure(self) -> str:
        return structure_name(self.tissue)

    def reason(self) -> str:
        parts = []
        if self.temperature_exceeded:
            parts.append(
                f"{self.max_temperature_c:.1f} °C >= {NEURAL_TEMPERATURE_THRESHOLD_C:g} °C"
            )
        if self.dose_exceeded:
            parts.append(
                f"CEM43 {self.max_cem43_min:.2g} min >= {NEURAL_CEM43_THRESHOLD_MIN:g} min"
            )
        return "; ".join(parts)


def neural_verdict(
    tissue_stats: dict[str, tuple[float, float]], neural: set[str]
) -> list[StructureVerdict]:
    """Verdict for each neural tissue present.

    Parameters
    ----------
    tissue_stats : dict
        Tissue name -> (maximum temperature [°C], maximum CEM43 [min]).
    neural : set of str
        Names of the neural tissues.
    """
    out = []
    for name, (tmax, dmax) in tissue_stats.items():
        if name in neural:
            # A value that is not finite exceeds nothing: it makes the verdict "cannot judge".
            finite = math.isfinite(tmax) and math.isfinite(dmax)
            out.append(
                StructureVerdict(
                    name,
                    tmax,
                    dmax,
                    finite and tmax >= NEURAL_TEMPERATURE_THRESHOLD_C,
                    finite and dmax >= NEURAL_CEM43_THRESHOLD_MIN,
                )  # fmt: skip
            )
    return out


@dataclass(frozen=True)
class SafetyVerdict:
    """The verdict on every neural structure a simulation's anatomy contains.

    ``not_modelled`` names the structures of :data:`NEURAL_STRUCTURES` the anatomy lacks;
    ``problems`` say why numbers could not be trusted (a run that stopped early, a value that
    is not finite); ``model_leaves_out`` what the run did not model
    (:func:`model_limitations`).
    """

    structures: tuple[StructureVerdict, ...]
    not_modelled: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    model_leaves_out: tuple[str, ...] = MODEL_LIMITATIONS

    @property
    def status(self) -> str:
        """One of :data:`STATUSES`.

        "at risk" wins over everything (a finite value over a threshold stays over it however
        the run ended); then "cannot judge" when a value is not finite or the run stopped
        early; then "nothing to judge" when the anatomy holds no neural structure.
        """
        if any(v.at_risk for v in self.structures):
            return "at risk"
        if self.problems or not all(v.finite for v in self.structures):
            return "cannot judge"
        if not self.structures:
            return "nothing to judge"
        return "below thresholds"

    @property
    def safe(self) -> bool:
        """True only when every judged value is finite, from a complete run, and below the
        thresholds, with at least one structure judged."""
        return self.status == "below thresholds"

    @property
    def at_risk(self) -> list[StructureVerdict]:
        return [v for v in self.structures if v.at_risk]

    def problems_text(self) -> str:
        found = list(self.problems) + [
            f"the {v.structure} values are not finite" for v in self.structures if not v.finite
        ]
        return "; ".join(found)


def neural_safety(
    result: Result, convergence: GridConvergence | None = None, caveats: tuple[str, ...] = ()
) -> SafetyVerdict:
    """Judge the neural tissues of a simulation from its per-tissue maxima.

    ``caveats`` are facts of the patient the anatomy could not honour in the conservative
    direction (``planning.lesion_plan``): each is a problem, so the verdict cannot be "below
    thresholds".

    The tissues' ``neural`` flags come from the scenario the result was computed from; the
    structures are listed in the scenario's tissue order, and only those present in the grid.
    With a grid-convergence estimate, a structure below the temperature threshold by less
    than its estimated grid error cannot be judged "below thresholds".
    """
    neural = {t.name for t in result.scenario.tissues if t.neural}
    stats = {k: (v["max_temp_c"], v["max_cem43_min"]) for k, v in result.tissues.items()}
    structures = tuple(neural_verdict(stats, neural))
    judged = {v.tissue for v in structures}
    not_modelled = tuple(name for name in NEURAL_STRUCTURES if name not in judged)
    problems = list(caveats)
    if result.stopped_reason:
        problems.append(
            f"the run stopped at t = {result.time_s[-1]:.0f} s of {result.duration_s:g} s "
            f"({result.stopped_reason})"
        )
    errors = convergence.neural_errors_k() if convergence is not None else {}
    for v in structures:
        error = errors.get(v.tissue, 0.0)
        if not v.at_risk and v.max_temperature_c + error >= NEURAL_TEMPERATURE_THRESHOLD_C:
            problems.append(
                f"the {v.structure} peak of {v.max_temperature_c:.1f} °C is within its estimated "
                f"grid error ({error:.1f} K) of {NEURAL_TEMPERATURE_THRESHOLD_C:g} °C"
            )
    return SafetyVerdict(structures, not_modelled, tuple(problems), model_limitations(result))
