"""Scenario files: a TOML file or a dictionary of the same shape, read into a physics Scenario.

Everything is checked here, before any computation: a bad scenario raises
:class:`~thermablate.physics.scenario.ScenarioError` with one clear sentence. Lengths in the
file are millimetres; inside they become metres only where the physics needs them (the grid).
The anatomy section is what makes this planning's job rather than the engine's: a preset fills
in the rest of the scenario and builds the label volume, or a segmented NIfTI volume supplies
the grid and the labels.

File format (see docs/thermal-engine.md for the full description)::

    title = "..."
    duration_s = 300
    [grid]        spacing_mm, extent_mm = [x, y, z], origin_mm = [x, y, z] (lower corner)
    [anatomy]     preset = "osteoid-osteoma" + [anatomy.parameters]
                  | uniform = "muscle" (+ [anatomy.properties] overrides)
                  | label_volume = "seg.nii.gz" + [anatomy.labels] "1" = "cortical-bone"
    [[electrodes]] geometry = "needle": tip_mm, direction, active_tip_mm, gauge, bipolar, gap_mm
                   geometry = "sphere": centre_mm, radius_mm
    [generator]   mode = "temperature" | "power" | "held", target_temp_c, max_power_w, ramp_s;
                  optional output limits max_voltage_v, max_current_a, max_impedance_ohm
    [probes]      name = [x, y, z]
    [tissues.<name>] property overrides, e.g. electrical_conductivity_s_m = 0.05
    [solver]      time_step_s, electric_update_s, electric_update_k, record_interval_s,
                  electric_update_water, electric_update_conductance, criterion, needle_conduction (true),
                  phase_change (true: tissue water boils at 100 °C and k rises with T; false
                  only to compare), electrode_surface_in_potential (true: the contacts' true
                  surface in the potential too; false only to compare), subvoxel_interfaces
                  (true: with a preset's exact shapes, faces near a tissue interface conduct as
                  the tissues between their centres; false only to compare)
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import fields
from pathlib import Path

import numpy as np

from thermablate.physics.damage import DEFAULT_CRITERION
from thermablate.physics.electrodes import GAUGE_DIAMETER_MM, Electrode, Needle, Sphere
from thermablate.physics.generator import Generator
from thermablate.physics.grid import Grid
from thermablate.physics.scenario import Scenario, ScenarioError, check_fits_in_memory
from thermablate.physics.tissues import BODY_TEMPERATURE_C, TISSUES, Tissue, unknown_tissue
from thermablate.physics.true_surface import ExactLabels
from thermablate.planning import anatomy as anat
from thermablate.planning import presets


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario file."""
    return scenario_from_dict(read_scenario_file(path), base_dir=Path(path).parent)


