"""Read the registry in chunks of patients, each with all its procedures and their follow-up.

A fixed number of queries per chunk (keyset pagination on the patient id), never one per row,
and nothing kept between chunks (beyond the next one, read ahead), so memory stays flat
however large the cohort.

What leaves: only records that count. A record marked "entered in error" (a procedure, with
its cycles, follow-up and adverse events; an assessment; an adverse event; an MDT decision; a
consent) is not read, and a patient who withdrew consent to registry use is not exported at
all (``exportable``; ``left_out`` counts them for the export log). docs/audit.md, "Exports".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import InitVar, dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, connections, models
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from thermablate.audit.queries import fetch, operator_name
from thermablate.clinical import bpi, eq5d, odi, opioids
from thermablate.registry import choices as c
from thermablate.registry import declarations as d
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    MdtDecisionRecord,
    Patient,
    Procedure,
)

CHUNK_PATIENTS = 2_000

# Read from each record's declaration (thermablate.registry.declarations): a field declared
# there is exported without a change here. Free text stays out of the procedure, assessment,
# MDT and consent rows (it may name people); an adverse event's description is read, for the
# FHIR AdverseEvent's text.
# The patient's status (died, withdrew, lost to follow-up) is set by its own action, not
# declared with the patient's form; its notes are free text and stay home.
STATUS_FIELDS = ("status", "status_date", "death_related")
PATIENT_FIELDS = ("id", "registry_number", *d.PATIENT.value_names(), *STATUS_FIELDS, "site__code")
PROCEDURE_FIELDS = (
    "id",
    "patient_id",
    *d.PROCEDURE.value_names(d.PROCEDURE.exported),
    *(f"lesion__{name}" for name in d.LESION.value_names(d.LESION.exported)),
)
ASSESSMENT_FIELDS = (
    "id",
    "procedure_id",
    "timepoint",
    "due_date",
    *d.ASSESSMENT.value_names(d.ASSESSMENT.exported),
    "not_done",  # closed as "could not be done" (the reason is free text: it stays home)
)
_NOT_DONE = ExpressionWrapper(~Q(not_done_reason=""), output_field=BooleanField())
EVENT_FIELDS = ("id", *d.ADVERSE_EVENT.value_names())
MDT_FIELDS = ("id", "patient_id", *d.MDT_DECISION.value_names(d.MDT_DECISION.exported))
CONSENT_FIELDS = ("id", "patient_id", *d.CONSENT.value_names(d.CONSENT.exported))


class Analgesic(NamedTuple):
    """One analgesic entry as recorded (a tuple: a million of them in a large export)."""

    drug: str
    dose: Decimal | float
    unit: str
    route: str
    doses_per_day: Decimal | float | None
    as_needed: bool | int


@dataclass
class AssessmentRecord:
    data: dict
    # The patient's, for value sets that depend on age and sex (the DSU mapping).
    year_of_birth: InitVar[int]
    sex: InitVar[str]
    analgesics: list[Analgesic] = field(default_factory=list)
    # Derived once here: both writers ask for them, some more than once.
    eq5d_profile: tuple[int, ...] | None = field(init=False)
    eq5d_index: float | None = field(init=False)

    def __post_init__(self, year_of_birth: int, sex: str):
        answers = tuple(self.data[name] for name in _EQ5D_FIELDS)
        self.eq5d_profile = None if None in answers else answers
        self.eq5d_index = None
        if self.eq5d_profile:
            table = _eq5d_table(eq5d.approximate_age(year_of_birth, self.data["assessed_on"]), sex)
            # The levels were validated on entry (1-5 choices): look the code up directly.
            self.eq5d_index = None if table is None else table["".join(map(str, answers))]

    @property
    def done(self) -> bool:
        return self.data["assessed_on"] is not None

    def ome(self) -> opioids.OmeResult | None:
        if not self.done or not (self.analgesics or self.data["no_analgesics"]):
            return None
        # Decimal and float keys of equal value hash alike: the cache sees one regimen.
        return _ome(tuple(entry[:5] for entry in self.analgesics))

    def odi(self) -> float | None:
        return _odi(tuple(self.data[name] for name in _ODI_FIELDS))

    def bpi_severity(self) -> float | None:
        return _bpi_severity(tuple(self.data[name] for name in _BPI_SEVERITY_FIELDS))

    def bpi_interference(self) -> float | None:
        return _bpi_interference(tuple(self.data[name] for name in _BPI_INTERFERENCE_FIELDS))


_EQ5D_FIELDS = tuple(name for name, _ in c.EQ5D_DIMENSIONS)
_ODI_FIELDS = tuple(name for name, _ in c.ODI_SECTIONS)
_BPI_SEVERITY_FIELDS = tuple(c.BPI_SEVERITY_FIELDS[item] for item in bpi.SEVERITY_ITEMS)
_BPI_INTERFERENCE_FIELDS = tuple(name for name, _ in c.BPI_INTERFERENCE)
# The instruments' scores of each distinct set of answers, computed once (bounded caches).
_odi = lru_cache(maxsize=4_096)(odi.score)
_bpi_severity = lru_cache(maxsize=4_096)(bpi.severity)
_bpi_interference = lru_cache(maxsize=4_096)(bpi.interference)


@lru_cache(maxsize=1_024)
def _eq5d_table(age: int, sex: str):
    """The default value set's table for one age and sex; None if it does not cover them."""
    try:
        return eq5d.values_for(age=age, sex=sex)
    except ValueError:
        return None


