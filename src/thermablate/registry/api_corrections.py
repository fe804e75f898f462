"""The API's operations that put records right: a patient's status, "entered in error" and its
undo, a time point that could not be done. The same actions as the pages
(registry.actions.corrections), so the same rules and messages (docs/corrections.md)."""

from datetime import date

from django.http import Http404
from ninja import Router, Schema
from pydantic import Field

from thermablate.registry import access, actions
from thermablate.registry import choices as c
from thermablate.registry.api_schemas import ERRORS

router = Router(tags=["corrections"])

_VERSION = Field(
    ge=1,
    description="The version of the record you read (GET); if it has changed since, nothing "
    "is saved and the answer is 409 with who changed what",
)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=1000, description="Kept in the audit trail")
    version: int = _VERSION


class MarkOut(Schema):
    kind: str
    id: int
    entered_in_error: bool
    entered_in_error_reason: str
    version: int


class PatientStatusIn(Schema):
    status: c.PatientStatus
    status_date: date | None = None
    death_related: c.DeathRelated | None = None
    notes: str = Field("", max_length=2000)
    reason: str = Field(
        "", max_length=1000, description="Required when returning a patient to follow-up"
    )
    version: int = _VERSION


class PatientStatusOut(Schema):
    registry_number: str
    status: str
    status_date: date | None
    death_related: str
    version: int


class NotDoneOut(Schema):
    id: int
    not_done_reason: str
    status: str
    version: int


def _record(request, kind_name: str, pk: int):
    model = actions.CORRECTABLE_MODELS.get(kind_name)
    if model is None:
        raise Http404("No such kind of record.")
    return access.get_record(request.user, model, pk, access.MARK_IN_ERROR_PERMISSION)


def _mark_out(kind_name: str, record) -> dict:
    return {
        "kind": kind_name,
        "id": record.pk,
        "entered_in_error": record.entered_in_error,
        "entered_in_error_reason": record.entered_in_error_reason,
        "version": record.version,
    }


@router.post("/records/{kind_name}/{pk}/entered-in-error", response={200: MarkOut, **ERRORS})
def mark_entered_in_error(request, kind_name: str, pk: int, payload: ReasonIn):
    """Mark a lesion, mdtdecisionrecord, consent, procedure, assessment or adverseevent
    "entered in error": it leaves everything that counts and stays in the trail."""
    record = actions.mark_entered_in_error(
        _record(request, kind_name, pk),
        reason=payload.reason,
        acting_user=request.user,
        expected_version=payload.version,
    )
    return _mark_out(kind_name, record)


@router.post("/records/{kind_name}/{pk}/entered-in-error/undo", response={200: MarkOut, **ERRORS})
def undo_entered_in_error(request, kind_name: str, pk: int, payload: ReasonIn):
    record = actions.undo_entered_in_error(
        _record(request, kind_name, pk),
        reason=payload.reason,
        acting_user=request.user,
        expected_version=payload.version,
    )
    return _mark_out(kind_name, record)


@router.put("/patients/{registry_number}/status", response={200: PatientStatusOut, **ERRORS})
def record_patient_status(request, registry_number: str, payload: PatientStatusIn):
    """Died, withdrew, lost to follow-up (or back in follow-up, with a reason)."""
    patient = access.get_patient(request.user, registry_number, "registry.change_patient")
    data = payload.dict()
    patient = actions.record_patient_status(
        patient,
        acting_user=request.user,
        status=data["status"],
        status_date=data["status_date"],
        death_related=data["death_related"] or "",
        notes=data["notes"],
        reason=data["reason"],
        expected_version=data["version"],
    )
    return {
        "registry_number": patient.registry_number,
        "status": patient.status,
        "status_date": patient.status_date,
        "death_related": patient.death_related,
        "version": patient.version,
    }


@router.post("/assessments/{assessment_id}/not-done", response={200: NotDoneOut, **ERRORS})
def assessment_not_done(request, assessment_id: int, payload: ReasonIn, reopen: bool = False):
    """Close a time point that could not be done, with the reason (``reopen=true``: open it
    again, the reason for reopening kept in the trail)."""
    assessment = access.get_assessment(request.user, assessment_id, "registry.change_assessment")
    assessment = actions.record_not_done(
        assessment,
        reason=payload.reason,
        reopen=reopen,
        acting_user=request.user,
        expected_version=payload.version,
    )
    return {
        "id": assessment.pk,
        "not_done_reason": assessment.not_done_reason,
        "status": str(assessment.status()),
        "version": assessment.version,
    }
