"""The CSV for registers and spreadsheets: one row per procedure, its follow-up in columns.

Pseudonymised (``pseudonymised=True``): no NHS number, no registry number, no year of birth,
no calendar date except the procedure's year; see ``pseudonyms`` for the choices. Otherwise
the file is identifiable (NHS number, registry number, exact dates) and must be handled as
patient data. Scores are derived from the raw answers at export time (EQ-5D index under the
default value set, OME with the versioned conversion table; both named in the header row's
companion columns ``eq5d_value_set`` and ``ome_table_version``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from thermablate.audit.analysis.tables import TIMEPOINT_LABELS
from thermablate.audit.exports.pseudonyms import days_between, pseudonym
from thermablate.audit.exports.records import PatientRecord, ProcedureRecord
from thermablate.clinical import eq5d, opioids

IDENTIFIER_COLUMNS = ("nhs_number", "registry_number", "year_of_birth", "procedure_date")
PSEUDONYMOUS_COLUMNS = ("pseudonym", "age_at_procedure", "procedure_year")
COMMON_COLUMNS = (
    "site",
    "sex",
    "procedure_type",
    "lesion_location",
    "lesion_diagnosis",
    "lesion_primary_tumour",
    "lesion_type",
    "levels_treated",
    "setting",
    "anaesthesia",
    "approach",
    "access",
    "image_guidance",
    "device_manufacturer",
    "device_model",
    "device_lot",
    "polarity",
    "ablation_cycles",
    "cement",
    "cement_volume_ml",
    "duration_min",
    "mdt_decision_day",
    "consent_day",
    "written_information",
    "nice_information_offered",
    "uncertainties_discussed",
    "registry_audit_consent",
)
TIMEPOINT_FIELDS = (
    "day",
    "pain_worst",
    "pain_average",
    "eq5d_profile",
    "eq5d_index",
    "ome_mg_per_day",
    "ome_not_convertible",
)
EVENT_COLUMNS = (
    "adverse_events",
    "adverse_event_types",
    "adverse_event_max_grade",
    "adverse_event_first_day",
    "yellow_card_reported",
)
TRAILER_COLUMNS = ("eq5d_value_set", "ome_table_version")


def columns(pseudonymised: bool) -> list[str]:
    head = PSEUDONYMOUS_COLUMNS if pseudonymised else IDENTIFIER_COLUMNS
    timepoints = [f"{tp}_{name}" for tp in TIMEPOINT_LABELS for name in TIMEPOINT_FIELDS]
    return [*head, *COMMON_COLUMNS, *timepoints, *EVENT_COLUMNS, *TRAILER_COLUMNS]


def _day_or_date(start, value, pseudonymised: bool):
    if value is None:
        return ""
    return days_between(start, value) if pseudonymised else value.isoformat()


def _last_before(rows: list[dict], key: str, limit):
    dated = [row for row in rows if row[key] <= limit]
    return dated[-1] if dated else None


def procedure_row(patient: PatientRecord, procedure: ProcedureRecord, pseudonymised: bool) -> dict:
    p = procedure.data
    start = p["procedure_date"]
    person = patient.data
    row: dict = {}
    if pseudonymised:
        row["pseudonym"] = pseudonym(person["registry_number"])
        row["age_at_procedure"] = start.year - person["year_of_birth"]
        row["procedure_year"] = start.year
    else:
        row["nhs_number"] = person["nhs_number"]
        row["registry_number"] = person["registry_number"]
        row["year_of_birth"] = person["year_of_birth"]
        row["procedure_date"] = start.isoformat()
    mdt = _last_before(patient.mdt, "meeting_date", start)
    consent = _last_before(patient.consents, "consent_date", start)
    row.update(
        site=person["site_code"],
        sex=person["sex"],
        procedure_type=p["procedure_type"],
        lesion_location=p["lesion_spinal_levels"] or p["lesion_bone_site"],
        lesion_diagnosis=p["lesion_diagnosis"],
        lesion_primary_tumour=p["lesion_primary_tumour"],
        lesion_type=p["lesion_lesion_type"],
        levels_treated=p["levels_treated"],
        setting=p["setting"],
        anaesthesia=p["anaesthesia"],
        approach=p["approach"],
        access=p["access"],
        image_guidance=";".join(p["image_guidance"]),
        device_manufacturer=p["device_manufacturer"],
        device_model=p["device_model"],
        device_lot=p["device_lot"],
        polarity=p["polarity"],
        ablation_cycles=";".join(
            f"{float(cycle['target_temp_c']):g}C/{cycle['time_at_target_s']}s"
            for cycle in procedure.cycles
        ),
        cement=p["cement"],
        cement_volume_ml=""
        if p["cement_volume_ml"] is None
        else f"{float(p['cement_volume_ml']):g}",
        duration_min=p["duration_min"],
        mdt_decision_day=_day_or_date(start, mdt["meeting_date"] if mdt else None, pseudonymised),
        consent_day=_day_or_date(
            start, consent["consent_date"] if consent else None, pseudonymised
        ),
        written_information=bool(consent and consent["leaflet_title"].strip()),
        nice_information_offered=bool(consent and consent["nice_information_offered"]),
        uncertainties_discussed=bool(consent and consent["uncertainties_discussed"]),
        registry_audit_consent=bool(consent and consent["registry_audit_consent"]),
    )
    for assessment in procedure.assessments:
        tp = assessment.data["timepoint"]
        if not assessment.done:
            continue
        profile = assessment.eq5d_profile
        index = assessment.eq5d_index
        ome = assessment.ome()
        row.update(
            {
                f"{tp}_day": _day_or_date(start, assessment.data["assessed_on"], pseudonymised),
                f"{tp}_pain_worst": assessment.data["pain_worst"],
                f"{tp}_pain_average": assessment.data["pain_average"],
                f"{tp}_eq5d_profile": "".join(map(str, profile)) if profile else "",
                f"{tp}_eq5d_index": "" if index is None else f"{index:.3f}",
                f"{tp}_ome_mg_per_day": "" if ome is None else f"{ome.total_mg_per_day:g}",
                f"{tp}_ome_not_convertible": "" if ome is None else len(ome.not_convertible),
            }
        )
    events = procedure.events
    row.update(
        adverse_events=len(events),
        adverse_event_types=";".join(event["event_type"] for event in events),
        adverse_event_max_grade=max((event["severity"] for event in events), default=""),
        adverse_event_first_day=_day_or_date(start, events[0]["onset_date"], pseudonymised)
        if events
        else "",
        yellow_card_reported=sum(1 for event in events if event["yellow_card_reference"]),
        eq5d_value_set=eq5d.DEFAULT_VALUE_SET,
        ome_table_version=opioids.CONVERSION_TABLE_VERSION,
    )
    return row


def write_csv(
    out: TextIO, patients: Iterable[PatientRecord], pseudonymised: bool
) -> tuple[int, int]:
    """Write the header and one row per procedure; return (patients, procedures) written.

    Rows are written as lists in header order (csv.DictWriter's per-row check of the keys
    against the header list costs more than the rest of the row).
    """
    names = columns(pseudonymised)
    known = frozenset(names)
    writer = csv.writer(out)
    writer.writerow(names)
    patient_count = procedure_count = 0
    for patient in patients:
        patient_count += 1
        rows = []
        for procedure in patient.procedures:
            row = procedure_row(patient, procedure, pseudonymised)
            if not row.keys() <= known:
                raise ValueError(f"columns not in the header: {sorted(row.keys() - known)}")
            rows.append([row.get(name, "") for name in names])
            procedure_count += 1
        writer.writerows(rows)
    return patient_count, procedure_count
