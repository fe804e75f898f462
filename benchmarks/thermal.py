"""Benchmark: the thermal engine against FiPy on the osteoid-osteoma preset.

    python benchmarks/thermal.py [--spacing-mm 0.5] [--duration-s 300] [--peer-dt-s 0.5]
                                 [--repeats 3] [--no-peer]

1. Engine: the ``osteoid-osteoma`` preset at 0.5 mm for 300 s of temperature-controlled
   heating, timed after a short warm-up run that compiles the Numba kernels (a cold start adds
   the compile time, ~10 s, once per machine thanks to ``cache=True``). The whole simulation
   (set-up, potential solves, time loop, results) is timed ``--repeats`` times; ``engine_s``
   is the median, and every run is listed in ``engine_runs_s``.
2. Peer: the same problem in FiPy 4 (finite volumes, the library a researcher would reach for):
   same grid and labels, same tissue properties, harmonic face conductivities, Pennes' equation
   with perfusion shut off where the Arrhenius damage reaches 1, isothermal electrode contact,
   the potential re-solved at the engine's re-solve times with the same sigma(T). FiPy is run
   implicitly (backward Euler, SciPy PCG, FiPy's default tolerance), as a researcher would:
   it is unconditionally stable, so its step (``--peer-dt-s``, default 0.5 s) is chosen for
   accuracy: the largest difference from the engine at 300 s was 1.05 °C with 1 s steps and
   0.70 °C with 0.5 s steps (first-order time error). (Explicit FiPy at the engine's 0.28 s
   step would take ~50 minutes.) To compare solutions rather than two
   controllers, the peer is driven by the power the engine's controller delivered (averaged
   over each peer step). FiPy has no model of the needle's steel, nor of tissue boiling and
   k(T) (``physics/phase.py``), so this comparison runs the engine without them
   (``needle_conduction = false``, ``phase_change = false``), and with FiPy's harmonic-mean
   faces at tissue interfaces (``subvoxel_interfaces = false``, ``physics/interfaces.py``);
   the timed runs above include all three.
3. The ``lumbar-metastasis`` preset at its default grid (0.5 mm, 1.7 million cells), timed
   once (``lumbar_s``; ``--no-lumbar`` skips it).
4. A memory-copy bandwidth measured in the same run, and the engine's memory traffic
   (``bioheat.BYTES_PER_CELL_UPDATE`` per cell update) as a fraction of it.

The last line printed is one JSON object with the figures, including the 1-minute load
average of the machine before and after the run (the figures only mean something on an idle
machine: on 2 shared cores, other jobs slow the engine by 2-3x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

from thermablate.physics import iterate, simulate
from thermablate.physics.bioheat import BYTES_PER_CELL_UPDATE
from thermablate.physics.damage import arrhenius_rate_per_s
from thermablate.physics.electric import conductivity_factor
from thermablate.physics.engine import Simulation
from thermablate.planning import scenario_from_dict


def copy_bandwidth_gbs(n_bytes: int = 512 * 2**20, repeats: int = 5) -> float:
    """Best-of-``repeats`` bandwidth of a large array copy, counting read + write. [GB/s]"""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best / 1e9


def scenario(spacing_mm: float, duration_s: float, needle_conduction: bool = True,
             phase_change: bool = True, subvoxel_interfaces: bool = True):  # fmt: skip
    return scenario_from_dict(
        {
            "anatomy": {"preset": "osteoid-osteoma"},
            "grid": {"spacing_mm": spacing_mm},
            "duration_s": duration_s,
            "solver": {
                "needle_conduction": needle_conduction,
                "phase_change": phase_change,
                "subvoxel_interfaces": subvoxel_interfaces,
            },
        }
    )


def engine_trace(s):
    """Per-step power and the times at which the engine re-solved the potential."""
    times, powers, solves = [0.0], [0.0], [0.0]
    last = 1
    state = None
    for t, state in iterate(s):
        times.append(t)
        powers.append(state.power_w)
        if state.electric_solves != last:
            solves.append(t)
            last = state.electric_solves
    return np.asarray(times), np.asarray(powers), solves, np.array(state.temperature_c)


def _face_joule(v, sigma, h, fixed, embedded=None):
    """Face-wise Joule heat density sigma |grad V|^2 of a cell-centred potential. [W/m^3]

    Each face's dissipation goes to its two cells in proportion to their halves' resistance
    (``sigma_other / (sigma_lo + sigma_hi)`` each), evenly where one cell is ``fixed`` (a
    contact). ``embedded`` faces (tissue cell to contact cell) conduct
    ``sigma_tissue h / theta``.
    """
    p = np.zeros(v.shape)
    if embedded is not None:
        cells, nbs = tuple(embedded.cells.T), tuple(embedded.neighbours.T)
        s1, s2 = sigma[cells], sigma[nbs]
        harmonic = np.divide(2 * s1 * s2, s1 + s2, out=np.zeros_like(s1), where=s1 + s2 > 0)
        extra = 0.5 * (s1 / embedded.theta - harmonic) * h * (v[cells] - v[nbs]) ** 2
        np.add.at(p, cells, extra)
        np.add.at(p, nbs, extra)
    for axis in range(3):
        n = v.shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, n - 1)
        hi[axis] = slice(1, n)
        lo, hi = tuple(lo), tuple(hi)
        s1, s2 = sigma[lo], sigma[hi]
        den = s1 + s2
        g = np.divide(2 * s1 * s2, den, out=np.zeros_like(den), where=den > 0) * h
        share = np.full(den.shape, 0.5)
        np.divide(s2, den, out=share, where=(den > 0) & ~fixed[lo] & ~fixed[hi])
        dissipated = g * (v[hi] - v[lo]) ** 2
        p[lo] += share * dissipated
        p[hi] += (1.0 - share) * dissipated
    return p / h**3


def fipy_face_ids(mesh, shape, axis, i, j, k):
    """FiPy's face numbers of faces in the engine's owned layout (``g[i]`` joins ``i-1``, ``i``).

    A ``Grid3D`` numbers its faces normal to z first (x fastest), then those normal to y, then
    those normal to x; checked against the mesh's face centres.
    """
    nx, ny, nz = shape
    n_xy, n_xz = nx * ny * (nz + 1), nx * (ny + 1) * nz
    ids = np.where(
        axis == 2,
        i + j * nx + k * nx * ny,
        np.where(
            axis == 1,
            n_xy + i + j * nx + k * nx * (ny + 1),
            n_xy + n_xz + i + j * (nx + 1) + k * (nx + 1) * ny,
        ),
    )
    h = float(mesh.dx)
    expected = np.stack([i, j, k]).astype(float) + 0.5
    expected[axis, np.arange(len(axis))] -= 0.5
    assert np.allclose(np.asarray(mesh.faceCenters)[:, ids], expected * h)
    return ids


def peer_fipy(s, times, powers, solve_times, dt_peer_s: float):
    """Solve the scenario with FiPy; returns (final temperature, wall time, steps)."""
    from fipy import (
        CellVariable,
        DiffusionTerm,
        FaceVariable,
        Grid3D,
        ImplicitSourceTerm,
        TransientTerm,
    )
    from fipy.solvers.scipy import JacobiPreconditioner, LinearPCGSolver

    sim = Simulation(s)  # labels, tables and electrode masks only (no engine solver is used)
    t0 = time.perf_counter()
    nx, ny, nz = s.grid.shape
    h = s.grid.spacing_m
    mesh = Grid3D(nx=nx, ny=ny, nz=nz, dx=h, dy=h, dz=h)

    def to_fipy(a):  # FiPy numbers cells x fastest
        return np.asarray(a, float).transpose(2, 1, 0).ravel()

    def from_fipy(v):
        return np.asarray(v).reshape(nz, ny, nx).transpose(2, 1, 0)

    labels = sim.labels
    tabs = sim.tables
    k = CellVariable(mesh=mesh, value=to_fipy(tabs.k[labels]))
    # The engine's embedded faces (the contacts' true surfaces, physics/embedded.py): the face
    # between a tissue cell and a contact cell conducts c_i / theta (FiPy divides by h); in the
    # potential only when the scenario gives it the true surfaces too.
    eb = sim.embedded
    eb_ids = fipy_face_ids(mesh, (nx, ny, nz), *eb.owned_face_index())
    eb_cells = tuple(eb.cells.T)
    k_face = FaceVariable(mesh=mesh, value=np.array(k.harmonicFaceValue))
    k_face.value[eb_ids] = tabs.k[labels][eb_cells] / eb.theta
    rhoc = CellVariable(mesh=mesh, value=to_fipy(tabs.rhoc[labels]))
    sink0 = to_fipy(tabs.sink[labels])
    sink = CellVariable(mesh=mesh, value=sink0.copy())
    q = CellVariable(mesh=mesh, value=0.0)
    temp = CellVariable(mesh=mesh, value=s.initial_temp_c)
    temp.constrain(s.initial_temp_c, mesh.exteriorFaces)
    ta = s.initial_temp_c
    heat = (
        TransientTerm(coeff=rhoc)
        == DiffusionTerm(coeff=k_face) - ImplicitSourceTerm(coeff=sink) + sink * ta + q
    )
    # Heat: FiPy's defaults (1e-5 relative tolerance), as a user would run it. Potential: tight
    # and Jacobi-preconditioned, because the electrode is pinned by a stiff source term.
    heat_solver = LinearPCGSolver()
    solver = LinearPCGSolver(tolerance=1e-10, iterations=5000, precon=JacobiPreconditioner())
    # Potential: electrode contacts pinned by a stiff source, insulation pinned and cut off.
    # The pin must dwarf the diffusion coefficient sigma/h^2 (~1e6 S/m^3 at 0.5 mm): with a pin
    # of 1e6 the contacts sagged to 0.8 V and the Joule pattern was 30 % off the engine's; at
    # 1e12 the contacts sit at 1.0000 V and the pattern agrees within 0.1 %.
    pinned = to_fipy(sim.masks.active | sim.masks.insulated)
    value = to_fipy(sim.masks.active_a)
    big = 1e12
    sigma = CellVariable(mesh=mesh, value=1.0)
    sigma_face = FaceVariable(mesh=mesh, value=1.0)
    pin = CellVariable(mesh=mesh, value=big * pinned)
    potential = CellVariable(mesh=mesh, value=0.0)
    potential.constrain(0.0, mesh.exteriorFaces)
    electric = DiffusionTerm(coeff=sigma_face) - ImplicitSourceTerm(coeff=pin) + pin * value == 0
    # The isothermal contacts: without needle conduction, the engine's node chain is exactly
    # its contacts (padded-array indices, hence the - 1).
    chain = sim.chain
    contacts = [
        (
            np.ravel_multi_index(tuple((chain.cells[a:b] - 1).T), (nx, ny, nz)),
            chain.weights[a:b],
        )
        for a, b in zip(chain.starts[:-1], chain.starts[1:], strict=True)
    ]
    fipy_index = np.arange(nx * ny * nz).reshape(nz, ny, nx).transpose(2, 1, 0).ravel()

    damage = np.zeros(nx * ny * nz)
    q_unit = None
    n_steps = int(round(s.duration_s / dt_peer_s))
    energy = np.concatenate([[0.0], np.cumsum(powers[1:] * np.diff(times))])
    solve_times = list(solve_times)
    for n in range(n_steps):
        ta0, tb = n * dt_peer_s, (n + 1) * dt_peer_s
        if q_unit is None or (solve_times and solve_times[0] <= ta0 + 1e-9):
            while solve_times and solve_times[0] <= ta0 + 1e-9:
                solve_times.pop(0)
            t_now = from_fipy(temp.value)
            sig = sim.sigma37 * conductivity_factor(t_now, sim.alpha)
            sigma.setValue(to_fipy(sig))
            faces = np.array(sigma.harmonicFaceValue)
            if s.electrode_surface_in_potential:
                faces[eb_ids] = sig[eb_cells] / eb.theta
            sigma_face.setValue(faces)
            electric.solve(var=potential, solver=solver)
            q_unit = to_fipy(
                _face_joule(
                    from_fipy(potential.value),
                    sig,
                    h,
                    sim.fixed,
                    eb if s.electrode_surface_in_potential else None,
                )
            )
            q_unit /= q_unit.sum() * h**3  # unit power
        mean_power = (np.interp(tb, times, energy) - np.interp(ta0, times, energy)) / dt_peer_s
        q.setValue(q_unit * mean_power)
        sink.setValue(np.where(damage < 1.0, sink0, 0.0))
        heat.solve(var=temp, dt=dt_peer_s, solver=heat_solver)
        tv = np.array(temp.value)
        for flat, w in contacts:
            cells = fipy_index[flat]
            tv[cells] = np.dot(w, tv[cells])
        temp.setValue(tv)
        damage += dt_peer_s * arrhenius_rate_per_s(tv)
    return from_fipy(temp.value), time.perf_counter() - t0, n_steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spacing-mm", type=float, default=0.5)
    p.add_argument("--duration-s", type=float, default=300.0)
    p.add_argument("--peer-dt-s", type=float, default=0.5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-peer", action="store_true")
    p.add_argument("--no-lumbar", action="store_true")
    args = p.parse_args()

    load_before = os.getloadavg()[0]
    simulate(scenario(args.spacing_mm, 2.0))  # warm-up: JIT compilation (cached on disk)
    s = scenario(args.spacing_mm, args.duration_s)
    runs = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        result = simulate(s)
        runs.append(time.perf_counter() - t0)
    engine_s = statistics.median(runs)
    bandwidth = copy_bandwidth_gbs()
    cells, steps = result.cells, result.steps
    traffic_gbs = cells * steps * BYTES_PER_CELL_UPDATE / engine_s / 1e9
    print(
        f"engine: {cells:,} cells, {steps} steps, {engine_s:.2f} s, {result.electric_solves} potential solves"
    )
    out = {
        "engine_s": round(engine_s, 3),
        "engine_runs_s": [round(r, 3) for r in runs],
        "cells": cells,
        "steps": steps,
        "cell_updates_per_s": round(cells * steps / engine_s),
        "electric_solves": result.electric_solves,
        "copy_bandwidth_gbs": round(bandwidth, 2),
        "bandwidth_fraction": round(traffic_gbs / bandwidth, 3),
    }
    if not args.no_lumbar:
        # The lumbar preset at its default grid (0.5 mm since issue 13), timed once.
        lumbar = scenario_from_dict({"anatomy": {"preset": "lumbar-metastasis"}})
        t0 = time.perf_counter()
        lumbar_result = simulate(lumbar)
        lumbar_s = time.perf_counter() - t0
        print(
            f"lumbar preset: {lumbar_result.cells:,} cells at {lumbar_result.spacing_mm:g} mm, "
            f"{lumbar_result.steps} steps ({lumbar_result.shortened_steps} shortened), {lumbar_s:.1f} s"
        )
        out.update(
            lumbar_s=round(lumbar_s, 2),
            lumbar_cells=lumbar_result.cells,
            lumbar_steps=lumbar_result.steps,
            lumbar_shortened_steps=lumbar_result.shortened_steps,
            lumbar_cell_updates_per_s=round(lumbar_result.cells * lumbar_result.steps / lumbar_s),
        )
    if not args.no_peer:
        # FiPy has no model of the needle's steel, nor of boiling and k(T): the solutions are
        # compared without them (the timed engine runs above include them, so the speed-up is
        # the full model's).
        s = scenario(args.spacing_mm, args.duration_s, needle_conduction=False, phase_change=False,
                     subvoxel_interfaces=False)  # fmt: skip
        times, powers, solves, t_engine = engine_trace(s)
        t_peer, peer_s, peer_steps = peer_fipy(s, times, powers, solves, args.peer_dt_s)
        diff = np.abs(t_engine - t_peer)
        print(f"peer (FiPy): {peer_steps} implicit steps of {args.peer_dt_s:g} s, {peer_s:.1f} s")
        out.update(
            peer_s=round(peer_s, 2),
            peer_steps=peer_steps,
            speedup=round(peer_s / engine_s, 1),
            max_temperature_difference_c=round(float(diff.max()), 3),
            mean_temperature_difference_c=round(float(diff.mean()), 4),
        )
    out.update(load_average_before=load_before, load_average_after=os.getloadavg()[0])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
