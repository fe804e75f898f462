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
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from thermablate.guidance.actions import record_governed_procedure
from thermablate.registry import actions
from thermablate.registry.forms import AblationCycleForm, ProcedureForm
from thermablate.registry.models import Assessment, Patient, Procedure
from thermablate.registry.validators import normalise_nhs_number

PATIENT_COLUMNS = ("nhs_number", "year_of_birth", "sex")
ASSESSMENT_COLUMNS = (
    "registry_number",
    "procedure_date",
    "timepoint",
    "assessed_on",
    "pain_worst",
    "pain_average",
)
EQ5D_COLUMNS = (
    "eq5d_mobility",
    "eq5d_self_care",
    "eq5d_usual_activities",
    "eq5d_pain_discomfort",
    "eq5d_anxiety_depression",
)


PROCEDURE_COLUMNS = (
    "registry_number",
    "lesion",
    "procedure_date",
    "operators",
    "procedure_type",
    "setting",
    "anaesthesia",
    "access",
    "image_guidance",
    "device_manufacturer",
    "device_model",
    "polarity",
    "active_tip_mm",
    "thermal_protection",
    "duration_min",
    "post_imaging",
    "cycles",
)
# Optional procedure columns, passed to the form as they are when present.
PROCEDURE_OPTIONAL = (
    "approach",
    "device_lot",
    "cement",
    "cement_volume_ml",
    "levels_treated",
    "notes",
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
    with transaction.atomic():
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
        actions.create_patient(
            site=site,
            acting_user=acting_user,
            nhs_number=normalise_nhs_number(row["nhs_number"]),
            year_of_birth=_int(row["year_of_birth"], "year_of_birth"),
            sex=row["sex"].strip().lower(),
        )

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
        fields = {
            "assessed_on": _date(row["assessed_on"], "assessed_on"),
            "pain_worst": _int(row["pain_worst"], "pain_worst"),
            "pain_average": _int(row["pain_average"], "pain_average"),
            **{c: _int(row.get(c, ""), c) for c in EQ5D_COLUMNS},
        }
        if fields["assessed_on"] is None:
            raise RowError("assessed_on: required")
        analgesics = []
        if row.get("drug", "").strip():
            try:
                dose = Decimal(row["dose"])
            except (InvalidOperation, KeyError):
                raise RowError(f"dose: {row.get('dose')!r} is not a number") from None
            per_day = row.get("doses_per_day", "").strip()
            analgesics.append(
                {
                    "drug": row["drug"].strip(),
                    "dose": dose,
                    "unit": row.get("unit", "").strip(),
                    "route": row.get("route", "").strip(),
                    "doses_per_day": Decimal(per_day) if per_day else None,
                }
            )
        actions.record_assessment(
            assessment, acting_user=acting_user, analgesics=analgesics, **fields
        )

    return _import(reader, ASSESSMENT_COLUMNS, handle, progress)


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]


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
    wanted = location.strip().upper()
    lesions = [lesion for lesion in patient.lesions.all() if lesion.location.upper() == wanted]
    if len(lesions) != 1:
        known = ", ".join(sorted(lesion.location for lesion in patient.lesions.all())) or "none"
        problem = "no lesion" if not lesions else "more than one lesion"
        raise RowError(
            f"lesion: {problem} at {location.strip()!r} for this patient (recorded: {known})"
        )
    return lesions[0].pk


def import_procedures(reader: csv.DictReader, *, site, acting_user, progress=None) -> ImportReport:
    """One procedure per row, checked as the procedure page checks it (form, approval)."""

    def handle(row: dict) -> None:
        registry_number = row["registry_number"].strip().upper()
        patient = Patient.objects.filter(site=site, registry_number=registry_number).first()
        if patient is None:
            raise RowError(f"registry_number: no patient {registry_number!r} at your site")
        usernames = _list(row["operators"])
        operators = ProcedureForm(patient=patient).fields["operators"].queryset
        known = dict(operators.filter(username__in=usernames).values_list("username", "pk"))
        unknown = [name for name in usernames if name not in known]
        if unknown:
            raise RowError(
                f"operators: {', '.join(unknown)} is not an active clinician of your site"
            )
        data = MultiValueDict(
            {
                name: [row[name].strip()]
                for name in (*PROCEDURE_COLUMNS, *PROCEDURE_OPTIONAL)
                if row.get(name) is not None
            }
        )
        if not data.get("cement"):  # as the procedure page preselects it
            data["cement"] = "none"
        data.setlist("lesion", [str(_lesion_id(patient, row["lesion"]))])
        data.setlist("operators", [str(known[name]) for name in usernames])
        data.setlist("image_guidance", _list(row["image_guidance"]))
        data.setlist("thermal_protection", _list(row["thermal_protection"]))
        if _yes_no(row.get("biopsy_taken") or "", "biopsy_taken"):
            data["biopsy_taken"] = "on"
        cycles = _cycles(row["cycles"])
        form = ProcedureForm(data, patient=patient, instance=Procedure(patient=patient))
        if not form.is_valid():
            raise RowError(_form_errors(form))
        fields = dict(form.cleaned_data)
        fields.pop("override_reason")
        record_governed_procedure(
            patient,
            acting_user=acting_user,
            operators=fields.pop("operators"),
            cycles=cycles,
            override_reason=(row.get("override_reason") or "").strip(),
            **fields,
        )

    return _import(reader, PROCEDURE_COLUMNS, handle, progress)


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
