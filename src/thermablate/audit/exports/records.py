"""Read the registry in chunks of patients, each with all its procedures and their follow-up.

A fixed number of queries per chunk (keyset pagination on the patient id), never one per row,
and nothing kept between chunks, so memory stays flat however large the cohort.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from django.db.models import QuerySet

from thermablate.audit.queries import fetch
from thermablate.clinical import eq5d, opioids
from thermablate.registry import choices as c
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

PATIENT_FIELDS = ("id", "registry_number", "nhs_number", "year_of_birth", "sex", "site__code")
PROCEDURE_FIELDS = (
    "id",
    "patient_id",
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
    "biopsy_taken",
    "cement",
    "cement_volume_ml",
    "thermal_protection",
    "levels_treated",
    "duration_min",
    "lesion__spinal_levels",
    "lesion__bone_site",
    "lesion__diagnosis",
    "lesion__primary_tumour",
    "lesion__lesion_type",
)
ASSESSMENT_FIELDS = (
    "id",
    "procedure_id",
    "timepoint",
    "due_date",
    "assessed_on",
    "pain_worst",
    "pain_average",
    *(name for name, _ in c.EQ5D_DIMENSIONS),
    "no_analgesics",
)
EVENT_FIELDS = (
    "id",
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
)
MDT_FIELDS = ("id", "patient_id", "meeting_date", "decision")
CONSENT_FIELDS = (
    "id",
    "patient_id",
    "consent_date",
    "leaflet_title",
    "leaflet_version",
    "nice_information_offered",
    "uncertainties_discussed",
    "registry_audit_consent",
)


@dataclass
class AssessmentRecord:
    data: dict
    analgesics: list[dict] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.data["assessed_on"] is not None

    @property
    def eq5d_profile(self) -> tuple[int, ...] | None:
        answers = tuple(self.data[name] for name, _ in c.EQ5D_DIMENSIONS)
        return answers if all(a is not None for a in answers) else None

    @property
    def eq5d_index(self) -> float | None:
        profile = self.eq5d_profile
        # The levels were validated on entry (1-5 choices): look the code up directly.
        return _DEFAULT_VALUES["".join(map(str, profile))] if profile else None

    def ome(self) -> opioids.OmeResult | None:
        if not self.done or not (self.analgesics or self.data["no_analgesics"]):
            return None
        key = tuple(
            (
                a["drug"],
                float(a["dose"]),
                a["unit"],
                a["route"],
                None if a["doses_per_day"] is None else float(a["doses_per_day"]),
            )
            for a in self.analgesics
        )
        return _ome(key)


_DEFAULT_VALUES = eq5d.VALUE_SETS[eq5d.DEFAULT_VALUE_SET].values


@lru_cache(maxsize=4_096)
def _ome(entries: tuple[tuple, ...]) -> opioids.OmeResult:
    """OME of one list of analgesic entries; most patients share a few regimens, so the
    results are cached (bounded, so memory stays flat)."""
    return opioids.ome_breakdown(opioids.AnalgesicEntry(*entry) for entry in entries)


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


def _dicts(queryset: QuerySet, fields: tuple[str, ...]) -> list[dict]:
    names = [name.replace("__", "_") for name in fields]  # lesion__diagnosis -> lesion_diagnosis
    return [dict(zip(names, row, strict=True)) for row in fetch(queryset, fields)]


def _json(value):
    """JSON fields come back as text from the raw cursor on some databases."""
    return json.loads(value) if isinstance(value, str) else value


def _date(value):
    """Dates come back as ISO text from SQLite's raw cursor."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


_DATE_KEYS = {
    "procedure_date",
    "due_date",
    "assessed_on",
    "onset_date",
    "yellow_card_reported_on",
    "meeting_date",
    "consent_date",
}
_BOOL_KEYS = {
    "biopsy_taken",
    "no_analgesics",
    "nice_information_offered",
    "uncertainties_discussed",
    "registry_audit_consent",
}


