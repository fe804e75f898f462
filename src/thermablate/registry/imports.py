"""All-or-nothing CSV imports of patients, procedures and assessments, with a per-row report.

Every row goes through the same forms and actions as the web pages (validation, the site's
local approval, the audit trail). Each row runs in a savepoint so that all bad rows are
reported, and the whole import is one transaction: if any row is refused, or the process dies
half-way, nothing is stored. The columns are described in docs/imports.md.
"""

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.datastructures import MultiValueDict

from thermablate.registry import actions
from thermablate.registry import declarations as d
from thermablate.registry.audit_trail import entries_chained_at_end
from thermablate.registry.devices import device_choices
from thermablate.registry.forms import (
    AblationCycleForm,
    AnalgesicForm,
    AssessmentForm,
    PatientForm,
    ProcedureForm,
)
from thermablate.registry.models import Assessment, Lesion, Patient, Procedure

# Every column comes from the record's declaration (thermablate.registry.declarations): a
# field added there is importable at once, checked by the page's own form.
PATIENT_COLUMNS = d.PATIENT.required
# A scheduled assessment is found by its patient, procedure date and time point.
ASSESSMENT_KEYS = ("registry_number", "procedure_date", "timepoint")
ASSESSMENT_COLUMNS = (*ASSESSMENT_KEYS, *d.ASSESSMENT.required)
# One analgesic per row, optional: its columns are the analgesic's declared fields.
ANALGESIC_COLUMNS = d.ANALGESIC.fields
# Pre-filled as the procedure page pre-selects them, so the column may be left out.
PROCEDURE_PREFILLED = {"cement": "none"}
PROCEDURE_COLUMNS = (
    "registry_number",
    *(name for name in d.PROCEDURE.required if name not in PROCEDURE_PREFILLED),
    "cycles",
)
PROCEDURE_OPTIONAL = (
    *d.PROCEDURE.optional,
    *PROCEDURE_PREFILLED,
    "override_reason",
    "pathway_override_reason",
)
LIST_SEPARATOR = ";"
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


class RowError(ValueError):
    pass


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _int(value: str, column: str) -> int | None:
    if value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise RowError(f"{column}: {value!r} is not a whole number") from None


def _date(value: str, column: str) -> date | None:
    if value.strip() == "":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RowError(f"{column}: {value!r} is not a date (use YYYY-MM-DD)") from None


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {m}" for k, msgs in exc.message_dict.items() for m in msgs)
    return "; ".join(exc.messages)


def _import(
    rows: Iterable[dict],
    required: tuple[str, ...],
    handle_row: Callable[[dict], None],
    progress=None,
) -> ImportReport:
    report = ImportReport()
    # One transaction whose audit entries are chained together at its end: holding the
    # chain's head for the whole import made every other writer (and every patient page,
    # which records the view) wait for it.
    with entries_chained_at_end():
        for line, row in enumerate(rows, start=2):  # line 1 is the header
            report.rows += 1
            missing = [c for c in required if c not in row]
            if missing:
                report.errors.append((line, f"missing columns: {', '.join(missing)}"))
                break
            if None in row:  # csv.DictReader files surplus values under the key None
                report.errors.append((line, "more values than there are columns"))
                continue
            # A short row leaves its last columns None: treat them as empty cells.
            row = {name: "" if value is None else value for name, value in row.items()}
            try:
                with transaction.atomic():
                    handle_row(row)
            except RowError as exc:
                report.errors.append((line, str(exc)))
            except ValidationError as exc:
                report.errors.append((line, _messages(exc)))
            if progress:
                progress(report.rows)
        if report.errors:
            transaction.set_rollback(True)
    return report


def import_patients(reader: csv.DictReader, *, site, acting_user, progress=None) -> ImportReport:
    def handle(row: dict) -> None:
        form = PatientForm(_form_data(d.PATIENT, row))
        if not form.is_valid():
            raise RowError(_form_errors(form))
        fields = form.pop_version()
        fields.pop("expected_version")
        actions.create_patient(site=site, acting_user=acting_user, **fields)

    return _import(reader, PATIENT_COLUMNS, handle, progress)


