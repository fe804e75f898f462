"""Scenario: a fully resolved simulation problem, in numbers.

A :class:`Scenario` holds the grid, the tissue label of every cell, the tissues, the electrodes,
the generator and the solver settings: what the engine consumes, and nothing about where it
came from. Scenario files, anatomy models and presets are the planning layer's business
(``planning/scenario.py`` reads a TOML file into a :class:`Scenario`).

:meth:`Scenario.validate` runs before any computation: a scenario that cannot be simulated
raises :class:`ScenarioError` with one clear sentence. Positions are millimetres, as a user
states them; the grid is in metres, as the physics needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from thermablate.physics.bioheat import MaterialTables
from thermablate.physics.damage import CRITERIA, DEFAULT_CRITERION
from thermablate.physics.electrodes import Electrode, Needle
from thermablate.physics.generator import MODES, ROLL_OFF_TEMPERATURE_C, Generator
from thermablate.physics.grid import Grid, available_memory_bytes
from thermablate.physics.tissues import BODY_TEMPERATURE_C, Tissue

MEMORY_FRACTION = 0.6
"""Largest share of the available memory a simulation may plan to use. [-]"""

TIME_STEP_SAFETY = 0.95
"""Fraction of the largest stable forward-Euler step used by default. [-]"""

MAX_DURATION_S = 3600.0
"""Longest heating a scenario may ask for: clinical RF ablation of bone heats for minutes
(4-6 min for osteoid osteoma, NICE IPG53; up to ~15 min for large metastases), so an hour is
generous and anything longer is a typing error. [s]"""

MAX_GENERATOR_POWER_W = 250.0
"""Highest power limit accepted: the most powerful clinical RF ablation generators are rated
200-250 W (e.g. the RITA 1500X, 250 W); bone electrodes use 2-50 W. [W]"""

INITIAL_TEMPERATURE_RANGE_C = (0.0, 42.0)
"""Accepted start temperatures: from an ex vivo bench experiment at room temperature (or in a
cooled bath) to a febrile patient. [°C]"""

ASSUMED_CELL_UPDATES_PER_S = 5e7
"""Speed assumed for the run-time estimate: one slow core (the benchmark measures 1-2e8 cell
updates per second on two; see benchmarks/thermal.py). [1/s]"""

MAX_ESTIMATED_RUN_TIME_S = 3600.0
"""Runs estimated to take longer than this are refused before they start. [s]"""


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message says why."""


def check_fits_in_memory(grid: Grid) -> None:
    """Raise :class:`ScenarioError` if simulating on ``grid`` would not fit in memory.

    Called before a label volume is built for the grid, so that a grid that is far too large
    fails at once with the estimate instead of exhausting the memory.
    """
    need = grid.estimated_memory_bytes()
    have = available_memory_bytes()
    if need > MEMORY_FRACTION * have:
        raise ScenarioError(
            f"grid of {grid.shape[0]}x{grid.shape[1]}x{grid.shape[2]} = {grid.n_cells:,} cells needs "
            f"about {need / 1e9:.1f} GB but only {have / 1e9:.1f} GB is available; "
            "use a coarser spacing_mm or a smaller extent_mm"
        )


