"""Results of a simulation: probes, ablation zone, per-tissue maxima, energy.

Numbers only: judging them (the neural safety verdict) is the planning layer's job, from the
per-tissue maxima of temperature and dose recorded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from thermablate.physics.damage import ablated
from thermablate.physics.electrodes import Needle
from thermablate.physics.grid import trilinear, trilinear_weights
from thermablate.physics.scenario import Scenario
from thermablate.physics.true_surface import exact_labels_on_grid, peaks_over_exact_shape


@dataclass
class ProbeResult:
    """A virtual thermocouple. Temperatures [°C], CEM43 [min]."""

    name: str
    position_mm: tuple[float, float, float]
    final_temp_c: float
    max_temp_c: float
    cem43_min: float


@dataclass
class Zone:
    """The ablation zone under ``criterion``.

    ``axial_mm`` is its extent along the (first) electrode's axis, ``transverse_mm`` the largest
    extent across it, ``volume_ml`` its volume. Each extent counts whole voxels.
    """

    criterion: str
    axial_mm: float
    transverse_mm: float
    volume_ml: float


@dataclass
class Result:
    """Everything a simulation reports.

    Attributes
    ----------
    time_s : ndarray
        Sample times. [s]
    probe_temperature_c : dict
        Probe name -> temperature at ``time_s``. [°C]
    tip_temperature_c, power_w, impedance_ohm : ndarray
        Generator traces at ``time_s``. [°C], [W], [ohm]
    probes : list of ProbeResult
    zone : Zone
    tissues : dict
        Tissue name -> {"max_temp_c", "max_cem43_min"} over the tissue's cells (electrode
        cells excluded), for the tissues present, in the order of ``scenario.tissues``; a
        neural tissue's over its exact shape when ``neural_peaks_over_exact_shapes``.
    neural_peaks_over_exact_shapes : bool
        The scenario gave the exact shapes its labels were drawn from (a preset), and the
        neural tissues' peaks were read over them (``physics/true_surface.py``): false for a
        segmented image, and for an anatomy with no neural structure.
    energy_delivered_j : float
        Electrical energy into the tissue (held mode: heat supplied by the held surface). [J]
    power_limited_s : dict
        Time the power sat at each of the generator's limits: ``"power"`` (max_power_w),
        ``"voltage"`` and ``"current"`` (its output limits at the load's impedance). [s]
    """

    title: str
    duration_s: float
    time_step_s: float
    steps: int
    cells: int
    spacing_mm: float
    wall_time_s: float
    time_s: np.ndarray
    probe_temperature_c: dict[str, np.ndarray]
    tip_temperature_c: np.ndarray
    power_w: np.ndarray
    impedance_ohm: np.ndarray
    probes: list[ProbeResult]
    zone: Zone
    tissues: dict[str, dict[str, float]]
    energy_delivered_j: float
    energy_balance: dict[str, float]
    stopped_reason: str | None
    neural_peaks_over_exact_shapes: bool = False
    electric_solves: int = 0
    shortened_steps: int = 0
    power_limited_s: dict[str, float] = field(default_factory=dict)
    fields: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    scenario: Scenario | None = field(repr=False, default=None)

    def _neural_peaks_read_over(self) -> str | None:
        """ "exact shapes", "voxels", or None when no neural structure was judged."""
        if self.neural_peaks_over_exact_shapes:
            return "exact shapes"
        neural = {t.name for t in self.scenario.tissues if t.neural} if self.scenario else set()
        return "voxels" if neural & self.tissues.keys() else None

    def to_dict(self) -> dict:
        """JSON-ready numbers (the ``--json`` output, less the planning layer's verdict)."""
        return {
            "title": self.title,
            "duration_s": self.duration_s,
            "stopped_reason": self.stopped_reason,
            "grid": {"spacing_mm": self.spacing_mm, "cells": self.cells},
            "time_step_s": self.time_step_s,
            "steps": self.steps,
            "shortened_steps": self.shortened_steps,
            "electric_solves": self.electric_solves,
            "wall_time_s": round(self.wall_time_s, 3),
            "probes": {
                p.name: {
                    "position_mm": list(p.position_mm),
                    "final_temp_c": round(p.final_temp_c, 2),
                    "max_temp_c": round(p.max_temp_c, 2),
                    "cem43_min": float(f"{p.cem43_min:.4g}"),
                }
                for p in self.probes
            },
            "ablation_zone": {
                "criterion": self.zone.criterion,
                "axial_extent_mm": round(self.zone.axial_mm, 2),
                "transverse_extent_mm": round(self.zone.transverse_mm, 2),
                "volume_ml": round(self.zone.volume_ml, 3),
            },
            "tissues": {
                k: {
                    "max_temp_c": round(v["max_temp_c"], 2),
                    "max_cem43_min": float(f"{v['max_cem43_min']:.4g}"),
                }
                for k, v in self.tissues.items()
            },
            "neural_peaks_read_over": self._neural_peaks_read_over(),
            "energy_delivered_j": round(self.energy_delivered_j, 1),
            "mean_power_w": round(self.energy_delivered_j / max(self.time_s[-1], 1e-12), 3),
            "power_limited_s": {k: round(v, 3) for k, v in self.power_limited_s.items()},
            "final_impedance_ohm": None
            if not np.isfinite(self.impedance_ohm[-1])
            else round(float(self.impedance_ohm[-1]), 1),
            "time_series": {
                "time_s": np.round(self.time_s, 3).tolist(),
                "tip_temp_c": np.round(self.tip_temperature_c, 2).tolist(),
                "power_w": np.round(self.power_w, 3).tolist(),
                "probes_c": {
                    k: np.round(v, 2).tolist() for k, v in self.probe_temperature_c.items()
                },
            },
        }


def zone_metrics(grid, mask: np.ndarray, electrode, criterion: str) -> Zone:
    """Extent along and across the electrode axis and volume of ``mask``."""
    h_mm = grid.spacing_mm
    n = int(mask.sum())
    if n == 0:
        return Zone(criterion, 0.0, 0.0, 0.0)
    idx = np.argwhere(mask)
    pts = np.asarray(grid.origin_m) * 1e3 + (idx + 0.5) * h_mm
    u = electrode.unit_direction if isinstance(electrode, Needle) else np.array([0.0, 0.0, 1.0])
    # Two unit vectors perpendicular to u.
    a = np.eye(3)[int(np.argmin(np.abs(u)))]
    v = np.cross(u, a)
    v /= np.linalg.norm(v)
    w = np.cross(u, v)
    axial = float(np.ptp(pts @ u)) + h_mm
    transverse = max(float(np.ptp(pts @ v)), float(np.ptp(pts @ w))) + h_mm
    return Zone(criterion, axial, transverse, n * grid.cell_volume_m3 * 1e6)


def _hotter(read: float, along: float) -> float:
    """The larger of the exact-shape read and the read along the interface faces' segments
    (``InterfaceFaces.peaks_along``; -inf where none holds the tissue); NaN if either is."""
    if math.isnan(read) or math.isnan(along):
        return math.nan
    return max(read, along)


class Recorder:
    """Collects probe samples during a run and assembles the :class:`Result`."""

    def __init__(self, sim):
        self.sim = sim
        s = sim.scenario
        self.times = [0.0]
        self.tip = [s.initial_temp_c]
        self.power = [0.0]
        self.impedance = [float("nan")]
        self.probe_points_m = {k: np.asarray(p) * 1e-3 for k, p in s.probes_mm.items()}
        self.probe_t = {k: [s.initial_temp_c] for k in s.probes_mm}
        self.probe_weights = {
            k: trilinear_weights(s.grid, p) for k, p in self.probe_points_m.items()
        }

    def record(self, t: float, state) -> None:
        self.times.append(t)
        self.tip.append(state.tip_temperature_c)
        self.power.append(state.power_w)
        self.impedance.append(state.impedance_ohm)
        for k, (index, weights) in self.probe_weights.items():
            self.probe_t[k].append(float(weights @ state.temperature_c[index]))

    def _tissue_peaks(self, state) -> tuple[dict[str, dict[str, float]], bool]:
        """Each tissue's peak temperature and dose over its cells (the electrodes' excluded),
        a neural tissue's over its exact shape when the scenario has one
        (``physics/true_surface.py``), and no lower than along the segments of the faces at
        its interfaces, where the field follows the heat flux across the change of
        conductivity (``InterfaceFaces.peaks_along``); and whether any was read over an exact
        shape."""
        s, sim = self.sim.scenario, self.sim
        fields = [state.max_temperature_c, state.cem43_min]
        exact = None
        tissues, over_shapes = {}, False
        for i, t in enumerate(s.tissues):
            cells = (sim.labels == i) & sim.tissue_cells
            if not cells.any():
                continue
            peaks = [float(f[cells].max()) for f in fields]
            # A value that is not finite stays as the voxels give it, for the verdict to see.
            if s.exact_labels_at is not None and t.neural and all(map(math.isfinite, peaks)):
                if exact is None:  # once, and only for an anatomy with a neural structure
                    exact = exact_labels_on_grid(s.grid, s.exact_labels_at)
                read = peaks_over_exact_shape(
                    s.grid, i, fields, s.exact_labels_at, exact,
                    near=cells | (exact == i), excluded=~sim.tissue_cells,
                )  # fmt: skip
                # -inf: the shapes hold none of it (then the voxels' read stands); NaN: a value
                # that is not finite beside it, passed on for the verdict to see.
                if -math.inf not in read:
                    peaks, over_shapes = read, True
                    if sim.interface_faces is not None:
                        along = sim.interface_faces.peaks_along(i, fields, sim.tables.k)
                        peaks = [_hotter(p, a) for p, a in zip(peaks, along, strict=True)]
            tissues[t.name] = {"max_temp_c": peaks[0], "max_cem43_min": peaks[1]}
        return tissues, over_shapes

    def result(self, state, wall_time_s: float) -> Result:
        sim = self.sim
        s = sim.scenario
        g = s.grid
        temp = np.array(state.temperature_c)
        probes = []
        for k, p in self.probe_points_m.items():
            series = np.asarray(self.probe_t[k])
            probes.append(
                ProbeResult(
                    k,
                    tuple(s.probes_mm[k]),
                    float(series[-1]),
                    max(float(series.max()), trilinear(g, state.max_temperature_c, p)),
                    trilinear(g, state.cem43_min, p),
                )  # fmt: skip
            )
        mask = ablated(s.criterion, state.damage, state.cem43_min, state.max_temperature_c)
        zone = zone_metrics(g, mask, s.electrodes[0], s.criterion)
        tissues, over_shapes = self._tissue_peaks(state)
        balance = {
            "delivered_j": state.energy_delivered_j,
            "stored_j": state.stored_energy_j,
            "perfusion_j": state.perfusion_loss_j,
            "boundary_j": state.boundary_loss_j,
        }
        return Result(
            title=s.title,
            duration_s=s.duration_s,
            time_step_s=sim.dt_s,
            steps=state.steps,
            shortened_steps=state.shortened_steps,
            cells=g.n_cells,
            spacing_mm=g.spacing_mm,
            wall_time_s=wall_time_s,
            time_s=np.asarray(self.times),
            probe_temperature_c={k: np.asarray(v) for k, v in self.probe_t.items()},
            tip_temperature_c=np.asarray(self.tip),
            power_w=np.asarray(self.power),
            impedance_ohm=np.asarray(self.impedance),
            probes=probes,
            zone=zone,
            tissues=tissues,
            neural_peaks_over_exact_shapes=over_shapes,
            energy_delivered_j=state.energy_delivered_j,
            energy_balance=balance,
            stopped_reason=state.stopped_reason,
            electric_solves=state.electric_solves,
            power_limited_s=dict(state.power_limited_s),
            fields={
                "temperature_c": temp,
                "max_temperature_c": np.array(state.max_temperature_c),
                "damage": np.array(state.damage),
                "cem43_min": np.array(state.cem43_min),
                "ablated": mask,
                "labels": sim.labels,
                "electrode": sim.masks.metal,
            },
            scenario=s,
        )
