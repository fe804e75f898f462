"""The CSV for registers and spreadsheets: one row per procedure, its follow-up in columns.

Pseudonymised (``pseudonymised=True``): no NHS number, no registry number, no year of birth,
no calendar date except the procedure's year; see ``pseudonyms`` for the choices. Otherwise
the file is identifiable (NHS number, registry number, exact dates) and must be handled as
patient data. Scores are derived from the raw answers at export time (EQ-5D index under the
default value set, OME with the versioned conversion table; both named in the header row's
companion columns ``eq5d_value_set`` and ``ome_table_version``).

Formula injection: a text cell that a spreadsheet would read as a formula (it starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return: free text such as a device lot of
``=HYPERLINK(...)``) is written with a single quote in front and in double quotes, as OWASP's
CSV injection guidance advises (https://owasp.org/www-community/attacks/CSV_Injection).
Numbers are never touched: see ``_neutralise``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import TextIO

from django.db import models

from thermablate.audit.analysis.tables import TIMEPOINT_LABELS
from thermablate.audit.exports.pseudonyms import days_between, pseudonym
from thermablate.audit.exports.records import PatientRecord, ProcedureRecord
from thermablate.clinical import eq5d, opioids
from thermablate.registry import declarations as d
from thermablate.registry.csv_cells import neutralised

IDENTIFIER_COLUMNS = ("nhs_number", "mrn", "registry_number", "year_of_birth", "procedure_date")
PSEUDONYMOUS_COLUMNS = ("pseudonym", "age_at_procedure", "procedure_year")
# The procedure's and its lesion's columns come from their declarations
# (thermablate.registry.declarations), free text excluded; these are not columns of their own:
# the lesion is described by its lesion_* columns, the operators are staff (the governance
# report and the appraisal name them), and the date is an identifier (procedure_date, or
# procedure_year and days from it when pseudonymised).
_NOT_PROCEDURE_COLUMNS = frozenset({"lesion", "operators", "procedure_date"})


def procedure_columns() -> tuple[str, ...]:
    return tuple(n for n in d.PROCEDURE.exported if n not in _NOT_PROCEDURE_COLUMNS)


def _lesion_column(name: str) -> str:
    return name if name.startswith("lesion_") else f"lesion_{name}"


LESION_COLUMNS = {_lesion_column(name): name for name in d.LESION.exported}
PROCEDURE_COLUMNS = procedure_columns()
COMMON_COLUMNS = (
    "site",
    "sex",
    # Where the patient's follow-up stands: alive (in follow-up), died, withdrew_follow_up,
    # lost_to_follow_up (registry.choices.PatientStatus; a patient who withdrew consent to
    # registry use is not exported), the day (or date) of it, and whether a death was related
    # to the procedure. The status notes are free text and stay in the registry.
    "patient_status",
    "patient_status_day",
    "death_related",
    *LESION_COLUMNS,
    *PROCEDURE_COLUMNS,
    "ablation_cycles",
    "mdt_decision_day",
    "consent_day",
    "written_information",
    "nice_information_offered",
    "uncertainties_discussed",
    "registry_audit_consent",
)
TIMEPOINT_FIELDS = (
    "day",
    # Who gave the answers: "staff" or "patient" (a staff correction of the patient's answers
    # keeps "patient"; the correction and its reason are in the registry's audit trail).
    "reported_by",
    # Recorded outside the time point's window (marked so, with a reason kept in the
    # registry): the audit does not count it as done nor use its answers as outcomes.
    "outside_window",
    # Closed as "could not be done" (with a reason kept in the registry): True; False where
    # the time point was recorded; empty where neither.
    "not_done",
    "pain_worst",
    "pain_average",
    "eq5d_profile",
    "eq5d_index",
    "eq5d_vas",
    "ome_mg_per_day",
    "ome_not_convertible",
    # Scores from the raw answers: ODI per cent (clinical.odi: 8 of 10 sections answered at
    # least), BPI severity and interference 0-10 (clinical.bpi); empty where not scored.
    "odi",
    "bpi_severity",
    "bpi_interference",
)
EVENT_COLUMNS = (
    "adverse_events",
    "adverse_event_types",
    "adverse_event_max_grade",
    "adverse_event_first_day",
    "yellow_card_reported",
)
TRAILER_COLUMNS = ("eq5d_value_set", "ome_table_version")


def _is_decimal(record: d.RecordFields, name: str) -> bool:
    return isinstance(record.model_field(name), models.DecimalField)


def _cell(record: d.RecordFields, name: str, value):
    """A declared field's value as its cell: lists joined with semicolons, decimals as
    plain numbers, nothing as an empty cell."""
    if value is None:
        return ""
    if name in record.code_lists:
        return ";".join(value)
    if _is_decimal(record, name):
        return f"{float(value):g}"
    return value


# The columns whose text is a number formatted by ``procedure_row`` (``f"{index:.3f}"``):
# an EQ-5D-5L index can be negative, and "-0.205" must reach the spreadsheet as a number, not
# as quoted text behind an apostrophe. Every other column holding text is treated as text.
NUMBER_TEXT_FIELDS = ("eq5d_index", "ome_mg_per_day")
NUMBER_TEXT_COLUMNS = frozenset(
    (
        *(n for n in PROCEDURE_COLUMNS if _is_decimal(d.PROCEDURE, n)),
        *(c for c, n in LESION_COLUMNS.items() if _is_decimal(d.LESION, n)),
        *(f"{tp}_{name}" for tp in TIMEPOINT_LABELS for name in NUMBER_TEXT_FIELDS),
    )
)


def _neutralise(row: list, text_positions: list[int], number_positions: list[int]) -> list:
    """The row with its formula-like text cells defused, in place.

    Text cells only: a value of a number column (an int such as a day of -10, or a number
    formatted as text such as an index of -0.205) is a genuine number and must stay one; it is
    made a ``Decimal`` (same digits) so that the writer, which quotes every str
    (``QUOTE_NONNUMERIC``), leaves it bare. Python numbers (int, bool) are not str and are
    never prefixed, whatever their column.
    """
    for position in text_positions:
        value = row[position]
        if isinstance(value, str):
            row[position] = neutralised(value)
    for position in number_positions:
        value = row[position]
        if isinstance(value, str) and value:
            row[position] = Decimal(value)
    return row


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
        row["mrn"] = person["mrn"]
        row["registry_number"] = person["registry_number"]
        row["year_of_birth"] = person["year_of_birth"]
        row["procedure_date"] = start.isoformat()
    mdt = _last_before(patient.mdt, "meeting_date", start)
    consent = _last_before(patient.consents, "consent_date", start)
    row.update(
        {
            column: _cell(d.LESION, name, p[f"lesion_{name}"])
            for column, name in LESION_COLUMNS.items()
        }
    )
    row.update({name: _cell(d.PROCEDURE, name, p[name]) for name in PROCEDURE_COLUMNS})
    row.update(
        site=person["site_code"],
        sex=person["sex"],
        patient_status=person["status"],
        patient_status_day=_day_or_date(start, person["status_date"], pseudonymised),
        death_related=person["death_related"],
        ablation_cycles=";".join(
            f"{float(cycle['target_temp_c']):g}C/{cycle['time_at_target_s']}s"
            for cycle in procedure.cycles
        ),
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
            row[f"{tp}_not_done"] = bool(assessment.data["not_done"])
            continue
        profile = assessment.eq5d_profile
        index = assessment.eq5d_index
        ome = assessment.ome()
        row.update(
            {
                f"{tp}_day": _day_or_date(start, assessment.data["assessed_on"], pseudonymised),
                f"{tp}_reported_by": assessment.data["reported_by"],
                f"{tp}_outside_window": bool(assessment.data["outside_window"]),
                f"{tp}_not_done": False,
                f"{tp}_pain_worst": assessment.data["pain_worst"],
                f"{tp}_pain_average": assessment.data["pain_average"],
                f"{tp}_eq5d_profile": "".join(map(str, profile)) if profile else "",
                f"{tp}_eq5d_index": "" if index is None else f"{index:.3f}",
                f"{tp}_eq5d_vas": assessment.data["eq5d_vas"],
                f"{tp}_ome_mg_per_day": "" if ome is None else f"{ome.total_mg_per_day:g}",
                f"{tp}_ome_not_convertible": "" if ome is None else len(ome.not_convertible),
                f"{tp}_odi": _rounded(assessment.odi(), 1),
                f"{tp}_bpi_severity": _rounded(assessment.bpi_severity(), 2),
                f"{tp}_bpi_interference": _rounded(assessment.bpi_interference(), 2),
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


def _rounded(score: float | None, digits: int) -> float | str:
    """A score as a number cell (written bare), or an empty cell where there is none."""
    return "" if score is None else round(score, digits)


def write_csv(
    out: TextIO, patients: Iterable[PatientRecord], pseudonymised: bool
) -> tuple[int, int]:
    """Write the header and one row per procedure; return (patients, procedures) written.

    Rows are written as lists in header order (csv.DictWriter's per-row check of the keys
    against the header list costs more than the rest of the row).
    """
    names = columns(pseudonymised)
    known = frozenset(names)
    number_positions = [i for i, name in enumerate(names) if name in NUMBER_TEXT_COLUMNS]
    text_positions = [i for i, name in enumerate(names) if name not in NUMBER_TEXT_COLUMNS]
    # Every str in double quotes, as OWASP advises (a spreadsheet set to take quoted fields
    # as text reads no formula in them); numbers, made non-str by ``_neutralise``, bare.
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(names)
    patient_count = procedure_count = 0
    for patient in patients:
        patient_count += 1
        rows = []
        for procedure in patient.procedures:
            row = procedure_row(patient, procedure, pseudonymised)
            if not row.keys() <= known:
                raise ValueError(f"columns not in the header: {sorted(row.keys() - known)}")
            rows.append(
                _neutralise([row.get(name, "") for name in names], text_positions, number_positions)
            )
            procedure_count += 1
        writer.writerows(rows)
    return patient_count, procedure_count
