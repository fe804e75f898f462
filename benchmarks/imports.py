"""Benchmark of a large procedures import on PostgreSQL, with a clinician at work meanwhile
(not a timed test; run by hand).

    python benchmarks/imports.py [--rows 200,600,3000] [--in-place]

The database: THERMABLATE_BENCH_DATABASE_URL (default
postgresql://thermablate:thermablate@127.0.0.1:5432/tb_f). A fresh database is created beside
the one in the URL (``<name>_imports_bench``, so the role needs CREATEDB), migrated, used and
dropped afterwards; the database named in the URL itself is not touched.

For each size, a worker creates that many new patients (each with a lesion at L2) at a site
that approves the procedure, then runs ``thermablate import procedures FILE.csv --as USER``
in process, as a coordinator would, one procedure per patient: the whole file in one
transaction, every row through the procedure page's form, the site's approval and the audit
trail (about eleven audit entries per procedure: the procedure, its operators, its two
cycles, its follow-up schedule and its governance record).

Meanwhile another process (as the web server would be) plays a clinician opening a patient's
page every quarter of a second (Django's test client, its own database connection). The page
records that the clinician saw the NHS number, so it writes an audit entry: while an import
holds the audit chain's head locked, the page waits. Figures per size:

- import_s, rows_per_s, audit_entries: the import itself;
- s_per_100_rows_first / s_per_100_rows_last: the pace over the first and the last 100 rows
  (equal when the import is linear in its size);
- reader_pages, reader_median_s, reader_max_s: the clinician's page times during the import,
  and reader_idle_s, the same page before the import started;
- load_before / load_after: the machine's 1-minute load average (on a shared machine the
  figures mean little without it).

The last line printed is one JSON object with the figures per size.
Target (finding 2 of the security review): 3,000 procedures in under 60 s, pages unaffected.
Measured (2 shared cores, 1-minute load 1.2-1.8): 200, 600 and 3,000 rows at 17.2, 18.8 and
20.3 rows/s (3,000 in 148 s), the page's median 0.04-0.07 s and worst 1.0 s during the
import; before, 200 and 600 rows took 16 s and 68 s and the page waited for the whole import.
2026-12-06 (load 0.6-1.1; the pathway rules now checked on every row): 600 and 3,000 rows in
26.6 s and 119.9 s (22.5 and 25.0 rows/s), the page's median 0.056 s and worst 1.3 s. The
target is not met.
2026-12-07 (load 0.2-0.9; 15 queries per row, the pathway check compiled once): 3,000 rows in
57.6 s (52.1 rows/s), the page's median 0.048 s and worst 1.8 s: the target is met, narrowly.
That run's pace, 1.41 s per 100 rows at the start and 2.51 s at the end, did not come back
when measured row by row (THERMABLATE_BENCH_QUERIES, below), 2026-12-07, load 2.6-2.9 (other
test suites running): 3,000 rows in 37.2 s (80.7 rows/s) and 10,000 in 139.2 s (71.8 rows/s,
3.7 times as long for 3.3 times the rows). The 10,000 rows' ms per row by fifth: 12.8, 11.0,
15.4, 14.4, 12.9; the first and last 2,000: 12.8 and 12.9 ms (database 4.6 and 4.7, Python
8.2 and 8.2), and no query's time per row grows by more than 0.05 ms. The 3,000 rows' first
fifth is the slowest (16.1 ms against 10.5 ms for the last: caches warming). The import is
linear. The page's median 0.066-0.08 s; its worst, 3.0 s (3,000) and 5.1 s (10,000), when the
import's audit entries (33,000 and 110,000) are chained and inserted at its end, holding the
chain head for those seconds.
The same day, the data-quality triggers (every watched row marks its patient's kept findings
stale), 1,000 rows run alternately without and with them (``--in-place``, load 3.1-3.9):
without 20.8 and 18.8 s, with 32.6 and 16.4 s: no difference the machine's noise lets us see.
``THERMABLATE_BENCH_PROFILE=FILE`` writes a cProfile of each import;
``THERMABLATE_BENCH_QUERIES=1`` prints the database and Python time per row over the first
and the last fifth of the rows, and the queries whose time per row grew most.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "postgresql://thermablate:thermablate@127.0.0.1:5432/tb_f"
HEADER = (
    "registry_number,lesion,procedure_date,operators,procedure_type,setting,anaesthesia,"
    "approach,access,image_guidance,device_manufacturer,device_model,polarity,active_tip_mm,"
    "biopsy_taken,cement,cement_volume_ml,thermal_protection,levels_treated,duration_min,"
    "post_imaging,cycles"
)


def synthetic_nhs_numbers(count: int, start: int) -> list[str]:
    """Valid NHS numbers (modulus 11) from the synthetic range 999 000 000 0 onwards."""
    from nhs_number import calculate_checksum

    numbers, stem = [], start
    while len(numbers) < count:
        check = calculate_checksum(str(stem))
        if check is not None and check != 10:
            numbers.append(f"{stem}{check}")
        stem += 1
    return numbers


def approved_site():
    """A site approving every procedure type, a credentialed clinician, an importing coordinator."""
    from datetime import date

    from django.contrib.auth.models import Group, User

    from thermablate.guidance.governance import guidance_key_for
    from thermablate.guidance.models import Guidance
    from thermablate.registry import actions
    from thermablate.registry.choices import ProcedureType
    from thermablate.registry.models import Site, StaffProfile

    site = Site.objects.create(code="bench", name="Benchmark General Hospital")
    people = {}
    for role, username in (("clinician", "clinician"), ("coordinator", "coordinator")):
        user = User.objects.create_user(username, first_name=username.title())
        StaffProfile.objects.create(user=user, site=site, role=role)
        user.groups.add(Group.objects.get(name=role))
        people[role] = user
    governance = User.objects.create_user("governance")
    StaffProfile.objects.create(user=governance, site=site, role="governance")
    for procedure_type in ProcedureType.values:
        actions.record_approval(
            site=site,
            acting_user=governance,
            procedure_type=procedure_type,
            guidance=Guidance.objects.get(key=guidance_key_for(procedure_type)),
            decision="approved_standard",
            committee="New Interventional Procedures Committee",
            decision_date=date(2025, 1, 15),
            clinical_lead=people["clinician"],
            review_date=date(2027, 1, 15),
            operators=[
                {
                    "user": people["clinician"],
                    "training": "Vertebroplasty and kyphoplasty",
                    "credentialed_on": date(2025, 1, 15),
                }
            ],
        )
    return site, people["clinician"], people["coordinator"]


def new_patients(site, count: int, first_number: int) -> list:
    """Patients with a lesion each and the MDT's decision to proceed (the pathway rule every
    imported procedure must meet), inserted directly: the setup is not what is measured."""
    from datetime import date

    from thermablate.registry.models import (
        Lesion,
        MdtDecisionRecord,
        Patient,
        new_registry_number,
    )

    patients = Patient.objects.bulk_create(
        [
            Patient(
                site=site,
                registry_number=new_registry_number(),
                nhs_number=number,
                year_of_birth=1940 + index % 40,
                sex="female" if index % 2 else "male",
            )
            for index, number in enumerate(synthetic_nhs_numbers(count, first_number))
        ]
    )
    lesions = Lesion.objects.bulk_create(
        [
            Lesion(
                patient=patient,
                spinal_levels="L2",
                diagnosis="spinal_metastasis",
                primary_tumour="breast",
                lesion_type="lytic",
            )
            for patient in patients
        ]
    )
    MdtDecisionRecord.objects.bulk_create(
        [
            MdtDecisionRecord(
                patient=lesion.patient,
                lesion=lesion,
                meeting_date=date(2024, 1, 1),
                member_roles=["interventional_radiologist", "clinical_oncologist"],
                decision="proceed",
            )
            for lesion in lesions
        ]
    )
    return patients


def write_csv(path: Path, patients, operator: str) -> None:
    from django.utils import timezone

    day = (timezone.localdate() - timedelta(days=40)).isoformat()
    lines = [HEADER]
    for patient in patients:
        lines.append(
            f"{patient.registry_number},L2,{day},{operator},rfa_vertebroplasty,day_case,"
            "local_sedation,transpedicular,percutaneous,ct; fluoroscopy,Merit Medical,OsteoCool,"
            "bipolar,10,yes,vertebroplasty,3.5,thermocouple,L2,75,ct,70/300/12; 70/240"
        )
    path.write_text("\n".join(lines) + "\n")


def configure_django() -> None:
    """Django as the benchmark's processes use it: settings from the environment, the test
    client's host name, and pages that name their assets without the content-hashed copies
    `collectstatic` would make (what is measured is the wait for the database)."""
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain}).enable()


def page_time(client, registry_number: str) -> tuple[float, int]:
    from django.urls import reverse

    started = time.perf_counter()
    response = client.get(reverse("patient_detail", args=[registry_number]), secure=True)
    return time.perf_counter() - started, response.status_code


def clinician_at_work(username: str, registry_number: str, started, stop, results) -> None:
    """Another process (as the web server is): opens one patient's page again and again, a
    quarter of a second apart, until told to stop; sends back each page's time."""
    configure_django()
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=username))
    times, failures = [], []
    started.set()
    while not stop.is_set():
        elapsed, status = page_time(client, registry_number)
        times.append(elapsed)
        if status != 200:
            failures.append(status)
        stop.wait(0.25)
    results.put((times, failures))


