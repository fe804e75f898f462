"""Benchmark: a plan from the request to its stored result, beside the engine alone.

    python benchmarks/planning.py [--level L1] [--spacing-mm 0.5] [--minutes 5] [--repeats 2]

A temporary embedded database (SQLite in a temporary folder, as ``make run`` uses) is
migrated, and a clinician's patient gets a spinal metastasis (15 mm, lytic, 5 mm from the cord,
posterior wall intact) at ``--level``. Then, ``--repeats`` times:

1. ``plan_s``: from the clinician's POST of the plan form (Django's test client: the page's own
   view, validation of the whole scenario, the plan saved with its audit entry, the task
   queued) through the database worker (``thermablate worker --batch``, in process: claim,
   simulation with progress writes, grid-error run, report, coverage, figure) to the result
   stored; the same default settings as the page (90 °C, 10 mm 18 G monopolar tip).
2. ``engine_s``, the peer in the same run: the same scenario computed without Django or the
   database (``simulate`` and ``grid_convergence``, what ``thermablate simulate`` does), so
   ``plan_s / engine_s`` is the cost of the journey around the physics.
3. ``max_progress_gap_s``: the longest wall-clock gap between two progress writes of the timed
   run (the page asks for them every second; the target is a write at least every second).

Numba's kernels are compiled by a short warm-up plan first (``cache=True`` keeps them between
runs). The target (issue 14): a default thoracic-metastasis plan at 0.5 mm for 5 minutes of
ablation in under 10 s. No thoracic level can be modelled yet (the morphometry table lacks
their bone dimensions, see docs/planning.md), so the default level is L1, the lowest level
that holds the cord. The last line printed is one JSON object with the figures and the
machine's 1-minute load average before and after.

Measured 2026-12-07 (load 0.90 -> 1.27, boiling and k(T) on): plan_s 10.63 s (10.66, 10.60),
engine_s 9.72 s (the journey around the physics 9 %), largest gap between progress writes
0.71 s, 1,576,800 cells. The 10 s target is missed by 6 %; at load 3-5 the same plan took
13.5 s. Of the simulation, the step kernel took about 60 % and the nine potential solves
about 25 % (cProfile at load 4.5). With the contact's true surface in the potential by default
and the conductivity following the water boiled off (issue 13), alternating with the code
before at load 3.0: plan_s 22.54 s before, 22.83 s after (engine 22.28, 20.87 s): no
measurable change, as nothing boils in this plan and its 9 potential solves cost the same.

Measured 2026-12-08 on a slower machine (its thermal benchmark 1.5-1.9 s, where the machine
above gave 1.25 s), alternating with the code before the tissue fractions, the Joule split by
resistance and the reads along the interface faces (issue 13), load 1.0-1.4: plan_s 17.44 and
20.00 s before, 18.23 and 21.37 s after (engine_s 16.26, 16.03 and 17.67, 18.82 s); largest
gap between progress writes 0.77-0.88 s. Still over the 10 s target; the step kernel at
0.5 mm is about half of it (docs/thermal-engine.md, "Performance", for what would win it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path


def _setup(folder: Path) -> None:
    os.environ["THERMABLATE_DATA_DIR"] = str(folder)
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thermablate.web.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="L1")
    parser.add_argument("--spacing-mm", type=float, default=0.5)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="thermablate-bench-") as tmp:
        _setup(Path(tmp))
        figures = _run(args)
    figures["load_before"] = load_before
    figures["load_after"] = os.getloadavg()[0]
    print(json.dumps(figures))
    return 0


def _run(args) -> dict:
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from thermablate.physics.engine import simulate
    from thermablate.planning.convergence import grid_convergence
    from thermablate.planning.lesion_plan import default_options
    from thermablate.planning.scenario import scenario_from_dict
    from thermablate.plans import actions, run_records
    from thermablate.plans.forms import PlanForm
    from thermablate.plans.models import Plan, PlanStatus
    from thermablate.registry import actions as registry
    from thermablate.registry.models import Site, StaffProfile
    from thermablate.registry.roles import sync_role_groups

    sync_role_groups()
    site = Site.objects.create(code="bench", name="Benchmark Hospital")
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("bench-clinician", password="x")
    StaffProfile.objects.create(user=user, site=site, role="clinician")
    user.groups.add(Group.objects.get(name="clinician"))
    patient = registry.create_patient(
        site=site, acting_user=user, nhs_number="9434765919", year_of_birth=1955, sex="female"
    )
    lesion = registry.add_lesion(
        patient, acting_user=user, spinal_levels=args.level, diagnosis="spinal_metastasis",
        lesion_type="lytic", size_mm=Decimal("15"), posterior_wall_intact=True,
        distance_to_neural_mm=Decimal("5"),
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    url = reverse("plan_new", args=[lesion.pk])
    # What the page pre-fills (outside the test runner the response carries no context).
    initial = PlanForm.initial_from(
        default_options(actions.lesion_facts(lesion), actions.device_library(site))
    )
    data = {name: "" if value is None else value for name, value in initial.items()}

    writes: list[float] = []
    record = run_records.record_progress

    def timed_progress(plan_id, time_s, tip_c):
        if time_s is not None:
            writes.append(time.perf_counter())
        record(plan_id, time_s, tip_c)

    run_records.record_progress = timed_progress

    def plan(spacing_mm: float, minutes: float, name: str) -> tuple[float, Plan]:
        body = dict(data, name=name, spacing_mm=str(spacing_mm), duration_min=str(minutes))
        started = time.perf_counter()
        response = client.post(url, body)
        if response.status_code != 302:
            sys.exit(f"the plan was refused ({response.status_code})")
        # The request's transaction committed, and with it the task was queued.
        call_command("worker", "--batch", stdout=io.StringIO())
        elapsed = time.perf_counter() - started
        done = Plan.objects.latest("pk")
        if done.status != PlanStatus.SUCCEEDED:
            sys.exit(f"the plan failed: {done.failure}")
        return elapsed, done

    plan(1.0, 1.0, "warm-up")  # compiles the kernels if the cache is cold
    plan_runs, engine_runs, gaps = [], [], []
    stored = None
    for n in range(args.repeats):
        writes.clear()
        elapsed, stored = plan(args.spacing_mm, args.minutes, f"timed {n}")
        plan_runs.append(elapsed)
        gaps.append(
            max(b - a for a, b in zip(writes, writes[1:], strict=False))
            if len(writes) > 1
            else None
        )
        started = time.perf_counter()
        result = simulate(scenario_from_dict(stored.scenario))
        grid_convergence(stored.scenario, result)
        engine_runs.append(time.perf_counter() - started)
    plan_s, engine_s = statistics.median(plan_runs), statistics.median(engine_runs)
    return {
        "level": args.level,
        "spacing_mm": args.spacing_mm,
        "minutes": args.minutes,
        "cells": stored.result["grid"]["cells"],
        "plan_s": round(plan_s, 2),
        "plan_runs_s": [round(v, 2) for v in plan_runs],
        "engine_s": round(engine_s, 2),
        "engine_runs_s": [round(v, 2) for v in engine_runs],
        "plan_over_engine": round(plan_s / engine_s, 3),
        "max_progress_gap_s": [None if g is None else round(g, 2) for g in gaps],
        "safety": stored.result["safety"]["status"],
        "zone_ml": stored.result["ablation_zone"]["volume_ml"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