def import_assessments(reader: csv.DictReader, *, site, acting_user, progress=None) -> ImportReport:
    def handle(row: dict) -> None:
        assessment = (
            Assessment.objects.filter(
                patient__site=site,
                patient__registry_number=row["registry_number"].strip().upper(),
                procedure__procedure_date=_date(row["procedure_date"], "procedure_date"),
                timepoint=row["timepoint"].strip(),
            )
            .select_related("procedure", "patient")
            .first()
        )
        if assessment is None:
            raise RowError(
                "no such scheduled assessment at your site (registry number, procedure date, timepoint)"
            )
        data = _form_data(d.ASSESSMENT, row)
        # The row is read and written in the import's one transaction, under the action's
        # row lock: the version read here is the current one.
        data["version"] = str(assessment.version)
        # Optional column: an assessment already recorded is only changed as a correction.
        data["correction_reason"] = (row.get("correction_reason") or "").strip()
        form = AssessmentForm(data, instance=assessment)
        if not form.is_valid():
            raise RowError(_form_errors(form))
        analgesics = []
        if any(row.get(name, "").strip() for name in ANALGESIC_COLUMNS):
            drug = AnalgesicForm(_form_data(d.ANALGESIC, row))
            if not drug.is_valid():
                raise RowError(_form_errors(drug))
            analgesics.append(drug.cleaned_data)
        fields = form.pop_version()
        fields.pop("expected_version")
        actions.record_assessment(
            assessment, acting_user=acting_user, analgesics=analgesics, **fields
        )

    return _import(reader, ASSESSMENT_COLUMNS, handle, progress)


def _form_data(record: d.RecordFields, row: dict) -> MultiValueDict:
    """A row's cells as the record's page would post them: lists split at semicolons, yes/no
    as a ticked or unticked box. Columns the row leaves out are left out."""
    data = MultiValueDict()
    for name in record.fields:
        value = row.get(name)
        if value is None:
            continue
        f = record.model_field(name)
        if name in record.code_lists:
            data.setlist(name, _list(value))
        elif isinstance(f, models.BooleanField) and not f.null:
            if _yes_no(value, name):
                data[name] = "on"
        elif isinstance(f, models.BooleanField):
            data[name] = {True: "true", False: "false"}.get(_yes_no_unknown(value, name), "")
        else:
            data[name] = value.strip()
    return data


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


def _yes_no_unknown(value: str, column: str) -> bool | None:
    """Yes, no, or empty for not known."""
    return None if value.strip() == "" else _yes_no(value, column)


def _yes_no(value: str, column: str) -> bool:
    answer = value.strip().lower()
    if answer in YES:
        return True
    if answer in NO:
        return False
    raise RowError(f"{column}: {value!r} is not yes or no")


def _form_errors(form) -> str:
    return "; ".join(
        f"{name if name != '__all__' else 'row'}: {message}"
        for name, messages in form.errors.items()
        for message in messages
    )


def _cycles(value: str) -> list[dict]:
    """``target °C/seconds at target[/power W]`` per cycle, cycles separated by semicolons."""
    cycles = []
    for number, text in enumerate(_list(value), start=1):
        parts = [part.strip() for part in text.split("/")]
        if len(parts) not in (2, 3):
            raise RowError(
                f"cycles: cycle {number} {text!r} is not target °C/seconds at target[/power W]"
            )
        names = ("target_temp_c", "time_at_target_s", "power_w")
        form = AblationCycleForm(dict(zip(names, parts, strict=False)))
        if not form.is_valid():
            raise RowError(f"cycles: cycle {number}: {_form_errors(form)}")
        cycles.append(form.cleaned_data)
    if not cycles:
        raise RowError("cycles: record at least one ablation cycle")
    return cycles


