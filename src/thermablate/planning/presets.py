"""Preset scenarios: sensible defaults for the two clinical situations of the guidance.

Each preset is a function of its anatomy parameters returning a scenario *dictionary* in the
same shape as a TOML scenario file, so a file that names a preset only needs to state what it
changes. Clinical settings:

- ``osteoid-osteoma``: NICE IPG53 (CT-guided thermocoagulation of osteoid osteoma): the probe in
  the centre of the nidus, heated to 85-90 °C for 4-6 minutes. Default 90 °C for 300 s with a
  17-gauge needle and a 5 mm active tip.
- ``lumbar-metastasis``: NICE HTG670 (RF ablation as an adjunct to kyphoplasty or
  vertebroplasty for spinal metastases): transpedicular electrode in the tumour; default
  monopolar, 10 mm active tip, 90 °C for 300 s, at L3 (parameter ``level``, L1-L5), with
  probes at the posterior wall, in the anterior epidural space, in the CSF against the anterior
  dura, on the cord (L1) or the cauda equina (below) and on the exiting nerve root of the
  approach side (``side``: the patient's left or right pedicle; see ``anatomy.SIDE_SIGN``).
- ``spinal-metastasis``: the same at any thoracic or lumbar level (parameter ``level``,
  required), the vertebra scaled from the published morphometry of that level
  (``planning.morphometry``); the grid is sized to the vertebra.
"""

from __future__ import annotations

import numpy as np

from thermablate.planning import morphometry
from thermablate.planning.anatomy import LUMBAR_LEVELS, SIDE_SIGN, OsteoidOsteoma, Vertebra

PRESET_NAMES = ("osteoid-osteoma", "lumbar-metastasis", "spinal-metastasis")


def anatomy_model(name: str, parameters: dict):
    """The anatomy object for a preset name and its parameters (``TypeError`` on unknown,
    ``ValueError`` on a value the model cannot draw)."""
    if name == "osteoid-osteoma":
        return OsteoidOsteoma(**parameters)
    if name == "lumbar-metastasis":
        level = parameters.get("level", "L3")
        if level not in LUMBAR_LEVELS:
            raise ValueError(f"level must be one of {', '.join(LUMBAR_LEVELS)}, got {level!r}")
        return Vertebra(**parameters)
    if name == "spinal-metastasis":
        if "level" not in parameters:
            raise ValueError("the spinal-metastasis preset needs the level (T1-T12, L1-L5)")
        dimensions = morphometry.level_dimensions(str(parameters["level"]))
        return Vertebra(**{**dimensions, **parameters})
    raise KeyError(f"unknown preset {name!r} (known: {', '.join(PRESET_NAMES)})")


def default_scenario(name: str, parameters: dict | None = None) -> dict:
    """Scenario dictionary for preset ``name`` with anatomy ``parameters`` (mm)."""
    parameters = dict(parameters or {})
    model = anatomy_model(name, parameters)
    if name == "osteoid-osteoma":
        active = 5.0
        direction = (0.0, -1.0, 0.0)  # from the skin (+y) into the bone
        tip = tuple(0.5 * active * np.asarray(direction))
        rn = 0.5 * model.nidus_diameter_mm
        return {
            "title": f"Osteoid osteoma, {model.nidus_diameter_mm:g} mm nidus, 90 °C for 5 min",
            "duration_s": 300.0,
            # 0.5 mm: the zone is within 1.6 % of the 0.75 mm one and 0.5 % of the 1/3 mm one
            # (estimated error 1.6 %, under the 10 % that warns; docs/thermal-engine.md).
            "grid": {"spacing_mm": 0.5, "extent_mm": [30.0, 30.0, 30.0]},
            "anatomy": {"preset": name, "parameters": parameters},
            "electrodes": [
                {"geometry": "needle", "tip_mm": list(tip), "direction": list(direction),
                 "active_tip_mm": active, "gauge": 17}
            ],
            "generator": {"mode": "temperature", "target_temp_c": 90.0, "max_power_w": 20.0,
                          "ramp_s": 60.0},
            "probes": {
                "nidus margin": [rn, 0.0, 0.0],
                "cortex 3 mm beyond nidus": [rn + 3.0, 0.0, 0.0],
                "periosteum": [0.0, model.bone_axis_y_mm + model.bone_outer_radius_mm, 6.0],
            },
        }  # fmt: skip
    return _vertebra_scenario(name, model, parameters)