def read_scenario_file(path: str | Path) -> dict:
    """The dictionary of a TOML scenario file, unvalidated (see :func:`scenario_from_dict`)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None


def preset_scenario(name: str, parameters: dict | None = None) -> Scenario:
    """The preset scenario ``name`` with its default settings."""
    return scenario_from_dict({"anatomy": {"preset": name, "parameters": parameters or {}}})


def _vec3(value, what: str) -> tuple[float, float, float]:
    try:
        v = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{what} must be three numbers in mm, got {value!r}") from None
    if len(v) != 3 or not all(np.isfinite(v)):
        raise ScenarioError(f"{what} must be three finite numbers in mm, got {value!r}")
    return v


def _number(table: dict, key: str, default=None, what: str = "") -> float:
    value = table.get(key, default)
    if value is None:
        raise ScenarioError(f"{what}{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{what}{key} must be a number, got {value!r}")
    if not np.isfinite(value):  # TOML has nan and inf literals; no setting may be either
        raise ScenarioError(f"{what}{key} must be a finite number, got {value!r}")
    return float(value)


def _flag(table: dict, key: str, default: bool, what: str = "") -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{what}{key} must be true or false, got {value!r}")
    return value


def _tissue_with_overrides(name: str, overrides: dict) -> Tissue:
    if name not in TISSUES:
        raise ScenarioError(unknown_tissue(name))
    allowed = {f.name for f in fields(Tissue)} - {"name", "neural", "source", "ranges"}
    bad = set(overrides) - allowed
    if bad:
        raise ScenarioError(
            f"unknown property {sorted(bad)[0]!r} for tissue {name!r} (allowed: {', '.join(sorted(allowed))})"
        )
    for k in overrides:
        v = _number(overrides, k, what=f"tissue {name!r}: ")
        if v < 0:
            raise ScenarioError(f"tissue {name!r}: {k} must not be negative, got {v!r}")
    t = TISSUES[name].with_overrides(**{k: float(v) for k, v in overrides.items()})
    try:
        t.validate()
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    return t


def _electrode(table: dict, n: int) -> Electrode:
    what = f"electrode {n}: "
    geometry = table.get("geometry", "needle")
    if geometry == "sphere":
        r = _number(table, "radius_mm", what=what)
        if r <= 0:
            raise ScenarioError(f"{what}radius_mm must be positive")
        return Sphere(_vec3(table.get("centre_mm"), what + "centre_mm"), r)
    if geometry != "needle":
        raise ScenarioError(f"{what}unknown geometry {geometry!r} (needle or sphere)")
    gauge_value = _number(table, "gauge", 17, what)
    gauge = round(gauge_value)
    if gauge != gauge_value:  # 17.9 used to become 17 without a word
        nearest = (
            f"{gauge} G, {GAUGE_DIAMETER_MM[gauge]:g} mm" if gauge in GAUGE_DIAMETER_MM else ""
        )
        raise ScenarioError(
            f"{what}gauge must be a whole ISO 9626 size, got {gauge_value:g}"
            + (f" (nearest: {nearest})" if nearest else "")
        )
    if gauge not in GAUGE_DIAMETER_MM:
        raise ScenarioError(
            f"{what}gauge {gauge} not supported (one of {sorted(GAUGE_DIAMETER_MM)})"
        )
    direction = _vec3(table.get("direction"), what + "direction")
    if np.linalg.norm(direction) == 0:
        raise ScenarioError(f"{what}direction must not be zero")
    active = _number(table, "active_tip_mm", 10.0, what)
    gap = _number(table, "gap_mm", 5.0, what)
    if active <= 0 or gap < 0:
        raise ScenarioError(f"{what}active_tip_mm must be positive and gap_mm not negative")
    return Needle(
        _vec3(table.get("tip_mm"), what + "tip_mm"), direction, active, gauge,
        bool(table.get("bipolar", False)), gap, _number(table, "thermocouple_mm", 0.0, what),
    )  # fmt: skip


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "probes":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _grid_and_labels(
    anatomy: dict, grid_t: dict, tissues: list[Tissue], overrides: dict, base_dir: Path | None
) -> tuple[Grid, np.ndarray, ExactLabels | None]:
    """The grid, its label volume and the exact shapes it was drawn from (a preset's; None
    for a segmented image or a uniform tissue) from the [anatomy] and [grid] tables.

    A uniform anatomy may override its tissue's properties: ``tissues`` is updated in place.
    """
    if "label_volume" in anatomy:
        path = Path(anatomy["label_volume"])
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        if not path.exists():
            raise ScenarioError(f"label volume {path} not found")
        try:
            table = {int(k): v for k, v in anatomy.get("labels", {}).items()}
        except ValueError:
            raise ScenarioError("[anatomy.labels] keys must be integer label values") from None
        try:
            return (*anat.labels_from_nifti(path, table), None)
        except anat.NiftiError as exc:
            raise ScenarioError(str(exc)) from None
    spacing = _number(grid_t, "spacing_mm", what="grid.")
    if spacing <= 0:
        raise ScenarioError("grid.spacing_mm must be positive")
    extent = _vec3(grid_t.get("extent_mm"), "grid.extent_mm")
    if min(extent) < 2 * spacing:
        raise ScenarioError("grid.extent_mm must be at least two cells in each direction")
    origin = grid_t.get("origin_mm")
    origin = _vec3(origin, "grid.origin_mm") if origin is not None else None
    grid = Grid.from_extent_mm(extent, spacing, origin)
    check_fits_in_memory(grid)  # before the label volume is allocated
    preset = anatomy.get("preset")
    if preset is not None:
        try:
            model = presets.anatomy_model(preset, anatomy.get("parameters", {}))
            return grid, model.labels(grid), functools.partial(model.labels_at, spacing_mm=0.0)
        except KeyError as exc:
            raise ScenarioError(f"preset {preset!r}: unknown tissue {exc}") from None
    if "uniform" in anatomy:
        name = anatomy["uniform"]
        if name not in TISSUES:
            raise ScenarioError(unknown_tissue(name))
        props = anatomy.get("properties", {})
        i = anat.TISSUE_ORDER.index(name)
        tissues[i] = _tissue_with_overrides(name, {**overrides.get(name, {}), **props})
        return grid, anat.uniform_labels(grid, name), None
    raise ScenarioError("[anatomy] needs one of: preset, uniform, label_volume")


def scenario_from_dict(data: dict, base_dir: Path | None = None) -> Scenario:
    """Build and validate a :class:`Scenario` from a dictionary shaped like the TOML file.

    ``base_dir`` resolves a relative ``label_volume`` path (the scenario file's folder).
    """
    anatomy = data.get("anatomy")
    if not isinstance(anatomy, dict):
        raise ScenarioError(
            "the scenario needs an [anatomy] table (preset, uniform or label_volume)"
        )
    preset = anatomy.get("preset")
    if preset is not None:
        params = anatomy.get("parameters", {})
        try:
            defaults = presets.default_scenario(preset, params)
        except KeyError as exc:
            raise ScenarioError(str(exc.args[0])) from None
        except TypeError as exc:
            raise ScenarioError(f"preset {preset!r}: bad parameter ({exc})") from None
        except ValueError as exc:
            raise ScenarioError(f"preset {preset!r}: {exc}") from None
        data = _merge(defaults, data)

    overrides = data.get("tissues", {})
    tissues = [_tissue_with_overrides(name, overrides.get(name, {})) for name in anat.TISSUE_ORDER]
    for name in overrides:
        if name not in TISSUES:
            raise ScenarioError(unknown_tissue(name))
    grid, labels, exact_labels_at = _grid_and_labels(
        anatomy, data.get("grid", {}), tissues, overrides, base_dir
    )

    electrodes_t = data.get("electrodes", [])
    if not isinstance(electrodes_t, list):
        raise ScenarioError("electrodes must be an array of tables ([[electrodes]])")
    electrodes = [_electrode(e, n) for n, e in enumerate(electrodes_t, 1)]
    gen_t = data.get("generator", {})
    mode = gen_t.get("mode", "temperature")
    generator = Generator(
        mode=mode,
        target_temp_c=_number(gen_t, "target_temp_c", 90.0, "generator."),
        max_power_w=_number(gen_t, "max_power_w", gen_t.get("power_w", 50.0), "generator."),
        ramp_s=_number(gen_t, "ramp_s", 60.0 if mode == "temperature" else 0.0, "generator."),
        kp_w_per_k=_number(gen_t, "kp_w_per_k", Generator.kp_w_per_k, "generator."),
        ki_w_per_ks=_number(gen_t, "ki_w_per_ks", Generator.ki_w_per_ks, "generator."),
        **{
            limit: _number(gen_t, limit, what="generator.")
            for limit in ("max_voltage_v", "max_current_a", "max_impedance_ohm")
            if limit in gen_t
        },
    )
    probes = {str(k): _vec3(v, f"probe {k!r}") for k, v in data.get("probes", {}).items()}
    solver = data.get("solver", {})
    dt = solver.get("time_step_s")
    scenario = Scenario(
        grid=grid,
        labels=labels,
        exact_labels_at=exact_labels_at,
        tissues=tissues,
        electrodes=electrodes,
        generator=generator,
        duration_s=_number(data, "duration_s", what=""),
        probes_mm=probes,
        title=str(data.get("title", "Thermablate simulation")),
        criterion=str(solver.get("criterion", DEFAULT_CRITERION)),
        time_step_s=None if dt is None else _number(solver, "time_step_s", what="solver."),
        electric_update_s=_number(solver, "electric_update_s", 60.0, "solver."),
        electric_update_k=_number(solver, "electric_update_k", 10.0, "solver."),
        electric_update_water=_number(
            solver, "electric_update_water", Scenario.electric_update_water, "solver."
        ),
        electric_update_conductance=_number(
            solver,
            "electric_update_conductance",
            Scenario.electric_update_conductance,
            "solver.",
        ),
        record_interval_s=_number(solver, "record_interval_s", 1.0, "solver."),
        initial_temp_c=_number(data, "initial_temp_c", BODY_TEMPERATURE_C),
        needle_conduction=_flag(solver, "needle_conduction", True, "solver."),
        phase_change=_flag(solver, "phase_change", True, "solver."),
        electrode_surface_in_potential=_flag(
            solver, "electrode_surface_in_potential", True, "solver."
        ),
        subvoxel_interfaces=_flag(solver, "subvoxel_interfaces", True, "solver."),
    )
    scenario.validate()
    return scenario