@dataclass
class Scenario:
    """A fully resolved simulation problem.

    Attributes
    ----------
    grid : Grid
    labels : ndarray of uint8
        Tissue label per cell, indexing ``tissues``.
    tissues : list of Tissue
    electrodes : list of Needle | Sphere
    generator : Generator
    duration_s : float
        Heating time. [s]
    probes_mm : dict
        Probe name -> position. [mm]
    criterion : str
        Ablation-zone criterion (``arrhenius``, ``cem43`` or ``isotherm-50c``).
    time_step_s : float or None
        Time step; None picks the largest stable one. [s]
    electric_update_s : float
        Longest interval between re-solves of the potential. [s]
    electric_update_k : float
        Temperature change of any cell that triggers a re-solve of the potential. [K]
    record_interval_s : float
        Interval between stored probe samples. [s]
    initial_temp_c : float
        Initial and boundary temperature. [°C]
    needle_conduction : bool
        Conduct heat along the needles' steel (``physics/needle.py``); off only to compare
        with the model without it.
    electric_update_water : float
        Fraction of any cell's water boiled off (or condensed) since the last solve that
        triggers a re-solve of the potential (with ``phase_change``): the cell's conductivity
        has then moved by 0.99 times that fraction of its wet value
        (``electric.conductivity_factor``). A guard on where the heat goes inside the boiling
        region; the delivered power is held by ``electric_update_conductance``. [-]
    electric_update_conductance : float
        Change of the load's electrical conductance, to first order, by the water boiled off
        (or condensed) since the last solve, that triggers a re-solve (with ``phase_change``):
        the delivered power is then wrong by about that fraction. [-]
    electrode_surface_in_potential : bool
        Give the potential, too, the contacts' true surfaces (``physics/embedded.py``); the
        heat equation always has them. On by default (issue 13; see docs/thermal-engine.md,
        "The contact's true surface"); off only to compare with the voxelised contact.
    phase_change : bool
        The tissue's water boils at 100 °C, taking up its latent heat, and the thermal
        conductivity rises with temperature (``physics/phase.py``). On for every plan; off
        only for the verifications against exact solutions with constant properties.
    subvoxel_interfaces : bool
        With ``exact_labels_at``, the faces near a tissue interface take the thermal and
        electrical conductance of what lies between their cell centres
        (``physics/interfaces.py``), the cells beside one the heat capacity, perfusion and
        water of what they hold (``physics/volume_fractions.py``), and the neural peaks are
        also read along those faces (``InterfaceFaces.peaks_along``). On by default; off
        only to compare with the voxelised interfaces (the Joule heat's split by resistance,
        ``electric.lower_shares``, stays on for the voxels' harmonic faces).
    exact_labels_at : callable or None
        The labels of the exact shapes ``labels`` was drawn from, at points given as x, y, z
        arrays in mm (a preset's anatomy; None for a segmented image). With it, each neural
        tissue's peak temperature and dose are read over its exact shape, not over its voxels
        (``physics/true_surface.py``).
    """

    grid: Grid
    labels: np.ndarray
    tissues: list[Tissue]
    electrodes: list[Electrode]
    generator: Generator
    duration_s: float
    probes_mm: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    title: str = "Thermablate simulation"
    criterion: str = DEFAULT_CRITERION
    time_step_s: float | None = None
    electric_update_s: float = 60.0
    electric_update_k: float = 10.0
    record_interval_s: float = 1.0
    initial_temp_c: float = BODY_TEMPERATURE_C
    needle_conduction: bool = True
    # Measured on the osteoid-osteoma preset (0.5 mm, 300 s): 11 solves and 5.856 ml with
    # these; 94 solves and 5.862 ml re-solving per 2 % of a cell's water (docs/thermal-engine.md).
    electric_update_water: float = 0.5
    electric_update_conductance: float = 0.01
    electrode_surface_in_potential: bool = True
    phase_change: bool = True
    subvoxel_interfaces: bool = True
    exact_labels_at: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    def validate(self) -> None:
        """Raise :class:`ScenarioError` on anything that cannot be simulated.

        Every number is checked to be finite and in range here, in the engine, and not only by
        the file reader: a NaN that slips through gives NaN temperatures, and those must never
        reach a verdict.
        """
        _finite(
            duration_s=self.duration_s, initial_temp_c=self.initial_temp_c,
            electric_update_s=self.electric_update_s, electric_update_k=self.electric_update_k,
            electric_update_water=self.electric_update_water,
            electric_update_conductance=self.electric_update_conductance,
            record_interval_s=self.record_interval_s,
            **({} if self.time_step_s is None else {"time_step_s": self.time_step_s}),
        )  # fmt: skip
        if self.duration_s <= 0:
            raise ScenarioError(f"duration_s must be positive, got {self.duration_s}")
        if self.duration_s > MAX_DURATION_S:
            raise ScenarioError(
                f"duration_s {self.duration_s:g} s is longer than {MAX_DURATION_S:g} s "
                "(bone ablation heats for minutes)"
            )
        low, high = INITIAL_TEMPERATURE_RANGE_C
        if not low <= self.initial_temp_c <= high:
            raise ScenarioError(
                f"initial_temp_c must be between {low:g} and {high:g} °C, got {self.initial_temp_c:g}"
            )
        for tissue in self.tissues:
            try:
                tissue.validate()
            except ValueError as exc:
                raise ScenarioError(str(exc)) from None
        if self.criterion not in CRITERIA:
            raise ScenarioError(
                f"unknown ablation criterion {self.criterion!r} (known: {', '.join(CRITERIA)})"
            )
        if self.labels.shape != self.grid.shape:
            raise ScenarioError("label volume and grid have different shapes")
        check_fits_in_memory(self.grid)
        if not self.electrodes:
            raise ScenarioError("the scenario has no electrode")
        for n, e in enumerate(self.electrodes, 1):
            points = [np.asarray(e.tip_mm, float)]
            if isinstance(e, Needle):
                points.append(np.asarray(e.tip_mm) - e.active_tip_mm * e.unit_direction)
                if e.bipolar:
                    points.append(
                        np.asarray(e.tip_mm) - (2 * e.active_tip_mm + e.gap_mm) * e.unit_direction
                    )
            else:
                c = np.asarray(e.centre_mm, float)
                points += [c + e.radius_mm * s for s in np.eye(3)] + [
                    c - e.radius_mm * s for s in np.eye(3)
                ]
            for p in points:
                if not self.grid.contains_m(p * 1e-3):
                    raise ScenarioError(
                        f"electrode {n}: its active part reaches {_fmt(p)} mm, outside the grid "
                        f"({_box(self.grid)})"
                    )
        for name, p in self.probes_mm.items():
            if not self.grid.contains_m(np.asarray(p, float) * 1e-3):
                raise ScenarioError(
                    f"probe {name!r} at {_fmt(p)} mm is outside the grid ({_box(self.grid)})"
                )
        g = self.generator
        if g.mode not in MODES:
            raise ScenarioError(f"unknown generator mode {g.mode!r} (known: {', '.join(MODES)})")
        _finite(
            **{f"generator.{k}": getattr(g, k)
               for k in ("target_temp_c", "max_power_w", "ramp_s", "kp_w_per_k", "ki_w_per_ks")}
        )  # fmt: skip
        for limit in ("max_voltage_v", "max_current_a", "max_impedance_ohm"):
            value = getattr(g, limit)
            if value is not None:
                _finite(**{f"generator.{limit}": value})
                if value <= 0:
                    raise ScenarioError(f"generator.{limit} must be positive, got {value:g}")
        if g.max_power_w > MAX_GENERATOR_POWER_W:
            raise ScenarioError(
                f"generator.max_power_w {g.max_power_w:g} W is above the {MAX_GENERATOR_POWER_W:g} W "
                "of the most powerful RF ablation generators"
            )
        for gain in ("kp_w_per_k", "ki_w_per_ks"):
            if getattr(g, gain) < 0:
                raise ScenarioError(
                    f"generator.{gain} must not be negative, got {getattr(g, gain):g} "
                    "(a negative gain turns the power down as the tip cools)"
                )
        if g.mode == "temperature" and g.kp_w_per_k == 0 and g.ki_w_per_ks == 0:
            raise ScenarioError(
                "at least one of the controller gains (generator.kp_w_per_k, generator.ki_w_per_ks) "
                "must be positive in temperature mode, or the generator never heats"
            )
        if g.mode in ("temperature", "held") and not (
            self.initial_temp_c < g.target_temp_c < ROLL_OFF_TEMPERATURE_C
        ):
            raise ScenarioError(
                f"target_temp_c must be between body temperature and {ROLL_OFF_TEMPERATURE_C:g} °C "
                f"(tissue boils at 100 °C), got {g.target_temp_c}"
            )
        if g.max_power_w <= 0 or g.ramp_s < 0:
            raise ScenarioError("max_power_w must be positive and ramp_s not negative")
        if self.time_step_s is not None and self.time_step_s <= 0:
            raise ScenarioError("time_step_s must be positive")
        if min(self.electric_update_s, self.electric_update_k, self.record_interval_s) <= 0:
            raise ScenarioError(
                "electric_update_s, electric_update_k and record_interval_s must be positive"
            )
        if not 0 < self.electric_update_water <= 1:
            raise ScenarioError(
                f"electric_update_water must be in (0, 1], got {self.electric_update_water}"
            )
        if not 0 < self.electric_update_conductance <= 1:
            raise ScenarioError(
                "electric_update_conductance must be in (0, 1], got "
                f"{self.electric_update_conductance}"
            )
        self._check_run_time()

    def material_tables(self) -> MaterialTables:
        """The heat equation's per-tissue coefficients on this grid."""
        return MaterialTables(
            [t.thermal_conductivity_w_mk for t in self.tissues],
            [t.volumetric_heat_capacity_j_m3k for t in self.tissues],
            [t.perfusion_heat_sink_w_m3k for t in self.tissues],
            self.grid.spacing_m,
            **(
                {
                    "water_mass_fraction": [t.water_mass_fraction for t in self.tissues],
                    "density_kg_m3": [t.density_kg_m3 for t in self.tissues],
                }
                if self.phase_change
                else {}
            ),
        )

    def estimated_run_time_s(self) -> float:
        """Pessimistic estimate of the time loop's duration (one slow core). [s]"""
        dt = self.time_step_s
        if dt is None:
            dt = TIME_STEP_SAFETY * self.material_tables().stable_time_step_s(self.labels)
        steps = np.ceil(self.duration_s / dt)
        return float(steps * self.grid.n_cells / ASSUMED_CELL_UPDATES_PER_S)

    def _check_run_time(self) -> None:
        estimate = self.estimated_run_time_s()
        if estimate > MAX_ESTIMATED_RUN_TIME_S:
            raise ScenarioError(
                f"this run would take about {estimate / 3600:.1f} h ({self.grid.n_cells:,} cells, "
                f"{self.duration_s:g} s of heating); the limit is "
                f"{MAX_ESTIMATED_RUN_TIME_S / 3600:g} h: use a coarser spacing_mm or a shorter duration_s"
            )


def _finite(**values: float) -> None:
    for name, value in values.items():
        if not np.isfinite(value):
            raise ScenarioError(f"{name} must be a finite number, got {value!r}")


def _fmt(p) -> str:
    return "(" + ", ".join(f"{float(v):.1f}" for v in p) + ")"


def _box(grid: Grid) -> str:
    lo = np.asarray(grid.origin_m) * 1e3
    hi = grid.upper_m * 1e3
    return "x {:.1f}..{:.1f}, y {:.1f}..{:.1f}, z {:.1f}..{:.1f} mm".format(
        *np.ravel(np.column_stack([lo, hi]))
    )
