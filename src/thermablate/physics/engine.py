"""Time stepping: the coupled electric-thermal simulation of a scenario.

:func:`iterate` is a generator yielding ``(t_s, state)`` after every step (scikit-fem style):
the caller decides what to record and when to stop. :func:`simulate` runs it to the end,
records the probes and returns a :class:`~thermablate.physics.results.Result`.

Coupling: the potential is re-solved with the conductivity of the current temperatures and
water (``sigma = sigma_37 (1 + alpha (T - 37))`` times the desiccation drop as the water boils
off, ``electric.conductivity_factor``) whenever some cell has changed by ``electric_update_k``
kelvin since the last solve (checked every ``record_interval_s``), whenever the water boiled
off (or condensed) has moved the load's conductance by ``electric_update_conductance`` or some
cell's water by ``electric_update_water`` of its content (both checked every step,
:func:`_water_drift`), and at least every ``electric_update_s`` seconds, with the previous
potential as starting guess. Between updates the Joule-heat pattern is kept and only its
amplitude follows the generator. The test suite checks that the ablation zone moves by less than
a few per cent against a 1 K update (tests/physics/test_engine.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numba
import numpy as np

from thermablate.physics import multigrid
from thermablate.physics.bioheat import (
    BioheatState,
    CellProperties,
    face_coefficients,
    stable_time_step_of_faces_s,
)
from thermablate.physics.electric import (
    DESICCATION_FACTOR,
    DESICCATION_ONSET_C,
    ElectricSolution,
    conductivity_factor,
    solve_potential,
)
from thermablate.physics.electrodes import Needle, rasterise, shaft_cells, shaft_start_mm
from thermablate.physics.embedded import contact_parts, embedded_faces
from thermablate.physics.generator import MODEL_LIMIT_C, ROLL_OFF_IMPEDANCE_RATIO, PIController
from thermablate.physics.interfaces import apply_thermal, interface_faces
from thermablate.physics.needle import build_chain, conduct
from thermablate.physics.scenario import TIME_STEP_SAFETY, Scenario
from thermablate.physics.volume_fractions import tissue_fractions

ELECTRIC_RTOL = 1e-5
"""Relative residual of the potential solve; the power it implies is then accurate to far
better than the 1 % the generator model needs. [-]"""

STOP_OVERSHOOT_MARGIN_K = 2.0
"""How far past ``MODEL_LIMIT_C`` any cell may get before the run stops. A step whose Joule
heat could carry a cell further is halved until it cannot. (Before, a one-voxel electrode
reached 402 °C in one step.) [K]"""

MAX_STEP_HALVINGS = 20
"""A step is halved at most this often (to ``dt / 2**20``); a source that still heats too fast
stops the run with a message rather than crawling on. [-]"""


@dataclass
class State:
    """What the time loop exposes after each step (arrays are live views: copy to keep).

    ``perfusion_loss_j``, ``boundary_loss_j`` and ``stored_energy_j`` are only integrated with
    ``track_energy`` (they cost reductions over the grid every step); otherwise they stay 0.
    """

    time_s: float
    temperature_c: np.ndarray
    damage: np.ndarray
    cem43_min: np.ndarray
    max_temperature_c: np.ndarray
    power_w: float = 0.0
    tip_temperature_c: float = float("nan")
    impedance_ohm: float = float("nan")
    energy_delivered_j: float = 0.0
    perfusion_loss_j: float = 0.0
    boundary_loss_j: float = 0.0
    stored_energy_j: float = 0.0
    electric_solves: int = 0
    steps: int = 0
    shortened_steps: int = 0
    stopped_reason: str | None = None
    power_limited_s: dict = field(
        default_factory=lambda: {"power": 0.0, "voltage": 0.0, "current": 0.0}
    )
    """Time the delivered power sat at each of the generator's limits (max_power_w, the
    voltage's V^2/Z, the current's I^2 Z). [s]"""
    info: dict = field(default_factory=dict)


class Simulation:
    """Set-up shared by the time loop: tables, masks, time step (done once, outside the loop)."""

    def __init__(self, scenario: Scenario):
        scenario.validate()
        self.scenario = s = scenario
        g = s.grid
        self.labels = np.ascontiguousarray(s.labels, dtype=np.uint8)
        self.tables = s.material_tables()
        self.masks = rasterise(g, s.electrodes)
        if not self.masks.active_a.any():
            raise ValueError("the electrode's active part covers no voxel; refine spacing_mm")
        self.sigma37 = np.array([t.electrical_conductivity_s_m for t in s.tissues])[self.labels]
        self.alpha = np.array([t.sigma_temperature_coefficient_per_k for t in s.tissues])[
            self.labels
        ]
        self.sigma37[self.masks.insulated] = 0.0
        self._set_interfaces(s)
        stable = (
            self.tables.stable_time_step_s(self.labels)
            if self.thermal_faces is None
            # Faces at an interface can be stiffer than their two cells' harmonic mean.
            else stable_time_step_of_faces_s(
                self.thermal_faces, self.labels, self.tables, self.fractions
            )
        )
        dt = s.time_step_s if s.time_step_s is not None else TIME_STEP_SAFETY * stable
        if dt > stable * (1 + 1e-9):
            raise ValueError(f"time_step_s {dt:g} s exceeds the stable limit {stable:.4g} s")
        self.n_steps = max(1, math.ceil(s.duration_s / dt - 1e-9))
        self.dt_s = s.duration_s / self.n_steps
        self.stable_dt_s = stable
        self.held = np.zeros(g.shape, bool)
        self.mode = s.generator.mode
        if self.mode == "held":
            self.held = self.masks.active.copy()
        self.fixed = self.masks.active
        self.fixed_value_v = self.masks.active_a.astype(float)
        e0 = s.electrodes[0]
        h_mm = g.spacing_mm
        if isinstance(e0, Needle):
            tc = e0.thermocouple_position_mm - 0.25 * h_mm * e0.unit_direction
        else:
            tc = e0.thermocouple_position_mm
        self.thermocouple_index = g.index_of_m(np.asarray(tc) * 1e-3)
        self.tissue_cells = ~self.masks.metal
        # Each metal contact is isothermal: steel conducts heat ~30-100 times better than tissue,
        # so a 5-20 mm active tip equalises its temperature (the tip thermocouple then reads the
        # contact's temperature, as in a real electrode). The contacts are the first nodes of
        # the needle chain, whose shafts conduct heat along the steel (physics/needle.py).
        contacts = contact_parts(self.masks)
        # The contacts' true surfaces on the faces beside them (physics/embedded.py): in the
        # held cells' coupling and in the contact nodes' (below), and in the potential unless
        # the scenario turns it off (electrode_surface_in_potential, on by default since
        # issue 13).
        self.embedded = embedded_faces(g, s.electrodes, self.masks)
        shafts = []
        if s.needle_conduction:
            for e in s.electrodes:
                if isinstance(e, Needle) and contacts:
                    shaft, s_m = shaft_cells(g, e)
                    shaft &= self.masks.insulated
                    # A point just inside the proximal contact (towards the tip).
                    inside = g.index_of_m(
                        shaft_start_mm(e) * 1e-3 + 0.25 * g.spacing_m * e.unit_direction
                    )
                    joined = _nearest_contact(contacts, inside)
                    shafts.append((joined, shaft, s_m, math.pi * (e.radius_mm * 1e-3) ** 2))
        rhoc = CellProperties.of(self.tables, self.labels, self.fractions).rhoc
        rows, starts = self.embedded.cell_rows()
        g_faces = self.embedded.conductance_per_volume(self.tables.k[self.labels], g.spacing_m)
        coupled = (
            rows,
            np.add.reduceat(g_faces, starts[:-1]) if len(rows) else np.zeros(0),
            self.embedded.contact[starts[:-1]],
        )
        self.chain = build_chain(g, contacts, shafts, rhoc, coupled)
        self.inv_rhoc = 1.0 / rhoc
        # The potential's re-solves reuse the multigrid hierarchy's arrays (not its values).
        self.electric_workspace = multigrid.Workspace()

    def _set_interfaces(self, s: Scenario) -> None:
        """With the exact shapes the labels were drawn from, the faces near a tissue interface
        get the conductances of what lies between their centres (``physics/interfaces.py``),
        in the heat equation (``thermal_faces``) and the potential (``electric_interfaces``),
        and the cells beside one the heat capacity, perfusion and water of the tissues inside
        them (``fractions``, ``physics/volume_fractions.py``); without them all three stay
        None, every face is the harmonic mean of its two cells and every cell is its label."""
        self.thermal_faces = self.electric_interfaces = self.fractions = None
        self.interface_faces = None
        if s.exact_labels_at is None or not s.subvoxel_interfaces:
            return
        faces = interface_faces(s.grid, self.labels, s.exact_labels_at, self.masks.metal)
        if not faces.n_faces:
            return
        self.interface_faces = faces  # the results read the neural peaks along them too
        self.fractions = tissue_fractions(
            s.grid, self.labels, s.exact_labels_at, self.masks.metal, len(s.tissues)
        )
        thermal = faces.for_property(self.tables.k, self.labels)
        self.thermal_faces = face_coefficients(self.labels, self.tables)
        apply_thermal(self.thermal_faces, thermal, self.tables.k[self.labels], s.grid.spacing_m)
        sigma_by_label = np.array([t.electrical_conductivity_s_m for t in s.tissues])
        self.electric_interfaces = faces.for_property(sigma_by_label, self.labels)

    def peak_heating_rate_k_per_ws(self, electric: ElectricSolution) -> float:
        """Fastest Joule heating of any cell per watt delivered, ``max(q / (rho c)) / P``. [K/J]"""
        rate = np.max(electric.joule_unit_w_m3 * self.inv_rhoc) / electric.power_unit_w
        return float(rate) if math.isfinite(rate) else math.inf

    def solve_electric(self, temperature_c, previous: ElectricSolution | None,
                       water_fraction=None) -> ElectricSolution:  # fmt: skip
        """The potential with the conductivity of ``temperature_c`` and, with the tissue's
        boiling modelled, of the water each cell has left (``electric.conductivity_factor``)."""
        sigma = self.sigma37 * conductivity_factor(temperature_c, self.alpha, water_fraction)
        return solve_potential(
            self.scenario.grid, sigma, self.fixed, self.fixed_value_v,
            self.masks.boundary_grounded,
            initial_v=None if previous is None else previous.potential_v, rtol=ELECTRIC_RTOL,
            embedded=self.embedded if self.scenario.electrode_surface_in_potential else None,
            workspace=self.electric_workspace, interfaces=self.electric_interfaces,
        )  # fmt: skip


def _nearest_contact(contacts: list[np.ndarray], index: tuple[int, int, int]) -> int:
    """The contact holding the cell ``index``, or the one with a cell nearest to it."""
    point = np.asarray(index)
    best, best_d = 0, np.inf
    for k, mask in enumerate(contacts):
        if mask[index]:
            return k
        d = np.min(np.sum((np.argwhere(mask) - point) ** 2, axis=1))
        if d < best_d:
            best, best_d = k, d
    return best


@numba.njit(parallel=True, cache=True, nogil=True, fastmath={"nnan", "ninf", "nsz", "reassoc"})
def _scan(t_pad_c, t_at_solve_c, onset_c):
    """One pass over the grid for the re-solve checks. [K], [-]

    Returns the largest change of any cell since the last potential solve and the number of
    cells above ``onset_c``. Written branch-free, with the fast-math flags that let LLVM
    vectorise max-reductions (the temperatures are finite: the kernel's own check after every
    step stops the run otherwise; no rounding is involved in a maximum or a count), and in
    parallel over x-planes (for the same reason the result does not depend on the threads;
    it runs every ``record_interval_s``, 291 times in the benchmark, 0.2 ms each serially).
    """
    nx, ny, nz = t_at_solve_c.shape
    drift = 0.0
    above = 0
    for i in numba.prange(nx):
        for j in range(ny):
            row = t_pad_c[i + 1, j + 1, 1 : nz + 1]
            ref = t_at_solve_c[i, j]
            for k in range(nz):
                t = row[k]
                drift = max(drift, abs(t - ref[k]))
                above += t > onset_c
    return drift, above


@numba.njit(cache=True, nogil=True)
def _water_drift(column_boiling, column_at_solve, latent, latent_at_solve, inv_latent_max,
                 q_at_solve, dry_factor):  # fmt: skip
    """How far the water boiled off (or condensed) since the last potential solve has moved
    the conductivity: ``(largest, load)``. [-], [-]

    ``largest`` is the largest fraction of any cell's water moved, ``max |L - L_solve| /
    L_max``. ``load`` is the first-order change of the load's conductance,
    ``sum q_i dsigma_i / sigma_i``, to be divided by ``sum q_i``: by the variational
    principle of the potential (the conductance is the minimum of ``sum sigma |grad V|^2``
    at unit voltage), ``dG / dsigma_i`` is cell ``i``'s Joule heat at unit voltage, ``q_i``
    at the last solve. A cell beside the contact, where the current crowds, moves the load
    more than one where little current flows, so the load changes the delivered power before
    any one cell has dried much, and a cell far from the current can dry without it.
    Each face's dissipation goes to its two cells by their halves' resistance
    (``electric.lower_shares``), so between tissue cells ``q_i`` is the discrete
    sensitivity itself; beside a contact the face is split evenly (its half heats the contact
    node, which carries no water), so there a tissue cell's ``q_i`` is about half its
    sensitivity and the trigger fires at up to twice ``electric_update_conductance``.
    Measured against re-solving per 1-2 % of any cell's water, the zone moves by 0.1 % and a
    roll-off is found on time (tests/physics/test_desiccation.py).

    Only the z-columns that hold latent heat now or held some at the solve
    (``column_boiling``, the kernel's count, and its copy at the solve) are visited: boiling is
    confined to a few cells beside the contacts, so this costs a pass over the small
    (x, z) count arrays, and can run after every step.
    """
    nx, ny, nz = latent.shape
    moved = 0.0
    load = 0.0
    for i in range(nx):
        for k in range(nz):
            if column_boiling[i, k] == 0 and column_at_solve[i, k] == 0:
                continue
            for j in range(ny):
                inv = inv_latent_max[i, j, k]
                now = latent[i, j, k] * inv
                then = latent_at_solve[i, j, k] * inv
                moved = max(moved, abs(now - then))
                # sigma follows dry + (1 - dry) w, with w = 1 - L / L_max the water left.
                sigma_then = dry_factor + (1.0 - dry_factor) * (1.0 - then)
                load += q_at_solve[i, j, k] * (1.0 - dry_factor) * (then - now) / sigma_then
    return moved, load


def iterate(scenario: Scenario, track_energy: bool = False) -> Iterator[tuple[float, State]]:
    """Yield ``(t_s, state)`` after every time step until ``duration_s`` or a stop condition.

    Parameters
    ----------
    scenario : Scenario
        The problem.
    track_energy : bool
        Also integrate the stored energy and the heat lost through perfusion and the boundary
        (costs reductions per step; used by the energy-balance test). Without it, those three
        stay 0.
    """
    sim = Simulation(scenario)
    yield from _run(sim, track_energy)


def _lowest_bit(n: int) -> int:
    return n & -n


def _time_of(tick: int, end_tick: int, duration_s: float) -> float:
    """The time reached after ``tick`` of ``end_tick`` ticks, the last exactly ``duration_s``
    (``tick / ticks * dt`` ended a 240 s run at 239.99999999999997 s with some step counts,
    and a recording or a caller waiting for the duration would miss it). [s]"""
    return duration_s if tick == end_tick else tick * duration_s / end_tick


def _run(sim: Simulation, track_energy: bool) -> Iterator[tuple[float, State]]:
    """The time loop (see :func:`iterate`).

    Steps are the scenario's step ``dt``, or that step halved as often as needed so that

    - the Joule heat of one step cannot carry any cell more than ``STOP_OVERSHOOT_MARGIN_K``
      past ``MODEL_LIMIT_C`` (the heat equation's own update is a convex combination of the
      old temperatures, so only the source can overshoot), and
    - in temperature mode, the controller's proportional action cannot heat the fastest-heating
      cell by more than the error that caused it within one step (loop gain
      ``kp * max(q / (rho c P)) * h <= 1``); a coarser step made the tip of a one-voxel
      electrode swing between 86 and 101 °C, as a generator sampling that slowly would.

    Shortened steps stay on a dyadic grid inside each step ``dt``, so that every ``n dt`` is
    still reached exactly. The hottest cell and any non-finite temperature are checked after
    every step, and after every step the needle chain takes its implicit step.
    """
    s = sim.scenario
    gen = s.generator
    bio = BioheatState(
        s.grid,
        sim.labels,
        sim.tables,
        s.initial_temp_c,
        s.initial_temp_c,
        sim.embedded,
        without_water=sim.masks.metal,
        chain=sim.chain,
        faces=None if sim.thermal_faces is None else tuple(f.copy() for f in sim.thermal_faces),
        fractions=sim.fractions,
    )
    state = State(0.0, bio.temperature_c, bio.damage, bio.cem43_min, bio.max_temperature_c)
    controller = PIController(gen)
    dt = sim.dt_s
    if sim.mode == "held":
        q_unit = np.zeros(s.grid.shape)
        electric = None
        peak_rate = 0.0
    else:
        electric = sim.solve_electric(bio.temperature_c, None, bio.water_fraction())
        state.electric_solves = 1
        q_unit = electric.joule_unit_w_m3
        peak_rate = sim.peak_heating_rate_k_per_ws(electric)
        state.impedance_ohm = electric.impedance_ohm
    q_unit_total = float(np.sum(q_unit))
    next_electric_t = s.electric_update_s
    t_at_solve = bio.temperature_c.copy()
    desiccated_at_solve = 0
    boiling = bio.phase_change
    if boiling:
        latent_at_solve = bio.latent_j_m3.copy()
        column_at_solve = bio.column_boiling.copy()
        lm = bio.latent_max_j_m3
        inv_latent_max = np.divide(1.0, lm, out=np.zeros(lm.shape), where=lm > 0.0)
    min_impedance = state.impedance_ohm
    e0 = bio.stored_energy_j(s.initial_temp_c) if track_energy else 0.0
    check_every = max(1, int(round(s.record_interval_s / dt)))
    ti = sim.thermocouple_index
    held = sim.held if sim.mode == "held" else None
    chain = sim.chain.arrays()
    state.tip_temperature_c = float(bio.temperature_c[ti])
    limited_s = state.power_limited_s
    if (cut_off := _impedance_cut_off(gen, state.impedance_ohm, 0.0)) is not None:
        state.stopped_reason = cut_off
        yield 0.0, state
        return
    ticks = 1 << MAX_STEP_HALVINGS  # ticks per step dt
    end_tick = sim.n_steps * ticks
    tick = 0
    while tick < end_tick:
        t0 = _time_of(tick, end_tick, s.duration_s)
        into_step = tick % ticks
        size = _lowest_bit(into_step) if into_step else ticks
        allowed_rise_k = max(STOP_OVERSHOOT_MARGIN_K, MODEL_LIMIT_C - bio.hottest_c)
        # What the generator's output limits allow into the present load (held mode is ideal).
        allowances = gen.output_limits_w(state.impedance_ohm)
        limit_w = min(allowances["voltage"], allowances["current"])
        while True:
            h = dt * size / ticks
            if sim.mode == "temperature":
                power, integral = controller.propose(t0, state.tip_temperature_c, h, limit_w)
            elif sim.mode == "power":
                power = gen.power_set_w(t0, limit_w)
            else:
                power = 0.0
            fast_enough = power * peak_rate * h <= allowed_rise_k and (
                sim.mode != "temperature" or gen.kp_w_per_k * peak_rate * h <= 1.0
            )
            if fast_enough or size == 1:
                break
            size //= 2
        if power * peak_rate * h > allowed_rise_k:
            state.stopped_reason = (
                f"the power density at t = {t0:.1f} s ({power:.1f} W) heats tissue too fast to "
                "follow; lower the power or use a larger electrode"
            )
            yield t0, state
            return
        if sim.mode == "temperature":
            controller.accept(integral)
        if size < ticks:
            state.shortened_steps += 1
        if held is None and power > 0:
            binding = min(allowances, key=allowances.get)
            if power >= allowances[binding] * (1 - 1e-12):
                limited_s[binding] += h
        held_value = gen.set_point_c(t0 + h, s.initial_temp_c) if held is not None else 0.0
        q_scale = power / electric.power_unit_w if electric is not None else 0.0
        perf_w, held_w = bio.advance(
            held, held_value, q_unit, q_scale, s.initial_temp_c, h, perfusion=track_energy
        )
        if track_energy:  # boundary flux from the start of each (sub-)step, as the update's
            state.boundary_loss_j += bio.boundary_loss_j
        if held is None:
            lost_j = conduct(
                bio.temperature_padded_c, bio.max_temperature_c, *chain, s.initial_temp_c, h
            )
            if track_energy:
                state.boundary_loss_j += lost_j
        tick += size
        t = _time_of(tick, end_tick, s.duration_s)
        state.steps += 1
        state.time_s = t
        state.temperature_c = bio.temperature_c
        state.power_w = power if held is None else held_w
        state.energy_delivered_j += state.power_w * h
        state.perfusion_loss_j += perf_w * h
        state.tip_temperature_c = float(bio.temperature_c[ti])
        if track_energy:
            state.stored_energy_j = bio.stored_energy_j(s.initial_temp_c) - e0
        if bio.nonfinite_columns or not math.isfinite(state.tip_temperature_c + state.power_w):
            state.stopped_reason = (
                f"numerical failure: a temperature became NaN or infinite at t = {t:.2f} s "
                f"(in {bio.nonfinite_columns} columns of cells); the results of this run are not valid"
            )
            yield t, state
            return
        if bio.hottest_c >= MODEL_LIMIT_C:
            state.stopped_reason = (
                f"tissue reached {MODEL_LIMIT_C:g} °C at t = {t:.1f} s: boiling and charring are "
                "beyond the model, so the run stopped here; lower the power or the target"
            )
            yield t, state
            return
        n, into_step = divmod(tick, ticks)
        at_check = into_step == 0 and (n % check_every == 0 or n == sim.n_steps)
        water_moved = False
        if boiling:
            # The conductivity follows the water boiled off (electric.conductivity_factor),
            # which the power bounds: re-solve once it has moved the load's conductance by
            # electric_update_conductance, or one cell's by electric_update_water, since the
            # last solve (checked every step, cheaply: see _water_drift).
            if electric is not None:
                largest, load = _water_drift(
                    bio.column_boiling, column_at_solve, bio.latent_j_m3, latent_at_solve,
                    inv_latent_max, q_unit, DESICCATION_FACTOR,
                )  # fmt: skip
                water_moved = (
                    largest >= s.electric_update_water
                    or abs(load) >= s.electric_update_conductance * q_unit_total
                )
            checking = at_check or water_moved
        else:
            # Without the boiling modelled, the conductivity drops a hundredfold between 99 and
            # 100 °C: near boiling the checks run every step, and the potential is re-solved
            # whenever the number of cells above 99 °C changes.
            checking = at_check or bio.hottest_c >= DESICCATION_ONSET_C - 4.0
        if checking:
            drift, desiccated = _scan(bio.temperature_padded_c, t_at_solve, DESICCATION_ONSET_C)
            if (
                electric is not None
                and tick < end_tick
                and (
                    water_moved
                    or drift >= s.electric_update_k
                    or t >= next_electric_t - 1e-9
                    or (not boiling and desiccated != desiccated_at_solve)
                )
            ):
                desiccated_at_solve = desiccated
                electric = sim.solve_electric(bio.temperature_c, electric, bio.water_fraction())
                t_at_solve[...] = bio.temperature_c
                if boiling:
                    latent_at_solve[...] = bio.latent_j_m3
                    column_at_solve[...] = bio.column_boiling
                q_unit = electric.joule_unit_w_m3
                q_unit_total = float(np.sum(q_unit))
                peak_rate = sim.peak_heating_rate_k_per_ws(electric)
                state.impedance_ohm = electric.impedance_ohm
                min_impedance = min(min_impedance, state.impedance_ohm)
                state.electric_solves += 1
                next_electric_t = t + s.electric_update_s
                # The impedance changes only here: the roll-off and the cut-off act on the step
                # that revealed them.
                if (
                    sim.mode == "power"
                    and state.impedance_ohm > ROLL_OFF_IMPEDANCE_RATIO * min_impedance
                ):
                    state.stopped_reason = (
                        f"impedance roll-off at t = {t:.0f} s: the load rose from "
                        f"{min_impedance:.0f} to {state.impedance_ohm:.0f} ohm as tissue "
                        "desiccated; the generator cuts power here"
                    )
                    yield t, state
                    return
                if (cut_off := _impedance_cut_off(gen, state.impedance_ohm, t)) is not None:
                    state.stopped_reason = cut_off
                    yield t, state
                    return
        yield t, state


def _impedance_cut_off(gen, impedance_ohm: float, t_s: float) -> str | None:
    """The stop message when the load's impedance is above the generator's cut-off, else None."""
    if gen.mode == "held" or gen.max_impedance_ohm is None:
        return None
    if not impedance_ohm > gen.max_impedance_ohm:
        return None
    if t_s == 0:
        return (
            f"impedance cut-off: the load is {impedance_ohm:.0f} ohm before heating, above the "
            f"generator's {gen.max_impedance_ohm:.0f} ohm cut-off; it would not start"
        )
    return (
        f"impedance cut-off at t = {t_s:.1f} s: the load rose to {impedance_ohm:.0f} ohm, above "
        f"the generator's {gen.max_impedance_ohm:.0f} ohm cut-off, as tissue desiccated; RF "
        "output stops here"
    )


def simulate(scenario: Scenario, progress: Callable[[float, State], None] | None = None,
             track_energy: bool = False):  # fmt: skip
    """Run a scenario to the end and return its :class:`~thermablate.physics.results.Result`.

    Parameters
    ----------
    scenario : Scenario
        The problem (scenario files are read into one by the planning layer's
        ``load_scenario``).
    progress : callable, optional
        Called as ``progress(t_s, state)`` about every ``record_interval_s``.
    track_energy : bool
        Integrate the full energy balance (see :func:`iterate`).

    Examples
    --------
    >>> result = simulate(scenario)  # doctest: +SKIP
    >>> result.zone.volume_ml  # doctest: +SKIP
    """
    from thermablate.physics.results import Recorder

    wall0 = time.perf_counter()
    sim = Simulation(scenario)
    recorder = Recorder(sim)
    every_s = max(1, int(round(scenario.record_interval_s / sim.dt_s))) * sim.dt_s
    next_record_s = every_s
    state = None
    for t, state in _run(sim, track_energy):
        at_end = t >= scenario.duration_s - 1e-9 * sim.dt_s
        if t >= next_record_s - 1e-9 * sim.dt_s or at_end or state.stopped_reason:
            recorder.record(t, state)
            next_record_s += every_s
            if progress is not None:
                progress(t, state)
    return recorder.result(state, time.perf_counter() - wall0)