def _lesion_id(patient: Patient, location: str) -> int:
    """The patient's one lesion at ``location``, among those that count (``live_lesions``, as
    the procedure page offers them: a lesion entered in error is not one)."""
    wanted = location.strip().upper()
    lesions = [lesion for lesion in patient.live_lesions if lesion.location.upper() == wanted]
    if len(lesions) != 1:
        known = ", ".join(sorted(lesion.location for lesion in patient.live_lesions)) or "none"
        problem = "no lesion" if not lesions else "more than one lesion"
        raise RowError(
            f"lesion: {problem} at {location.strip()!r} for this patient (recorded: {known})"
        )
    return lesions[0].pk


def _registry_number(row: dict) -> str:
    return (row.get("registry_number") or "").strip().upper()


# Few enough for any database's limit on the parameters of one query (SQLite's was 999).
PATIENTS_PER_QUERY = 900


def _patients_of(rows: list[dict], site) -> dict[str, Patient]:
    """The patients at ``site`` the rows name, by registry number, each with its live lesions
    (``live_lesions``): two queries per 900 patients, not two per row."""
    numbers = sorted({_registry_number(row) for row in rows} - {""})
    live = models.Prefetch("lesions", queryset=Lesion.objects.live(), to_attr="live_lesions")
    patients: dict[str, Patient] = {}
    for start in range(0, len(numbers), PATIENTS_PER_QUERY):
        found = (
            Patient.objects.select_related("site")
            .prefetch_related(live)
            .filter(site=site, registry_number__in=numbers[start : start + PATIENTS_PER_QUERY])
        )
        patients.update((patient.registry_number, patient) for patient in found)
    return patients


def import_procedures(reader: csv.DictReader, *, site, acting_user, progress=None) -> ImportReport:
    """One procedure per row, checked as the procedure page checks it (form, approval)."""

    clinicians: dict[str, int] = {}  # username -> id, read once: every row's patient is at `site`
    devices = device_choices(site)  # the procedure page's device library, read once
    # The rows are read first so that their patients are looked up together. Nothing a row
    # writes changes a patient or their lesions, so the later rows' copies stay true.
    rows = list(reader)
    patients = _patients_of(rows, site)

    def handle(row: dict) -> None:
        registry_number = _registry_number(row)
        patient = patients.get(registry_number)
        if patient is None:
            raise RowError(f"registry_number: no patient {registry_number!r} at your site")
        usernames = _list(row["operators"])
        if not clinicians:  # the operators the procedure page offers
            form = ProcedureForm(patient=patient, devices=devices)
            operators = form.fields["operators"].queryset
            clinicians.update(operators.values_list("username", "pk"))
        known = {name: clinicians[name] for name in usernames if name in clinicians}
        unknown = [name for name in usernames if name not in known]
        if unknown:
            raise RowError(
                f"operators: {', '.join(unknown)} is not an active clinician of your site"
            )
        data = _form_data(d.PROCEDURE, row)
        for name, value in PROCEDURE_PREFILLED.items():
            if not data.get(name):
                data[name] = value
        data.setlist("lesion", [str(_lesion_id(patient, row["lesion"]))])
        data.setlist("operators", [str(known[name]) for name in usernames])
        cycles = _cycles(row["cycles"])
        form = ProcedureForm(
            data, patient=patient, devices=devices, instance=Procedure(patient=patient)
        )
        if not form.is_valid():
            raise RowError(_form_errors(form))
        fields = dict(form.cleaned_data)
        fields.pop("override_reason")
        fields.pop("pathway_override_reason")
        actions.record_governed_procedure(
            patient,
            acting_user=acting_user,
            operators=fields.pop("operators"),
            cycles=cycles,
            override_reason=(row.get("override_reason") or "").strip(),
            pathway_override_reason=(row.get("pathway_override_reason") or "").strip(),
            **fields,
        )

    return _import(rows, PROCEDURE_COLUMNS, handle, progress)


IMPORTERS = {
    "patients": import_patients,
    "procedures": import_procedures,
    "assessments": import_assessments,
}
# The permission the importing user needs for each kind of file.
IMPORT_PERMISSIONS = {
    "patients": "registry.add_patient",
    "procedures": "registry.add_procedure",
    "assessments": "registry.change_assessment",
}