def _clean(row: dict) -> dict:
    for key in _DATE_KEYS & row.keys():
        row[key] = _date(row[key])
    for key in _BOOL_KEYS & row.keys():
        row[key] = bool(row[key])
    for key in ("image_guidance", "thermal_protection"):
        if key in row:
            row[key] = _json(row[key])
    if "symptomatic" in row and row["symptomatic"] is not None:
        row["symptomatic"] = bool(row["symptomatic"])
    return row


def _chunk(patient_ids: list[int], with_identifiers: bool) -> list[PatientRecord]:
    """All data of these patients. Related rows are selected by the patient id range (cheap
    to compile, unlike a long IN list) and rows of patients outside the chunk are dropped."""
    low, high = patient_ids[0], patient_ids[-1]
    fields = (
        PATIENT_FIELDS
        if with_identifiers
        else tuple(f for f in PATIENT_FIELDS if f != "nhs_number")
    )
    # Through the ORM, not the raw cursor: the NHS number is decrypted by its field.
    patients = {
        row[0]: PatientRecord(dict(zip([f.replace("__", "_") for f in fields], row, strict=True)))
        for row in Patient.objects.filter(id__in=patient_ids).order_by("id").values_list(*fields)
    }
    procedures = {}
    for row in _dicts(
        Procedure.objects.filter(patient__id__range=(low, high)).order_by("procedure_date", "id"),
        PROCEDURE_FIELDS,
    ):
        if row["patient_id"] in patients:
            record = ProcedureRecord(_clean(row))
            procedures[row["id"]] = record
            patients[row["patient_id"]].procedures.append(record)
    in_range = {"procedure__patient__id__range": (low, high)}
    for procedure_id, first, last, username in fetch(
        Procedure.operators.through.objects.filter(**in_range).order_by("id"),
        ("procedure_id", "user__first_name", "user__last_name", "user__username"),
    ):
        if procedure_id in procedures:
            procedures[procedure_id].operators.append(
                " ".join(filter(None, (first, last))) or username
            )
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
        Assessment.objects.filter(patient__id__range=(low, high)).order_by("due_date", "id"),
        ASSESSMENT_FIELDS,
    ):
        if row["procedure_id"] in procedures:
            record = AssessmentRecord(_clean(row))
            assessments[row["id"]] = record
            procedures[row["procedure_id"]].assessments.append(record)
    for row in _dicts(
        AnalgesicEntry.objects.filter(assessment__patient__id__range=(low, high)).order_by("id"),
        ("assessment_id", "drug", "dose", "unit", "route", "doses_per_day", "as_needed"),
    ):
        if row["assessment_id"] in assessments:
            assessments[row["assessment_id"]].analgesics.append(row)
    for row in _dicts(
        AdverseEvent.objects.filter(patient__id__range=(low, high)).order_by("onset_date", "id"),
        EVENT_FIELDS,
    ):
        if row["procedure_id"] in procedures:
            procedures[row["procedure_id"]].events.append(_clean(row))
    for model, fields_, date_field, attribute in (
        (MdtDecisionRecord, MDT_FIELDS, "meeting_date", "mdt"),
        (Consent, CONSENT_FIELDS, "consent_date", "consents"),
    ):
        for row in _dicts(
            model.objects.filter(patient__id__range=(low, high)).order_by(date_field, "id"), fields_
        ):
            if row["patient_id"] in patients:
                getattr(patients[row["patient_id"]], attribute).append(_clean(row))
    return [patients[pid] for pid in patient_ids if pid in patients]


def patient_records(
    patients: QuerySet, chunk_size: int = CHUNK_PATIENTS, with_identifiers: bool = False
) -> Iterator[PatientRecord]:
    """Every patient of ``patients`` with a procedure, in id order, chunk by chunk.

    The NHS number is read (and decrypted) only ``with_identifiers``.
    """
    last_id = 0
    with_procedures = patients.filter(procedures__isnull=False).distinct().order_by("id")
    while True:
        ids = list(with_procedures.filter(id__gt=last_id).values_list("id", flat=True)[:chunk_size])
        if not ids:
            return
        yield from _chunk(ids, with_identifiers)
        last_id = ids[-1]