class QueryLog:
    """``THERMABLATE_BENCH_QUERIES=1``: the import's database time per row, and the queries
    whose time per row grows most from the first fifth of the rows to the last (printed to
    stderr), to tell a slowing database from slowing Python. A Django execute wrapper."""

    def __init__(self):
        self.row = 1
        self.row_started = time.perf_counter()
        self.rows: list[tuple[int, float, float]] = []  # (row, wall s, database s)
        self.database_s = 0.0
        self.by_query: dict[tuple[int, str], list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - began
            self.database_s += spent
            key = (self.row, re.sub(r"\d+|'[^']*'", "?", sql)[:300])
            self.by_query.setdefault(key, []).append(spent)

    def row_done(self, done: int) -> None:
        now = time.perf_counter()
        self.rows.append((done, now - self.row_started, self.database_s))
        self.row_started, self.database_s, self.row = now, 0.0, done + 1

    def report(self, rows: int) -> None:
        fifth = max(1, rows // 5)
        first = range(1, fifth + 1)
        last = range(rows - fifth + 1, rows + 1)
        paces = [
            sum(r[1] for r in self.rows if n * fifth < r[0] <= (n + 1) * fifth) / fifth * 1e3
            for n in range(5)
        ]
        print("ms per row by fifth: " + ", ".join(f"{p:.1f}" for p in paces), file=sys.stderr)
        for name, part in (("first", first), ("last", last)):
            picked = [r for r in self.rows if r[0] in part]
            wall = sum(r[1] for r in picked) / len(picked)
            db = sum(r[2] for r in picked) / len(picked)
            print(
                f"{name} {len(picked)} rows: {wall * 1e3:.1f} ms per row, of which database "
                f"{db * 1e3:.1f} ms and Python {(wall - db) * 1e3:.1f} ms",
                file=sys.stderr,
            )
        per_sql: dict[str, list[float]] = {}
        for (row, sql), spent in self.by_query.items():
            slot = per_sql.setdefault(sql, [0.0, 0.0, 0, 0])
            if row in first:
                slot[0] += sum(spent)
                slot[2] += len(spent)
            elif row in last:
                slot[1] += sum(spent)
                slot[3] += len(spent)
        growth = sorted(per_sql.items(), key=lambda kv: kv[1][0] - kv[1][1])  # most grown first
        for sql, (a, b, n_a, n_b) in growth[:8]:
            print(
                f"  {a / fifth * 1e3:.2f} -> {b / fifth * 1e3:.2f} ms per row "
                f"({n_a} -> {n_b} calls): {sql[:160]}",
                file=sys.stderr,
            )


def time_import(rows: int, site, clinician, coordinator, first_number: int, folder: Path):
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from thermablate.registry.imports import import_procedures
    from thermablate.registry.models import AuditEvent, Procedure

    patients = new_patients(site, rows, first_number)
    csv_file = folder / f"procedures-{rows}.csv"
    write_csv(csv_file, patients, clinician.username)
    client = Client()
    client.force_login(clinician)
    reader_idle_s, _ = page_time(client, patients[0].registry_number)

    # The pace of the first and last hundred rows, through the importer's progress callback.
    stamps: dict[int, float] = {}

    queries = QueryLog() if os.environ.get("THERMABLATE_BENCH_QUERIES") else None

    def progress(done: int) -> None:
        if done in (1, 101, rows - 100, rows):
            stamps[done] = time.perf_counter()
        if queries is not None:
            queries.row_done(done)

    processes = multiprocessing.get_context("spawn")
    started, stop, results = processes.Event(), processes.Event(), processes.Queue()
    reader = processes.Process(
        target=clinician_at_work,
        args=(clinician.username, patients[0].registry_number, started, stop, results),
    )
    reader.start()
    started.wait(120)
    procedures_before = Procedure.objects.count()
    imported_entries = AuditEvent.objects.filter(actor=coordinator)
    entries_before = imported_entries.count()
    load_before = os.getloadavg()[0]
    # THERMABLATE_BENCH_PROFILE=FILE: profile the import too (cProfile; read with pstats).
    profile_to = os.environ.get("THERMABLATE_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    began = time.perf_counter()
    with csv_file.open(newline="", encoding="utf-8") as handle:
        if profiler:
            profiler.enable()
        with connection.execute_wrapper(queries) if queries else contextlib.nullcontext():
            report = import_procedures(
                csv.DictReader(handle), site=site, acting_user=coordinator, progress=progress
            )
        if profiler:
            profiler.disable()
            profiler.dump_stats(f"{profile_to}.{rows}")
    import_s = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    stop.set()
    page_times, failures = results.get(timeout=120)
    reader.join()
    if not report.ok:
        raise SystemExit(f"the import refused rows: {report.errors[:3]}")
    assert Procedure.objects.count() - procedures_before == rows
    call_command("audit", "verify", verbosity=0)  # the chain is still whole
    times = page_times or [float("nan")]
    if queries is not None:
        queries.report(rows)
    return {
        "rows": rows,
        "import_s": round(import_s, 1),
        "rows_per_s": round(rows / import_s, 1),
        "audit_entries": imported_entries.count() - entries_before,
        "s_per_100_rows_first": round(stamps[101] - stamps[1], 2) if rows >= 201 else None,
        "s_per_100_rows_last": round(stamps[rows] - stamps[rows - 100], 2) if rows >= 201 else None,
        "reader_idle_s": round(reader_idle_s, 3),
        "reader_pages": len(page_times),
        "reader_median_s": round(statistics.median(times), 3),
        "reader_max_s": round(max(times), 3),
        "reader_failures": failures,
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
    }


def worker(sizes: list[int], folder: Path) -> dict:
    configure_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    site, clinician, coordinator = approved_site()
    results = {}
    first_number = 999_000_000
    for rows in sizes:
        results[str(rows)] = time_import(rows, site, clinician, coordinator, first_number, folder)
        first_number += rows * 2  # about one stem in eleven has no valid check digit
        print(json.dumps(results[str(rows)]), file=sys.stderr, flush=True)
    return results


def main() -> None:
    # Here, not at the top: the tests load this file as a module (its cohort generator),
    # where the script's own folder is not on the path.
    from scratch_databases import postgres_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="200,600,3000", help="comma-separated import sizes")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the database of the URL itself (emptied before and after), not a new one",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.rows.split(",")]
    if args.worker:
        print(json.dumps(worker(sizes, Path(os.environ["THERMABLATE_DATA_DIR"]))))
        return
    url = os.environ.get("THERMABLATE_BENCH_DATABASE_URL", DEFAULT_URL)
    if urlparse(url).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("THERMABLATE_BENCH_DATABASE_URL must be a postgresql:// URL")
    bench_url, drop = postgres_database(
        url, urlparse(url).path.lstrip("/") + "_imports_bench", in_place=args.in_place
    )
    try:
        with tempfile.TemporaryDirectory(prefix="thermablate-bench-") as data_dir:
            env = {
                **os.environ,
                "DATABASE_URL": bench_url,
                "THERMABLATE_DATA_DIR": data_dir,
                "DJANGO_SETTINGS_MODULE": "thermablate.web.settings",
            }
            completed = subprocess.run(  # noqa: S603 (our own script)
                [sys.executable, __file__, "--worker", "--rows", args.rows],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
    finally:
        drop()
    if completed.returncode:
        sys.stderr.write(completed.stdout)
        raise SystemExit("the benchmark's worker failed")
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    with open("/proc/loadavg") as loadavg:
        results["loadavg_after"] = loadavg.read().split()[:3]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
