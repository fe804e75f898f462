"""Benchmark of the outcomes audit at registry scale (not a timed test; run by hand).

    python benchmarks/audit.py [--procedures 100000] [--postgres postgresql://USER:PASS@HOST:PORT/DB]
        [--in-place] [--no-sqlite] [--only report|data_quality]

For each database (an isolated SQLite file in a temporary folder; with --postgres, also a
fresh PostgreSQL database created beside the one in the URL and dropped afterwards) a worker
process fills the registry with a synthetic cohort by bulk insertion (one procedure per
patient, six scheduled assessments, their analgesics, ~8 % adverse events), then times:

- summaries_s: building the per-procedure summaries the report reads (``audit.summaries``).
  A registry builds them as it goes (each write marks its summary stale and the next report
  rebuilds it); the bulk load bypasses that, so they are built once here;
- report_s: the governance report's analysis for the whole site (queries + figures, no charts:
  ``reports.figures_for``, i.e. ``audit.aggregates`` over the summaries);
- report_1000_stale_s: the same after 1,000 procedures' summaries were marked stale (as a
  day of data entry would), which the report rebuilds first;
- reference_report_s, the peer: the same figures by the reference path (every assessment
  and analgesic entry read into pandas: ``analyse(load_tables(...))`` of
  ``tests/audit/reference``, the tests' oracle), and
  report_speedup = reference_report_s / report_s, which depends less on the machine's load;
- csv_export_s and fhir_export_s: the pseudonymised CSV and FHIR exports of every patient.

- dq_build_s: building every patient's kept findings (``registry.findings_store``). The
  triggers mark the bulk load's patients stale as they would any writer's, so the first read
  builds them all (as after an upgrade that changes the rules);
- dq_counts_s: the Data quality page's counts, open and acknowledged findings of every rule
  of ``registry.data_quality`` over the whole site (``findings_store.count_findings``: the kept
  findings counted, the two rules that change with the day worked out from the records), with
  1,000 findings acknowledged first; its peer, dq_counts_from_records_s, the same counts from
  the records (``data_quality.count_findings``, one aggregate query per kind of record: how the
  page counted before), which must agree, and dq_speedup their ratio;
  dq_counts_1000_stale_s: the counts after 1,000 patients were marked stale (a day of data
  entry), which they rebuild first; dq_first_page_s: the counts and the first page of open
  findings (what the page's view reads); dq_record_ms: the median time of ``findings_for``
  (the warning on save) for one procedure and its cycles; dq_csv_s and dq_csv_rows: the CSV of
  every open finding. ``--only data_quality`` runs the load and this case alone.

Memory: the resident set size is sampled every 50 ms during each export; rss_growth_mb is
its peak minus its level when the export started (flat = the export streams). The machine's
1-minute load average is recorded before and after the timings (load_before, load_after):
on a shared machine the figures mean little without it. The last line printed is one JSON
object with the figures per database.

Targets (issue 5): report under 2 s, each export under 60 s, for 100,000 procedures; (issue
12) the Data quality page's counts under 2 s.

Measured for the Data quality case (2026-12-06, 2 shared cores, 1-minute load 0.9-1.6), 100,000
procedures, 372,771 open findings: SQLite counts 2.1-2.5 s (peer, one query per rule: 6.0-7.4 s),
first page 2.6-3.6 s, CSV of every finding 14-16 s; PostgreSQL counts 6.9 s (peer 3.0 s), first
page 7.1 s, CSV 23 s. **Not met**, on PostgreSQL by 3.5 times: there the one aggregate per kind
of record makes the planner evaluate the correlated conditions (MDT decisions, consents) as
subplans for every row, where one query per rule gets semi-joins; per rule with both counts in
one query, 3.2 s. Next: keep the findings of each record in a table maintained on save, as the
audit's case summaries are, and count that.

2026-12-07: a run with ``--postgres`` did not finish in 40 minutes. Not PostgreSQL nor the bulk
load (the worker now says on stderr what it is doing, with the load): SQLite, which runs first,
never finished its first counts. The lesions' count, with every lesion a candidate (none of
the synthetic spinal metastases has its SINS), made SQLite look each patient's lesions up
once per candidate id (100,000 x 100,000 probes); the IN is now tested as membership
(``data_quality._pk_among``). At 100,000 procedures (2 shared cores): SQLite counts 1.24 s,
peer 5.1 s, first page 3.8 s, CSV 15 s (load 2.3-2.9); PostgreSQL (IN/EXISTS forms, not
affected) counts 1.21 s, peer 1.6 s, first page 2.3 s, CSV 12 s, load 98 s (load 2.2-2.6).
Most of the first page's time was the first ``reverse()`` importing every app's URLs (2.4 s),
which a running server has done: the case now loads them before it times.

**Met** with the findings kept per record (``registry.findings_store``), 2026-12-07, 100,000
procedures, 372,771 open findings, 1,000 acknowledged; two runs, the second with the triggers
also marking the patients of records read across a foreign key:

| | SQLite, load 2.1-2.2 / 0.7-0.8 | PostgreSQL, load 4.6-5.6 / 1.1 |
|---|---|---|
| counts (from the records, as before) | 0.13 / 0.13 s (1.36 / 1.16 s) | 0.33 / 0.19 s (1.72 / 1.03 s) |
| counts after 1,000 patients marked stale | 0.57 / 0.54 s | 1.24 / 0.80 s |
| counts and first page | 0.13 / 0.13 s | 0.34 / 0.22 s |
| building every patient's findings | 13.7 / 14.5 s | 61 / 42 s |
| bulk load with the triggers (without) | 43 / 44 s (19.5 s) | 182 / 94 s (98 s at load 2.6) |
| ``findings_for``; CSV | 12 / 12 ms; 8.9 / 9.0 s | 30 / 19 ms; 11.8 / 11.6 s |
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
# The reference path the report is timed against is the tests' oracle (tests/audit/reference),
# not production code: the repository root on the path makes the ``tests`` package importable
# when this script runs as ``python benchmarks/audit.py`` (whose own folder is on the path).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BATCH = 5_000


def progress(step: str) -> None:
    """What the worker is doing, with the time and the load, on stderr as it goes: a run that
    seems stuck then says where."""
    sys.stderr.write(f"  {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}: {step}\n")
    sys.stderr.flush()


class RssSampler:
    """Peak resident memory of this process while a block runs (Linux /proc)."""

    def __init__(self, interval_s: float = 0.05):
        self.interval_s = interval_s
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self.start = 0
        self._stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval_s)

    def __enter__(self):
        self.start = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows with one executemany: much faster than bulk_create at this scale.

    Columns not given get the field's default (prepared once), so fields added to the models
    later do not break the benchmark. Values are given as the database takes them (JSON as
    text, dates, numbers); nothing is validated: the benchmark measures reading, not writing.
    """
    from django.db import connection

    given = set(columns)
    extra = [
        f
        for f in model._meta.concrete_fields
        if f.column not in given and f.attname not in given and not f.primary_key
    ]
    names = list(columns) + [f.column for f in extra]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(connection.ops.quote_name(n) for n in names)}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608 (names from the models)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 20_000):
            cursor.executemany(sql, [row + defaults for row in rows[start : start + 20_000]])


