"""From a lesion's record to a scenario: what the planning page pre-fills and runs.

The registry knows a lesion by its level or bone site, diagnosis, type, size, distance to the
cord or roots and whether the posterior wall is intact (:class:`LesionFacts`). This module
chooses the anatomy model for it (a thoracic or lumbar vertebra scaled to the level, or a long
bone of the site's typical size), places the chosen device's electrode, and writes the complete
scenario a plan stores. What the model cannot represent is said, never papered over:

- a lesion or level the models cannot draw raises :class:`CannotPlan` with the reason;
- a recorded fact the model cannot honour in the conservative direction (a posterior wall
  breached, a tumour closer to the neural structures than the drawn canal allows) becomes a
  *caveat*, and a plan with a caveat cannot be judged "below thresholds"
  (:func:`thermablate.planning.safety.neural_safety`);
- a choice made for the user (a lesion type drawn as another, a missing distance taken as the
  worst case) becomes a *note*.

Default settings follow the guidance: NICE IPG53 heats an osteoid osteoma nidus to 85-90 °C
for 4-6 minutes (default 90 °C for 5 minutes); for spinal metastases (HTG670) the same 90 °C
for 5 minutes, the lumbar preset's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from thermablate.physics.electrodes import GAUGE_DIAMETER_MM
from thermablate.planning import long_bones, morphometry
from thermablate.planning.anatomy import OsteoidOsteoma, Vertebra
from thermablate.planning.devices import Device, DeviceError, DeviceLibrary
from thermablate.planning.presets import anatomy_model, default_scenario

SPACINGS_MM = (0.25, 0.5, 0.75, 1.0)
"""Grid spacings the planning page offers; 0.5 mm resolves the canal's thin layers (issue 13)."""

DEFAULT_TARGET_TEMP_C = 90.0
DEFAULT_DURATION_S = 300.0
DEFAULT_RAMP_S = 60.0
DEFAULT_MAX_POWER_W = 50.0

TUMOUR_TISSUE_OF_TYPE = {"lytic": "lytic", "sclerotic": "sclerotic"}


class CannotPlan(ValueError):
    """The lesion or the options cannot be modelled; the message says why, in words a
    clinician can act on."""


@dataclass(frozen=True)
class LesionFacts:
    """What the registry records about a lesion, as plain values (lengths in mm)."""

    diagnosis: str
    levels: tuple[str, ...] = ()
    bone_site: str = ""
    lesion_type: str = ""
    size_mm: float | None = None
    distance_to_neural_mm: float | None = None
    posterior_wall_intact: bool | None = None

    @property
    def spinal(self) -> bool:
        return bool(self.levels)


@dataclass(frozen=True)
class PlanOptions:
    """What the planning form sets: the lesion's level to plan at, the device (with its active
    tip and gauge where the library leaves them to the operator), the generator settings and
    the grid. ``bone_outer_radius_mm`` / ``cortical_thickness_mm`` override a long bone's
    typical dimensions."""

    device_id: str
    level: str = ""
    active_tip_mm: float | None = None
    gauge: int | None = None
    target_temp_c: float = DEFAULT_TARGET_TEMP_C
    duration_s: float = DEFAULT_DURATION_S
    max_power_w: float = DEFAULT_MAX_POWER_W
    ramp_s: float = DEFAULT_RAMP_S
    side: str = "left"
    spacing_mm: float = 0.5
    bone_outer_radius_mm: float | None = None
    cortical_thickness_mm: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PlanDraft:
    """The complete scenario of a plan, with what the model could not honour (``caveats``)
    and the choices made for the user (``notes``)."""

    scenario: dict
    caveats: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    model: str = ""
    extra: dict = field(default_factory=dict)


