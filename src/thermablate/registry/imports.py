"""All-or-nothing CSV imports of patients and assessments, with a per-row error report.

Every row goes through the same actions as the web pages (validation, audit trail). Each row
runs in a savepoint so that all bad rows are reported, and the whole import is one
transaction: if any row is refused, or the process dies half-way, nothing is stored.
"""

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from thermablate.registry import actions
from thermablate.registry.models import Assessment
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


IMPORTERS = {"patients": import_patients, "assessments": import_assessments}