def load_cohort(procedures: int, seed: int = 5) -> None:
    """Insert a synthetic cohort: no actions, no audit trail, no per-row validation."""
    from datetime import timedelta

    import numpy as np
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from thermablate.clinical import followup
    from thermablate.registry import models as m

    rng = np.random.default_rng(seed)
    today = timezone.localdate()
    site = m.Site.objects.create(code="bench", name="Benchmark General Hospital")
    operators = []
    for index in range(8):
        user = User.objects.create(
            username=f"operator{index}", first_name="Operator", last_name=str(index)
        )
        m.StaffProfile.objects.create(user=user, site=site, role="clinician")
        operators.append(user.pk)
    nhs_field = m.Patient._meta.get_field("nhs_number")
    # A fixed stand-in, encrypted once: encrypting 100,000 numbers would only time the cipher.
    nhs = nhs_field.get_db_prep_save("9000000009", connection)
    has_hash = any(f.name == "nhs_number_hash" for f in m.Patient._meta.concrete_fields)
    types = ["rfa_vertebroplasty", "rfa_kyphoplasty", "rfa_spinal_metastasis"]
    cement = {
        "rfa_vertebroplasty": "vertebroplasty",
        "rfa_kyphoplasty": "kyphoplasty",
        "rfa_spinal_metastasis": "none",
    }
    events = [
        "cement_leakage",
        "infection",
        "thermal_injury",
        "neurological_deficit",
        "new_fracture",
        "haematoma",
    ]
    guidance = json.dumps(["fluoroscopy"])
    protection = json.dumps(["thermocouple"])
    roles = json.dumps(["interventional_radiologist", "clinical_oncologist"])
    now = timezone.now()
    assessment_id = analgesic_id = event_id = 0
    for start in range(0, procedures, BATCH):
        if start and start % (4 * BATCH) == 0:
            progress(f"loaded {start} procedures")
        ids = range(start + 1, min(start + BATCH, procedures) + 1)
        n = len(ids)
        days_ago = rng.integers(3, 3 * 365, n)
        kinds = rng.integers(0, 3, n)
        patients, lesions, mdts, consents, procs, through, cycles = [], [], [], [], [], [], []
        assessments, analgesics, adverse = [], [], []
        for j, pid in enumerate(ids):
            when = today - timedelta(days=int(days_ago[j]))
            kind = types[kinds[j]]
            row = (
                pid,
                site.pk,
                f"TB-{pid:07d}",
                nhs,
                1940 + pid % 40,
                "female" if pid % 2 else "male",
                now,
            )
            patients.append(row + ((f"bench-{pid}",) if has_hash else ()))
            lesions.append((pid, pid, "L2", "", "spinal_metastasis", "breast", "lytic"))
            if pid % 20:
                mdts.append((pid, pid, when - timedelta(days=10), roles, "proceed", ""))
            if pid % 15:
                consents.append(
                    (
                        pid,
                        when - timedelta(days=2),
                        "RF ablation leaflet",
                        "2",
                        pid % 7 != 0,
                        True,
                        True,
                        "",
                    )
                )
            procs.append(
                (
                    pid,
                    pid,
                    pid,
                    when,
                    kind,
                    "day_case",
                    "general",
                    "transpedicular",
                    "percutaneous",
                    guidance,
                    "Medtronic",
                    "OsteoCool",
                    "" if pid % 3 else f"L{pid}",
                    "bipolar",
                    10,
                    cement[kind],
                    3.5 if cement[kind] != "none" else None,
                    protection,
                    "L2",
                    60,
                    now,
                )
            )
            through.append((pid, operators[pid % len(operators)]))
            cycles.append((pid, 1, 70, 300))
            baseline_pain = int(rng.integers(5, 10))
            baseline_ome = int(rng.choice([0, 20, 40, 60, 120]))
            responder = rng.random() < 0.7
            for due in followup.schedule_for(when):
                assessment_id += 1
                done = due.opens <= today and (due.timepoint == "baseline" or rng.random() < 0.85)
                if not done:
                    assessments.append(
                        (
                            assessment_id,
                            pid,
                            pid,
                            due.timepoint,
                            due.target,
                            due.opens,
                            due.closes,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            False,
                            "",
                        )
                    )
                    continue
                relief = (
                    0
                    if due.timepoint == "baseline"
                    else (int(rng.integers(2, 6)) if responder else int(rng.integers(-1, 2)))
                )
                pain = max(0, min(10, baseline_pain - relief))
                level = max(1, min(5, 1 + pain // 2))
                ome = (
                    baseline_ome
                    if due.timepoint == "baseline" or not responder
                    else baseline_ome // 2
                )
                assessed = (
                    when - timedelta(days=1)
                    if due.timepoint == "baseline"
                    else min(today, due.target)
                )
                assessments.append(
                    (
                        assessment_id,
                        pid,
                        pid,
                        due.timepoint,
                        due.target,
                        due.opens,
                        due.closes,
                        assessed,
                        pain,
                        max(0, pain - 1),
                        level,
                        max(1, level - 1),
                        level,
                        level,
                        max(1, level - 1),
                        False,
                        "",
                    )
                )
                analgesic_id += 1
                analgesics.append(
                    (analgesic_id, assessment_id, "paracetamol", 1000, "mg", "oral", 4, False)
                )
                if ome:
                    analgesic_id += 1
                    analgesics.append(
                        (analgesic_id, assessment_id, "morphine", ome / 2, "mg", "oral", 2, False)
                    )
                if pid % 97 == 0:
                    analgesic_id += 1
                    analgesics.append(
                        (analgesic_id, assessment_id, "kratom", 1, "mg", "oral", 1, False)
                    )
            if rng.random() < 0.08:
                event_id += 1
                adverse.append(
                    (
                        event_id,
                        pid,
                        pid,
                        events[int(rng.integers(0, len(events)))],
                        False,
                        when,
                        int(rng.integers(1, 5)),
                        "unknown",
                        "resolved",
                        "Synthetic benchmark event.",
                        None,
                        "",
                    )
                )
        with transaction.atomic():
            insert(
                m.Patient,
                (
                    "id",
                    "site_id",
                    "registry_number",
                    "nhs_number",
                    "year_of_birth",
                    "sex",
                    "created_at",
                )
                + (("nhs_number_hash",) if has_hash else ()),
                patients,
            )
            insert(
                m.Lesion,
                (
                    "id",
                    "patient_id",
                    "spinal_levels",
                    "bone_site",
                    "diagnosis",
                    "primary_tumour",
                    "lesion_type",
                ),
                lesions,
            )
            insert(
                m.MdtDecisionRecord,
                ("patient_id", "lesion_id", "meeting_date", "member_roles", "decision", "reasons"),
                mdts,
            )
            insert(
                m.Consent,
                (
                    "patient_id",
                    "consent_date",
                    "leaflet_title",
                    "leaflet_version",
                    "nice_information_offered",
                    "uncertainties_discussed",
                    "registry_audit_consent",
                    "notes",
                ),
                consents,
            )
            insert(
                m.Procedure,
                (
                    "id",
                    "patient_id",
                    "lesion_id",
                    "procedure_date",
                    "procedure_type",
                    "setting",
                    "anaesthesia",
                    "approach",
                    "access",
                    "image_guidance",
                    "device_manufacturer",
                    "device_model",
                    "device_lot",
                    "polarity",
                    "active_tip_mm",
                    "cement",
                    "cement_volume_ml",
                    "thermal_protection",
                    "levels_treated",
                    "duration_min",
                    "created_at",
                ),
                procs,
            )
            insert(m.Procedure.operators.through, ("procedure_id", "user_id"), through)
            insert(
                m.AblationCycle,
                ("procedure_id", "order", "target_temp_c", "time_at_target_s"),
                cycles,
            )
            insert(
                m.Assessment,
                (
                    "id",
                    "patient_id",
                    "procedure_id",
                    "timepoint",
                    "due_date",
                    "window_opens",
                    "window_closes",
                    "assessed_on",
                    "pain_worst",
                    "pain_average",
                    "eq5d_mobility",
                    "eq5d_self_care",
                    "eq5d_usual_activities",
                    "eq5d_pain_discomfort",
                    "eq5d_anxiety_depression",
                    "no_analgesics",
                    "notes",
                ),
                assessments,
            )
            insert(
                m.AnalgesicEntry,
                (
                    "id",
                    "assessment_id",
                    "drug",
                    "dose",
                    "unit",
                    "route",
                    "doses_per_day",
                    "as_needed",
                ),
                analgesics,
            )
            insert(
                m.AdverseEvent,
                (
                    "id",
                    "patient_id",
                    "procedure_id",
                    "event_type",
                    "symptomatic",
                    "onset_date",
                    "severity",
                    "device_related",
                    "outcome",
                    "description",
                    "yellow_card_reported_on",
                    "yellow_card_reference",
                ),
                adverse,
            )
    if connection.vendor == "postgresql":
        # Rows were inserted with explicit ids: move the sequences past them.
        from django.core.management.color import no_style

        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(),
                [m.Patient, m.Lesion, m.Procedure, m.Assessment, m.AnalgesicEntry, m.AdverseEvent],
            ):
                cursor.execute(sql)


def data_quality_case(site) -> dict:
    """The Data quality page's counts at registry scale, beside its peer (the rules evaluated
    over the records, as the page counted before the findings were kept)."""
    import statistics

    from django.contrib.auth.models import User
    from django.urls import reverse
    from django.utils import timezone

    from thermablate.registry import data_quality as dq
    from thermablate.registry import findings_store
    from thermablate.registry.models import (
        DataQualityAcknowledgement,
        Procedure,
        StoredFindingsState,
    )

    # The bulk load's rows were marked stale by the triggers: build every patient's findings.
    progress("data quality: building the kept findings")
    started = time.perf_counter()
    built = findings_store.refresh()
    build_s = time.perf_counter() - started
    # Acknowledged findings, so the counts' test of each finding against them does real work.
    by = User.objects.filter(staff__site=site).first()
    DataQualityAcknowledgement.objects.bulk_create(
        DataQualityAcknowledgement(
            rule="procedure_not_coded",
            record_type="procedure",
            object_id=pk,
            reason="Coded in the hospital's own system",
            acknowledged_by=by,
        )
        for pk in Procedure.objects.order_by("pk").values_list("pk", flat=True)[:1000]
    )
    progress(f"data quality: built {built} patients in {build_s:.1f} s; first counts (not timed)")
    findings_store.count_findings(site)  # first queries and lazy imports, not timed
    # The URL configuration, which a running server has loaded: the list's links need it, and
    # importing it (every app's views) took 2.4 s of the first page's time.
    reverse("data_quality")
    progress("data quality: counts")
    started = time.perf_counter()
    counts = findings_store.count_findings(site)
    counts_s = time.perf_counter() - started
    today = timezone.localdate()
    progress(f"data quality: counts took {counts_s:.2f} s; the peer, from the records")
    started = time.perf_counter()
    peer = dq.count_findings(site, today=today)
    peer_s = time.perf_counter() - started
    assert [(c.open, c.acknowledged) for c in peer] == [(c.open, c.acknowledged) for c in counts], (
        "peer disagrees"
    )
    # A day of data entry: 1,000 patients' findings marked stale, rebuilt by the next read.
    StoredFindingsState.objects.filter(
        patient_id__in=range(1, Procedure.objects.count() + 1, 100)
    ).update(stale=True)
    progress(f"data quality: peer took {peer_s:.2f} s; counts after 1,000 stale patients")
    started = time.perf_counter()
    findings_store.count_findings(site)
    stale_s = time.perf_counter() - started
    progress(f"data quality: took {stale_s:.2f} s; counts and the first page")
    started = time.perf_counter()
    by_code = {c.rule.code: c for c in findings_store.count_findings(site)}
    first_page = findings_store.FindingList(site, list(dq.RULES), by_code, dq.Status.OPEN, today)[
        0:50
    ]
    first_page_s = time.perf_counter() - started
    progress(f"data quality: first page took {first_page_s:.2f} s; findings_for")
    record_times = []
    step = max(1, Procedure.objects.count() // 20)
    for procedure in Procedure.objects.filter(pk__in=range(1, 20 * step + 1, step)):
        started = time.perf_counter()
        dq.findings_for(procedure)
        record_times.append(time.perf_counter() - started)
    progress("data quality: CSV of every open finding")
    started = time.perf_counter()
    rows = sum(1 for _ in dq.iter_findings(site, dq.RULES, dq.Status.OPEN))
    csv_s = time.perf_counter() - started
    return {
        "dq_build_s": round(build_s, 1),
        "dq_counts_s": round(counts_s, 2),
        "dq_counts_from_records_s": round(peer_s, 2),
        "dq_speedup": round(peer_s / counts_s, 1),
        "dq_counts_1000_stale_s": round(stale_s, 2),
        "dq_first_page_s": round(first_page_s, 2),
        "dq_first_page_rows": len(first_page),
        "dq_record_ms": round(statistics.median(record_times) * 1000, 1),
        "dq_csv_s": round(csv_s, 1),
        "dq_csv_rows": rows,
        "dq_open_findings": sum(c.open for c in counts),
        "dq_acknowledged_findings": sum(c.acknowledged for c in counts),
    }


def worker(procedures: int, only: str | None = None) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from thermablate.registry.models import Site

    progress(f"{connection.vendor}: migrate")
    call_command("migrate", verbosity=0)
    progress(f"{connection.vendor}: load {procedures} procedures")
    started = time.perf_counter()
    load_cohort(procedures)
    load_s = time.perf_counter() - started
    progress(f"{connection.vendor}: loaded in {load_s:.1f} s; ANALYZE")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    site = Site.objects.get(code="bench")
    result = {"procedures": procedures, "load_s": round(load_s, 1)}
    if only in (None, "report"):
        result.update(report_case(procedures, site))
    if only in (None, "data_quality"):
        load_before = os.getloadavg()[0]
        result.update(data_quality_case(site))
        result["dq_load_before"] = round(load_before, 2)
        result["dq_load_after"] = round(os.getloadavg()[0], 2)
    return result


def report_case(procedures: int, site) -> dict:
    from django.db import connection

    from tests.audit.reference import analyse, load_tables
    from thermablate.audit import reports, summaries
    from thermablate.audit.exports.run import export
    from thermablate.audit.queries import EVENT_TYPES, CohortFilter
    from thermablate.registry.models import Procedure

    started = time.perf_counter()
    summaries.refresh(Procedure.objects.all())
    summaries_s = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    figures = reports.figures_for(CohortFilter(site=site))
    report_s = time.perf_counter() - started
    started = time.perf_counter()
    reports.chart_set(figures)
    charts_s = time.perf_counter() - started
    started = time.perf_counter()
    analyse(load_tables(CohortFilter(site=site)), figures.as_of, EVENT_TYPES)
    reference_report_s = time.perf_counter() - started
    summaries.mark_stale(range(1, procedures + 1, max(1, procedures // 1000)))
    started = time.perf_counter()
    reports.figures_for(CohortFilter(site=site))
    report_1000_stale_s = time.perf_counter() - started
    out_dir = Path(os.environ["THERMABLATE_DATA_DIR"])
    result = {
        "procedures": figures.size.procedures,
        "summaries_s": round(summaries_s, 1),
        "report_s": round(report_s, 2),
        "charts_s": round(charts_s, 2),
        "report_1000_stale_s": round(report_1000_stale_s, 2),
        "reference_report_s": round(reference_report_s, 1),
        "report_speedup": round(reference_report_s / report_s, 1),
    }
    for name, export_format in (("csv_export", "csv"), ("fhir_export", "fhir")):
        out = out_dir / f"bench.{export_format}"
        with RssSampler() as memory:
            started = time.perf_counter()
            export(export_format=export_format, out=out, pseudonymised=True)
            result[f"{name}_s"] = round(time.perf_counter() - started, 1)
        result[f"{name}_rss_growth_mb"] = memory.growth_mb
        result[f"{name}_mb"] = round(out.stat().st_size / 2**20, 1)
    result["load_before"] = round(load_before, 2)
    result["load_after"] = round(os.getloadavg()[0], 2)
    return result


def _run_worker(procedures: int, database_url: str, data_dir: str, only: str | None) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "THERMABLATE_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "thermablate.web.settings",
    }
    completed = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, __file__, "--worker", "--procedures", str(procedures)]
        + (["--only", only] if only else []),
        env=env,
        stdout=subprocess.PIPE,  # the figures; its progress (stderr) shows as it goes
        text=True,
        check=False,
    )
    if completed.returncode:
        sys.stderr.write(completed.stdout)
        raise SystemExit(f"worker failed for {urlparse(database_url).scheme}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    # Here, not at the top: the tests load this file as a module (its cohort generator),
    # where the script's own folder is not on the path.
    from scratch_databases import postgres_database

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procedures", type=int, default=100_000)
    parser.add_argument("--postgres", help="postgresql://USER:PASS@HOST:PORT/DB (needs CREATEDB)")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="run in the --postgres database itself (emptied before and after), not a new one",
    )
    parser.add_argument(
        "--only", choices=("report", "data_quality"), help="run one case (after the load) alone"
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="only PostgreSQL (with --postgres)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.procedures, args.only)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="thermablate-bench-") as data_dir:
        if not args.no_sqlite:
            url = f"sqlite:///{Path(data_dir) / 'bench.sqlite3'}"
            results["sqlite"] = _run_worker(args.procedures, url, data_dir, args.only)
            print("sqlite", results["sqlite"], flush=True)
        if args.postgres:
            # Named after the database in the URL (thermablate -> thermablate_bench), so that
            # runs against different databases of one server do not drop each other's.
            scratch = urlparse(args.postgres).path.lstrip("/") + "_bench"
            pg_url, drop = postgres_database(args.postgres, scratch, in_place=args.in_place)
            try:
                results["postgresql"] = _run_worker(args.procedures, pg_url, data_dir, args.only)
                print("postgresql", results["postgresql"], flush=True)
            finally:
                drop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