def check_lesion(facts: LesionFacts) -> None:
    """Raise :class:`CannotPlan` when no model can draw this lesion."""
    if facts.diagnosis == "discogenic_pain":
        raise CannotPlan(
            "intradiscal electrothermal therapy heats the disc from a catheter; the thermal "
            "engine has no disc model yet, so it cannot plan it"
        )
    if facts.size_mm is None:
        raise CannotPlan("the lesion has no size recorded: correct the lesion record first")
    if not math.isfinite(facts.size_mm) or facts.size_mm <= 0:
        raise CannotPlan("the lesion's recorded size is not a positive number of mm")
    if facts.spinal:
        reasons = {level: morphometry.cannot_model_reason(level) for level in facts.levels}
        if all(reasons.values()):
            level, reason = next(iter(reasons.items()))
            raise CannotPlan(f"{level}: {reason}")
        if facts.diagnosis == "osteoid_osteoma":
            raise CannotPlan(
                "a spinal osteoid osteoma usually lies in the posterior elements; the vertebra "
                "model places a lesion only in the vertebral body"
            )
        if facts.diagnosis != "spinal_metastasis":
            raise CannotPlan(
                "the vertebra model is of a metastasis in the vertebral body; this lesion's "
                "diagnosis is not one"
            )
        return
    if facts.diagnosis != "osteoid_osteoma":
        raise CannotPlan(
            "outside the spine the engine models an osteoid osteoma in the cortex of a long "
            "bone; a metastasis in the marrow needs a model it does not have yet"
        )


def modelled_levels(facts: LesionFacts) -> tuple[str, ...]:
    return tuple(level for level in facts.levels if not morphometry.cannot_model_reason(level))


DEFAULT_ELECTRODE = {
    # Tip and gauge within those Cosman et al. (Pain Med 2014) tested (5-15 mm, 16-23 G): a
    # 5 mm tip for a nidus of 5-10 mm; 10 mm for a vertebral tumour, as the lumbar preset.
    "osteoid-osteoma": (5.0, 20),
    "spinal-metastasis": (10.0, 18),
}


def default_options(facts: LesionFacts, library: DeviceLibrary) -> PlanOptions:
    """The settings the planning form opens with (raises :class:`CannotPlan`)."""
    check_lesion(facts)
    indication = "osteoid-osteoma" if facts.diagnosis == "osteoid_osteoma" else "spinal-metastasis"
    plannable = [d for d in library.devices if not d.cannot_plan_reason()]
    suitable = [d for d in plannable if indication in d.indications] or plannable
    if not suitable:
        raise CannotPlan("no device in the library can be planned with")
    device = suitable[0]
    tip, gauge = DEFAULT_ELECTRODE[indication]
    levels = modelled_levels(facts)
    target = DEFAULT_TARGET_TEMP_C
    if device.target_temp_c is not None:
        target = min(target, device.target_temp_c)
    duration = DEFAULT_DURATION_S
    if device.max_time_s is not None:
        duration = min(duration, device.max_time_s)
    power = DEFAULT_MAX_POWER_W if facts.spinal else 20.0
    if device.max_power_w is not None:
        power = min(power, device.max_power_w)
    return PlanOptions(
        device_id=device.device_id,
        level=levels[0] if levels else "",
        active_tip_mm=device.active_tip_mm or tip,
        gauge=device.gauge or gauge,
        target_temp_c=target,
        duration_s=duration,
        max_power_w=power,
    )


def electrode_of(device: Device, options: PlanOptions) -> tuple[float, int]:
    """The active tip [mm] and gauge of the planned electrode: the device's where the library
    documents them, else the operator's choice (raises :class:`CannotPlan`)."""
    chosen = {}
    for name, fixed, given in (
        ("active tip", device.active_tip_mm, options.active_tip_mm),
        ("gauge", device.gauge, options.gauge),
    ):
        if fixed is not None and given is not None and given != fixed:
            unit = " mm" if name == "active tip" else " G"
            raise CannotPlan(f"this device's {name} is {fixed:g}{unit}, not {given:g}{unit}")
        value = fixed if fixed is not None else given
        if value is None:
            raise CannotPlan(f"the library gives no {name} for this device: choose one")
        chosen[name] = value
    tip, gauge = float(chosen["active tip"]), int(chosen["gauge"])
    if not 2.0 <= tip <= 30.0:
        raise CannotPlan(f"an active tip of {tip:g} mm is outside 2-30 mm")
    if gauge not in GAUGE_DIAMETER_MM:
        raise CannotPlan(f"gauge {gauge} is not a supported ISO 9626 size")
    return tip, gauge