def vertebra_grid(model: Vertebra, spacing_mm: float) -> dict:
    """The grid around a vertebra: its body and arch with a margin of soft tissue, and a disc
    above and below (for the default lumbar figures: 64 x 70 x 48 mm)."""
    back = 0.5 * model.body_depth_mm + model.canal_depth_mm + model.lamina_thickness_mm + 11.0
    front = 0.5 * model.body_depth_mm + 6.0
    width = max(model.body_width_mm, model.canal_width_mm + 2 * model.pedicle_diameter_mm) + 19.0
    height = model.body_height_mm + 2 * model.disc_height_mm + 1.0
    return {
        "spacing_mm": spacing_mm,
        "extent_mm": [width, back + front, height],
        "origin_mm": [-0.5 * width, -back, -0.5 * height],
    }


def _vertebra_scenario(name: str, model: Vertebra, parameters: dict) -> dict:
    tc = np.asarray(model.tumour_centre_mm)
    sign = SIDE_SIGN[model.side]  # the patient's side of the approach (Vertebra checks it)
    posterior, anterior = model.pedicle_axis_mm(sign)
    through = 0.5 * (np.asarray(posterior) + np.asarray(anterior))
    direction = tc - through
    direction /= np.linalg.norm(direction)
    active = 10.0
    tip = tc + 0.5 * active * direction
    yw = model.posterior_wall_y_mm
    sx, sy, sw, sd = model.thecal_sac_mm
    # 0.5 mm: at 1 mm the canal's thin layers (1.5 mm of anterior epidural space, the dura)
    # are one voxel and the CSF, dura and cauda equina came out 2-3 K cooler than at 0.5 mm
    # (issue 13). With the exact shapes inside the cells the grid-error estimate still warns
    # at 0.5 mm for the epidural space and the dura (1.2 K against 0.75 mm), though
    # 0.375 mm moves every neural peak by at most 0.16 K: the 0.75 mm companion's alignment,
    # not the 0.5 mm grid's error (docs/thermal-engine.md, "Tissue fractions inside the
    # cells").
    spacing_mm = 0.5
    nx_, ny_ = model.neural_centre_mm()
    if model.holds_the_cord:
        neural_probe = ("spinal cord surface", [nx_, ny_ + 0.5 * model.cord_depth])
    else:
        neural_probe = (
            "cauda equina, anterior",
            [nx_, ny_ + 0.5 * model.cauda_equina_diameter_mm - 0.5],
        )
    root_start, _ = model.nerve_root_axis_mm(sign)  # the approach side's root
    region = "Lumbar" if name == "lumbar-metastasis" else f"{model.level} spinal"
    return {
        "title": (
            f"{region} metastasis, {model.tumour_diameter_mm:g} mm {model.tumour_type} tumour "
            f"{model.posterior_wall_distance_mm:g} mm from the posterior wall, 90 °C for 5 min"
        ),
        "duration_s": 300.0,
        "grid": vertebra_grid(model, spacing_mm),
        "anatomy": {"preset": name, "parameters": parameters},
        "electrodes": [
            {"geometry": "needle", "tip_mm": [float(v) for v in tip],
             "direction": [float(v) for v in direction], "active_tip_mm": active, "gauge": 17}
        ],
        "generator": {"mode": "temperature", "target_temp_c": 90.0, "max_power_w": 50.0,
                      "ramp_s": 60.0},
        "probes": {
            "posterior wall": [float(tc[0]), yw + 0.5, float(tc[2])],
            "epidural space": [float(tc[0]), yw - 0.5 * model.epidural_anterior_mm, float(tc[2])],
            "CSF, anterior": [float(tc[0]), sy + sd - model.dura_thickness_mm
                              - 0.5 * model.anterior_csf_mm, float(tc[2])],
            neural_probe[0]: [*neural_probe[1], float(tc[2])],
            f"nerve root, patient's {model.side}": [float(v) for v in root_start],
        },
    }  # fmt: skip
