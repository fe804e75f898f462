"""The shapes of the records the API both records and corrects: the procedure with its
operators, ablation cycles and follow-up schedule, and the lookups of what a record points at.

Shared by the operations that record them (``api.py``) and those that correct them
(``api_record_corrections.py``), so a procedure is given and returned the same way by both.
"""

from datetime import date

from django.core.exceptions import ValidationError
from ninja import Schema
from pydantic import Field

from thermablate.registry import declarations as d
from thermablate.registry.api_schemas import (
    ShortText,
    input_fields,
    output_fields,
    record_values,
    schema,
)
from thermablate.registry.models import Assessment, Patient, Procedure

VERSION = (
    int,
    Field(
        ge=1,
        description="The version of the record you read (GET); if it has changed since, "
        "nothing is saved and the answer is 409 with who changed what",
    ),
)

CycleIn = schema("CycleIn", input_fields(d.ABLATION_CYCLE))
CycleOut = schema("CycleOut", {"order": (int, ...), **output_fields(d.ABLATION_CYCLE)})


class AssessmentSummary(Schema):
    id: int
    timepoint: str
    due_date: date
    window_opens: date
    window_closes: date
    assessed_on: date | None
    status: str


OPERATORS = "operators"
# A procedure as it is given: its declared fields, its operators by user name, its cycles.
PROCEDURE_FIELDS = {
    **input_fields(
        d.PROCEDURE,
        overrides={OPERATORS: (list[ShortText], Field(description="User names of the operators"))},
    ),
    "cycles": (list[CycleIn], ...),
}
ProcedureOut = schema(
    "ProcedureOut",
    {
        "id": (int, ...),
        "patient": (str, ...),
        **output_fields(d.PROCEDURE, overrides={OPERATORS: (list[str], ...)}),
        "cycles": (list[CycleOut], ...),
        "assessments": (list[AssessmentSummary], ...),
        "entered_in_error": (bool, ...),
        "version": (int, ...),
    },
)


def assessment_summary(a: Assessment) -> dict:
    return {
        "id": a.pk,
        "timepoint": a.timepoint,
        "due_date": a.due_date,
        "window_opens": a.window_opens,
        "window_closes": a.window_closes,
        "assessed_on": a.assessed_on,
        "status": str(a.status()),
    }


def procedure_out(p: Procedure) -> dict:
    return {
        "id": p.pk,
        "patient": p.patient.registry_number,
        **record_values(d.PROCEDURE, p),
        OPERATORS: [u.username for u in p.operators.all()],
        "cycles": [
            {"order": x.order, **record_values(d.ABLATION_CYCLE, x)} for x in p.cycles.all()
        ],
        "assessments": [assessment_summary(a) for a in p.assessments.all()],
        "entered_in_error": p.entered_in_error,
        "version": p.version,
    }


def site_operators(patient: Patient, usernames: list[str]) -> list:
    """The operators named, each a member of staff of the patient's site."""
    from django.contrib.auth import get_user_model

    operators = list(
        get_user_model().objects.filter(username__in=usernames, staff__site=patient.site)
    )
    if len(operators) != len(set(usernames)):
        raise ValidationError({"operators": "Unknown operator, or not staff of this site."})
    return operators