def _check_options(
    facts: LesionFacts, options: PlanOptions, device: Device, device_limits: bool
) -> None:
    reason = device.cannot_plan_reason()
    if reason:
        raise CannotPlan(f"{device.label}: {reason}")
    problems = device.settings_problems(
        options.target_temp_c, options.max_power_w, options.duration_s
    )
    if problems and device_limits:
        raise CannotPlan(f"{device.label}: " + "; ".join(problems))
    if options.spacing_mm not in SPACINGS_MM:
        raise CannotPlan(
            f"grid spacing must be one of {', '.join(f'{s:g}' for s in SPACINGS_MM)} mm"
        )
    if options.side not in ("left", "right"):
        raise CannotPlan("the approach side must be left or right")
    if facts.spinal:
        if options.level not in facts.levels:
            raise CannotPlan(f"{options.level or 'no level'} is not one of this lesion's levels")
        reason = morphometry.cannot_model_reason(options.level)
        if reason:
            raise CannotPlan(f"{options.level}: {reason}")


def draft_plan(
    facts: LesionFacts, options: PlanOptions, library: DeviceLibrary, *, device_limits: bool = True
) -> PlanDraft:
    """The complete scenario for ``facts`` with ``options`` (raises :class:`CannotPlan`).

    ``device_limits=False`` lets settings past the device's documented protocol through: a
    procedure re-simulated as it was delivered is what happened, within the engine's own
    limits (:meth:`thermablate.physics.scenario.Scenario.validate`)."""
    check_lesion(facts)
    try:
        device = library.get(options.device_id)
    except DeviceError as exc:
        raise CannotPlan(str(exc)) from None
    _check_options(facts, options, device, device_limits)
    draft = _vertebra_draft(facts, options) if facts.spinal else _long_bone_draft(facts, options)
    active_mm, gauge = electrode_of(device, options)
    scenario = draft.scenario
    electrode = scenario["electrodes"][0]
    # The active tip is centred on the lesion, as the presets place their own.
    centre = np.asarray(draft.extra["target_mm"], float)
    direction = np.asarray(electrode["direction"], float)
    tip = centre + 0.5 * active_mm * direction / np.linalg.norm(direction)
    electrode.update(tip_mm=[float(v) for v in tip], active_tip_mm=active_mm, gauge=gauge)
    scenario["duration_s"] = options.duration_s
    scenario["generator"] = {
        "mode": "temperature",
        "target_temp_c": options.target_temp_c,
        "max_power_w": options.max_power_w,
        "ramp_s": options.ramp_s,
        **device.generator_limits(),
    }
    if not device.generator_limits():
        draft = replace(draft, notes=draft.notes + (
            "no source in the device library gives this generator's output voltage, current "
            "or impedance cut-off: the plan lets it deliver up to the power limit into any "
            "impedance, so it cannot show the roll-off that ends a lesion's growth once tissue "
            "by the electrode desiccates",
        ))  # fmt: skip
    scenario["grid"]["spacing_mm"] = options.spacing_mm
    scenario["device"] = {"device_id": device.device_id, "label": device.label}
    indication = "osteoid-osteoma" if facts.diagnosis == "osteoid_osteoma" else "spinal-metastasis"
    if indication not in device.indications:
        draft = replace(draft, notes=draft.notes + (
            f"planned with {device.label}, a device the library does not list for this "
            "lesion: the bipolar and cooled devices used for it cannot be simulated yet",
        ))  # fmt: skip
    where = options.level if facts.spinal else facts.bone_site
    scenario["title"] = (
        f"{where}: {active_mm:g} mm {gauge} G monopolar tip, "
        f"{options.target_temp_c:g} °C for {options.duration_s / 60:g} min"
    )
    _check_tip_fits(draft, active_mm)
    return draft


def _tumour_tissue(facts: LesionFacts, notes: list[str]) -> str:
    if facts.lesion_type in TUMOUR_TISSUE_OF_TYPE:
        return TUMOUR_TISSUE_OF_TYPE[facts.lesion_type]
    shown = facts.lesion_type.replace("_", " ") or "not recorded"
    notes.append(f"the lesion type ({shown}) is drawn as lytic tumour")
    return "lytic"