@lru_cache(maxsize=4_096)
def _ome(entries: tuple[tuple, ...]) -> opioids.OmeResult:
    """OME of one list of analgesic entries; most patients share a few regimens, so the
    results are cached (bounded, so memory stays flat)."""
    return opioids.ome_breakdown(
        opioids.AnalgesicEntry(
            drug, float(dose), unit, route, None if per_day is None else float(per_day)
        )
        for drug, dose, unit, route, per_day in entries
    )


@dataclass
class ProcedureRecord:
    data: dict
    operators: list[str] = field(default_factory=list)
    cycles: list[dict] = field(default_factory=list)
    assessments: list[AssessmentRecord] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


@dataclass
class PatientRecord:
    data: dict
    procedures: list[ProcedureRecord] = field(default_factory=list)
    mdt: list[dict] = field(default_factory=list)
    consents: list[dict] = field(default_factory=list)


def _json(value):
    """JSON fields come back as text from the raw cursor on some databases."""
    return json.loads(value) if isinstance(value, str) else value


def _date(value):
    """Dates come back as ISO text from SQLite's raw cursor."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _optional_bool(value):
    return None if value is None else bool(value)


def _converter(f: models.Field):
    if isinstance(f, models.DateField):
        return _date
    if isinstance(f, models.BooleanField):
        return _optional_bool if f.null else bool
    if isinstance(f, models.JSONField):
        return _json
    return None


def _converters() -> dict:
    """How a raw cursor value becomes the Python value the writers expect, by column name,
    from the declared fields' types (and the lesion's, read with its procedure)."""
    # Set by the system or by their own action, not declared: the schedule's date and the
    # "could not be done" flag. (Patients are read through the ORM, which converts.)
    columns = {"due_date": _date, "not_done": bool}
    for record in d.ALL:
        for name in record.fields:
            f = record.model_field(name)
            convert = None if f.many_to_many else _converter(f)
            if convert is not None:
                columns[f.attname] = convert
                if record is d.LESION:
                    columns[f"lesion_{f.attname}"] = convert
    return columns


_CONVERTERS = _converters()


def _dicts(queryset: QuerySet, fields: tuple[str, ...]) -> list[dict]:
    """The rows as dicts keyed by field name (lesion__diagnosis -> lesion_diagnosis), with
    dates, booleans and JSON converted. A conversion is skipped for a column whose first value
    needs none: each database returns a column's values as one type (PostgreSQL booleans and
    dates as such, SQLite booleans as 0/1), so most conversions never run on PostgreSQL."""
    names = [name.replace("__", "_") for name in fields]
    rows = [dict(zip(names, row, strict=True)) for row in fetch(queryset, fields)]
    if not rows:
        return rows
    first = rows[0]
    converters = [
        (name, convert)
        for name, convert in ((name, _CONVERTERS.get(name)) for name in names)
        if convert is not None and (first[name] is None or convert(first[name]) is not first[name])
    ]
    for row in rows:
        for name, convert in converters:
            row[name] = convert(row[name])
    return rows


def _chunk(patient_ids: list[int], with_identifiers: bool) -> list[PatientRecord]:
    """All data of these patients. Related rows are selected by the patient id range (cheap
    to compile, unlike a long IN list) and rows of patients outside the chunk are dropped."""
    low, high = patient_ids[0], patient_ids[-1]
    fields = (
        PATIENT_FIELDS
        if with_identifiers
        else tuple(f for f in PATIENT_FIELDS if f not in d.PATIENT.identifiers)
    )
    # Through the ORM, not the raw cursor: the NHS number is decrypted by its field.
    patients = {
        row[0]: PatientRecord(dict(zip([f.replace("__", "_") for f in fields], row, strict=True)))
        for row in Patient.objects.filter(id__in=patient_ids).order_by("id").values_list(*fields)
    }
    procedures = {}
    for row in _dicts(
        Procedure.objects.live()
        .filter(patient__id__range=(low, high))
        .order_by("procedure_date", "id"),
        PROCEDURE_FIELDS,
    ):
        if row["patient_id"] in patients:
            record = ProcedureRecord(row)
            procedures[row["id"]] = record
            patients[row["patient_id"]].procedures.append(record)
    in_range = {"procedure__patient__id__range": (low, high)}
    for procedure_id, first, last, username in fetch(
        Procedure.operators.through.objects.filter(**in_range).order_by("id"),
        ("procedure_id", "user__first_name", "user__last_name", "user__username"),
    ):
        if procedure_id in procedures:
            procedures[procedure_id].operators.append(operator_name(first, last, username))
    for procedure_id, order, temp, seconds, power in fetch(
        AblationCycle.objects.filter(**in_range).order_by("procedure_id", "order"),
        ("procedure_id", "order", "target_temp_c", "time_at_target_s", "power_w"),
    ):
        if procedure_id in procedures:
            procedures[procedure_id].cycles.append(
                {
                    "order": order,
                    "target_temp_c": temp,
                    "time_at_target_s": seconds,
                    "power_w": power,
                }
            )
    assessments = {}
    for row in _dicts(
        # Only completed assessments (and time points closed as "could not be done") are
        # written: a scheduled one holds no answers. One in error counts as not recorded.
        Assessment.objects.live()
        .filter(patient__id__range=(low, high))
        .filter(Q(assessed_on__isnull=False) | ~Q(not_done_reason=""))
        .annotate(not_done=_NOT_DONE)
        .order_by("due_date", "id"),
        ASSESSMENT_FIELDS,
    ):
        if row["procedure_id"] in procedures:
            patient = patients[procedures[row["procedure_id"]].data["patient_id"]].data
            record = AssessmentRecord(row, patient["year_of_birth"], patient["sex"])
            assessments[row["id"]] = record
            procedures[row["procedure_id"]].assessments.append(record)
    # The range of the chunk's assessment ids adds nothing to the patient filter but lets
    # the database read the entries by their assessment index (PostgreSQL otherwise scans
    # the whole table for every chunk).
    entries = AnalgesicEntry.objects.filter(
        assessment__patient__id__range=(low, high),
        assessment__id__range=(min(assessments, default=0), max(assessments, default=0)),
    ).order_by("id")
    for assessment_id, *entry in fetch(entries, ("assessment_id", *Analgesic._fields)):
        if assessment_id in assessments:
            assessments[assessment_id].analgesics.append(Analgesic._make(entry))
    for row in _dicts(
        AdverseEvent.objects.live()
        .filter(patient__id__range=(low, high))
        .order_by("onset_date", "id"),
        EVENT_FIELDS,
    ):
        if row["procedure_id"] in procedures:
            procedures[row["procedure_id"]].events.append(row)
    for model, fields_, date_field, attribute in (
        (MdtDecisionRecord, MDT_FIELDS, "meeting_date", "mdt"),
        (Consent, CONSENT_FIELDS, "consent_date", "consents"),
    ):
        for row in _dicts(
            model.objects.live().filter(patient__id__range=(low, high)).order_by(date_field, "id"),
            fields_,
        ):
            if row["patient_id"] in patients:
                getattr(patients[row["patient_id"]], attribute).append(row)
    return [patients[pid] for pid in patient_ids if pid in patients]


# Correlated, not IN (subquery): each chunk's keyset read (id > last, LIMIT) then probes the
# procedures' patient index patient by patient, instead of reading every procedure again.
_WITH_LIVE_PROCEDURE = Exists(Procedure.objects.live().filter(patient_id=OuterRef("pk")))


def exportable(patients: QuerySet) -> QuerySet:
    """The patients of ``patients`` an export may hold, with a procedure that counts.

    Not those who withdrew consent to registry use: their records stay in the site's own
    clinical audit (local audit of the service is not registry use), but leave every export
    to a register or other external use from the moment the withdrawal is recorded."""
    return (
        patients.exclude(status=c.PatientStatus.WITHDREW_CONSENT)
        .filter(_WITH_LIVE_PROCEDURE)
        .order_by("id")
    )


def left_out(patients: QuerySet) -> dict[str, int]:
    """Patients of ``patients`` who would be exported but are left out, by reason (the
    export log and the command say so). Today one reason: withdrawn consent to registry use."""
    withdrawn = (
        patients.filter(status=c.PatientStatus.WITHDREW_CONSENT)
        .filter(_WITH_LIVE_PROCEDURE)
        .count()
    )
    return {c.PatientStatus.WITHDREW_CONSENT.value: withdrawn} if withdrawn else {}


def patient_records(
    patients: QuerySet, chunk_size: int = CHUNK_PATIENTS, with_identifiers: bool = False
) -> Iterator[PatientRecord]:
    """Every exportable patient of ``patients`` (``exportable``), in id order, chunk by chunk.

    The NHS number is read (and decrypted) only ``with_identifiers``. In autocommit mode
    the next chunk is read by a helper thread (its own database connection) while the caller
    writes the current one, so the database's time overlaps the writer's; at most two chunks
    are held. Inside a transaction the chunks are read on the caller's connection, which
    alone sees the transaction's own writes.
    """
    with_procedures = exportable(patients)

    def read(after: int) -> tuple[list[PatientRecord], int | None]:
        ids = list(with_procedures.filter(id__gt=after).values_list("id", flat=True)[:chunk_size])
        return (_chunk(ids, with_identifiers), ids[-1]) if ids else ([], None)

    if connection.in_atomic_block:
        last_id = 0
        while last_id is not None:
            records, last_id = read(last_id)
            yield from records
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-reader") as reader:
        try:
            pending = reader.submit(read, 0)
            while True:
                records, last_id = pending.result()
                if last_id is None:
                    return
                pending = reader.submit(read, last_id)
                yield from records
        finally:
            # Queued after any read still running: closes the helper thread's connection.
            reader.submit(connections.close_all)