def _vertebra_draft(facts: LesionFacts, options: PlanOptions) -> PlanDraft:
    notes: list[str] = []
    caveats: list[str] = []
    params: dict = {
        "level": options.level,
        "side": options.side,
        "tumour_diameter_mm": float(facts.size_mm),
        "tumour_type": _tumour_tissue(facts, notes),
        "posterior_wall_distance_mm": 0.0,
    }
    try:
        model = anatomy_model("spinal-metastasis", params)
    except ValueError as exc:
        raise CannotPlan(f"{options.level}: {exc}") from None
    gap = _wall_to_neural_mm(model)
    if facts.posterior_wall_intact is False:
        caveats.append(
            "the posterior wall is recorded as breached, but the model draws the tumour inside "
            "the vertebral body: heat reaching the canal through the breach is not modelled"
        )
    if facts.distance_to_neural_mm is None:
        notes.append(
            "no distance to the cord or roots is recorded: the tumour is drawn against the "
            "posterior wall, the worst case"
        )
    else:
        wall = float(facts.distance_to_neural_mm) - gap
        if wall < 0:
            caveats.append(
                f"the lesion is recorded {facts.distance_to_neural_mm:g} mm from the cord or "
                f"roots, closer than the {gap:.1f} mm of epidural space, dura and CSF the model "
                "draws between the posterior wall and them"
            )
        params["posterior_wall_distance_mm"] = round(max(wall, 0.0), 2)
        notes.append(
            f"the tumour is drawn {params['posterior_wall_distance_mm']:g} mm from the posterior "
            f"wall: the recorded distance to the cord or roots less the {gap:.1f} mm of canal "
            "layers in front of them"
        )
    model = anatomy_model("spinal-metastasis", params)
    inside = model.body_depth_mm - 2 * model.cortical_shell_mm
    if params["posterior_wall_distance_mm"] + facts.size_mm > inside:
        raise CannotPlan(
            f"a {facts.size_mm:g} mm lesion {params['posterior_wall_distance_mm']:g} mm from the "
            f"posterior wall does not fit in the {options.level} vertebral body the model draws "
            f"({model.body_depth_mm:g} mm deep)"
        )
    scenario = default_scenario("spinal-metastasis", params)
    electrode = scenario["electrodes"][0]
    tip = np.asarray(electrode["tip_mm"])
    direction = np.asarray(electrode["direction"])
    if model.path_crosses_canal(tip, direction, length_mm=80.0):
        raise CannotPlan(
            f"the transpedicular path from the {options.side} to this lesion crosses the spinal "
            "canal in the model: choose the other side"
        )
    table = morphometry.table()
    stand_ins = morphometry.stand_in_dimensions(options.level)
    if stand_ins:
        shown = ", ".join(name.removesuffix("_mm").replace("_", " ") for name in stand_ins)
        notes.append(
            f"{options.level}: the morphometry table ({table.name} {table.version}) has no "
            f"{shown}; those are the model's round lumbar figures (Zhou et al. 2000)"
        )
    else:
        notes.append(
            f"{options.level} vertebra scaled from the published morphometry "
            f"({table.name} {table.version})"
        )
    extra = {"model": model, "target_mm": model.tumour_centre_mm}
    return PlanDraft(scenario, tuple(caveats), tuple(notes), "vertebra", extra)


def _wall_to_neural_mm(model: Vertebra) -> float:
    """Distance from the posterior wall to the nearest neural tissue in the canal. [mm]"""
    _, ny = model.neural_centre_mm()
    half = 0.5 * (model.cord_depth if model.holds_the_cord else model.cauda_equina_diameter_mm)
    return model.posterior_wall_y_mm - (ny + half)


def _long_bone_draft(facts: LesionFacts, options: PlanOptions) -> PlanDraft:
    notes: list[str] = []
    typical = long_bones.typical_dimensions(facts.bone_site)
    radius = options.bone_outer_radius_mm
    cortex = options.cortical_thickness_mm
    if typical is not None:
        radius = radius if radius is not None else typical.outer_radius_mm
        cortex = cortex if cortex is not None else typical.cortical_thickness_mm
        notes.append(f"{facts.bone_site}: {typical.description}")
    if radius is None:
        raise CannotPlan(
            f"no typical dimensions for the bone site {facts.bone_site!r}: give the bone's outer "
            "radius (and its cortical thickness)"
        )
    nidus = float(facts.size_mm)
    thickened = nidus + 4.0
    if cortex is None or cortex < thickened:
        notes.append(
            f"the cortex is drawn {thickened:g} mm thick, 2 mm of bone around the nidus on each "
            "side: reactive sclerosis thickens it around an osteoid osteoma"
        )
        cortex = thickened
    if cortex > radius:
        raise CannotPlan(
            f"a {nidus:g} mm nidus with its cortex does not fit in a bone of {radius:g} mm radius"
        )
    params = {
        "nidus_diameter_mm": nidus,
        "bone_outer_radius_mm": float(radius),
        "cortical_thickness_mm": float(cortex),
    }
    model = OsteoidOsteoma(**params)
    scenario = default_scenario("osteoid-osteoma", params)
    extra = {"model": model, "target_mm": (0.0, 0.0, 0.0)}  # the nidus centre is the origin
    return PlanDraft(scenario, (), tuple(notes), "long bone", extra)


def _check_tip_fits(draft: PlanDraft, active_mm: float) -> None:
    """Both ends of the active tip must lie in bone or lesion: an active tip that reaches past
    the bone heats the soft tissue (or the canal) beyond it."""
    electrode = draft.scenario["electrodes"][0]
    model = draft.extra["model"]
    tip = np.asarray(electrode["tip_mm"], float)
    direction = np.asarray(electrode["direction"], float)
    direction = direction / np.linalg.norm(direction)
    if isinstance(model, OsteoidOsteoma):
        # The needle comes from the skin: the tip is placed in the nidus, and the active tip
        # may run back only through the nidus and its cortical roof.
        back = tip - active_mm * direction
        if back[1] > model.depth_mm:
            raise CannotPlan(
                f"a {active_mm:g} mm active tip is longer than the nidus and the bone over it: "
                "it would heat the soft tissue outside the bone"
            )
        return
    for end, where in ((tip, "its end"), (tip - active_mm * direction, "its start")):
        if not model.in_bone_or_tumour(end):
            raise CannotPlan(
                f"a {active_mm:g} mm active tip does not fit: {where} lies outside the "
                "vertebra in the model"
            )


def delivered_options(
    base: PlanOptions, cycles: list[dict], active_tip_mm: float | None
) -> tuple[PlanOptions, tuple[str, ...]]:
    """The options of a procedure re-simulated as delivered: the base plan's model and
    electrode, the recorded active tip, and the recorded cycles (each a dict of
    ``target_temp_c``, ``time_at_target_s`` and ``power_w`` or None).

    The engine runs one continuous heating. Several cycles are run as one cycle at the highest
    target for their total time at target, the cooling between them left out: it over-predicts
    the heat, the safe direction for the neural verdict, and the notes say so."""
    if not cycles:
        raise CannotPlan("the procedure has no ablation cycle recorded")
    notes = []
    target = max(float(c["target_temp_c"]) for c in cycles)
    at_target_s = sum(float(c["time_at_target_s"]) for c in cycles)
    if len(cycles) > 1:
        notes.append(
            f"the {len(cycles)} recorded cycles are simulated as one of {at_target_s:g} s at "
            f"{target:g} °C: the cooling between them is not modelled, which over-predicts the "
            "heat"
        )
    powers = [float(c["power_w"]) for c in cycles if c.get("power_w") is not None]
    power = max(powers) if powers else base.max_power_w
    if not powers:
        notes.append(f"no power recorded: the plan's {base.max_power_w:g} W limit is used")
    options = replace(
        base,
        target_temp_c=target,
        duration_s=at_target_s + base.ramp_s,
        max_power_w=power,
        active_tip_mm=active_tip_mm if active_tip_mm is not None else base.active_tip_mm,
    )
    notes.append(
        f"the ramp to the target ({base.ramp_s:g} s) is added to the recorded time at target"
    )
    return options, tuple(notes)
