"""JSON API for other hospital systems, with its OpenAPI schema at /api/openapi.json.

django-ninja rather than Django REST framework: its request and response schemas are typed
pydantic models, so the OpenAPI document is generated from the same types that validate the
input, with far less code per endpoint. Authentication is a bearer token (systems) or the
web session (with CSRF). The same access helpers and actions as the web pages apply.
"""

import hashlib
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth
from pydantic import AfterValidator, Field

from thermablate.guidance.actions import record_governed_procedure
from thermablate.registry import access, actions
from thermablate.registry import choices as c
from thermablate.registry.audit_trail import record_identifiers_shown
from thermablate.registry.models import ApiToken, Assessment, Patient, Procedure
from thermablate.registry.validators import normalise_nhs_number


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        digest = hashlib.sha256(token.encode()).hexdigest()
        api_token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=digest, user__is_active=True)
            .first()
        )
        if api_token is None:
            return None
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
        request.user = api_token.user
        return api_token.user


api = NinjaAPI(
    title="Thermablate registry API",
    version="1",
    description="Patients, procedures, follow-up assessments and adverse events of a Thermablate site.",
    auth=[BearerToken(), django_auth],
    urls_namespace="api",
)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(
        request, {"detail": "Invalid data; nothing was saved.", "errors": errors}, status=422
    )


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Not allowed."}, status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "Authentication required."}, status=401)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
ShortText = Annotated[str, AfterValidator(_no_nul), Field(max_length=200)]


def _literal(choices):
    return Literal[tuple(choices.values)]


# ---- schemas -------------------------------------------------------------------------------


class PatientIn(Schema):
    nhs_number: Annotated[str, Field(max_length=20)]
    year_of_birth: int
    sex: _literal(c.Sex)


class PatientOut(Schema):
    registry_number: str
    nhs_number: str | None = Field(None, description="Only for roles allowed to see identifiers")
    year_of_birth: int
    sex: str
    site: str


class LesionIn(Schema):
    spinal_levels: ShortText = ""
    bone_site: ShortText = ""
    diagnosis: _literal(c.Diagnosis)
    primary_tumour: ShortText = ""
    lesion_type: _literal(c.LesionType)
    size_mm: Decimal | None = None
    posterior_wall_intact: bool | None = None
    distance_to_neural_mm: Decimal | None = None
    pain_at_site: int | None = None


class LesionOut(LesionIn):
    id: int


class MdtIn(Schema):
    meeting_date: date
    lesion_id: int | None = None
    member_roles: list[_literal(c.MdtMemberRole)]
    decision: _literal(c.MdtDecision)
    reasons: Text = ""


class ConsentIn(Schema):
    consent_date: date
    leaflet_title: ShortText
    leaflet_version: ShortText
    nice_information_offered: bool = False
    uncertainties_discussed: bool = False
    registry_audit_consent: bool = False
    notes: Text = ""


class CycleIn(Schema):
    target_temp_c: Decimal
    time_at_target_s: int
    power_w: Decimal | None = None


class ProcedureIn(Schema):
    lesion_id: int
    procedure_date: date
    operators: list[ShortText] = Field(description="User names of the operators")
    procedure_type: _literal(c.ProcedureType)
    setting: _literal(c.Setting)
    anaesthesia: _literal(c.Anaesthesia)
    approach: _literal(c.Approach) | Literal[""] = ""
    access: _literal(c.Access)
    image_guidance: list[_literal(c.Imaging)]
    device_manufacturer: ShortText
    device_model: ShortText
    device_lot: ShortText = ""
    polarity: _literal(c.Polarity)
    active_tip_mm: Decimal
    biopsy_taken: bool = False
    cement: _literal(c.Cement) = "none"
    cement_volume_ml: Decimal | None = None
    thermal_protection: list[_literal(c.ThermalProtection)]
    levels_treated: ShortText = ""
    duration_min: int
    post_imaging: _literal(c.PostImaging) = "ct"
    notes: Text = ""
    cycles: list[CycleIn]
    override_reason: Text = Field(
        "",
        description="Required when an operator is not credentialed for this procedure at the site",
    )


class CycleOut(CycleIn):
    order: int


class AssessmentSummary(Schema):
    id: int
    timepoint: str
    due_date: date
    window_opens: date
    window_closes: date
    assessed_on: date | None
    status: str


class ProcedureOut(Schema):
    id: int
    patient: str
    lesion_id: int
    procedure_date: date
    operators: list[str]
    procedure_type: str
    setting: str
    anaesthesia: str
    approach: str
    access: str
    image_guidance: list[str]
    device_manufacturer: str
    device_model: str
    polarity: str
    active_tip_mm: Decimal
    cement: str
    cement_volume_ml: Decimal | None
    thermal_protection: list[str]
    levels_treated: str
    duration_min: int
    cycles: list[CycleOut]
    assessments: list[AssessmentSummary]


class AnalgesicIn(Schema):
    drug: ShortText
    dose: Decimal
    unit: _literal(c.DoseUnit)
    route: _literal(c.Route)
    doses_per_day: Decimal | None = None
    as_needed: bool = False


class AssessmentIn(Schema):
    assessed_on: date
    pain_worst: int | None = None
    pain_average: int | None = None
    eq5d_mobility: int | None = None
    eq5d_self_care: int | None = None
    eq5d_usual_activities: int | None = None
    eq5d_pain_discomfort: int | None = None
    eq5d_anxiety_depression: int | None = None
    no_analgesics: bool = False
    notes: Text = ""
    analgesics: list[AnalgesicIn] = []


class AssessmentOut(AssessmentSummary):
    patient: str
    procedure_id: int
    pain_worst: int | None
    pain_average: int | None
    eq5d_profile: list[int] | None
    no_analgesics: bool
    analgesics: list[AnalgesicIn]


class AdverseEventIn(Schema):
    procedure_id: int
    event_type: _literal(c.AdverseEventType)
    symptomatic: bool | None = None
    onset_date: date
    severity: int = Field(description="CTCAE v5.0 grade 1-5")
    device_related: _literal(c.DeviceRelated)
    outcome: _literal(c.EventOutcome)
    description: Text
    yellow_card_reported_on: date | None = None
    yellow_card_reference: ShortText = ""


class AdverseEventOut(AdverseEventIn):
    id: int


class Error(Schema):
    detail: str


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 422: dict}


# ---- serialisers ---------------------------------------------------------------------------


def _patient_out(patient: Patient, user) -> dict:
    """The patient as the API returns it; showing the NHS number is recorded in the trail."""
    identifiable = access.can_see_identifiers(user)
    if identifiable:
        record_identifiers_shown(user, [patient], via="api")
    return {
        "registry_number": patient.registry_number,
        "nhs_number": patient.nhs_number if identifiable else None,
        "year_of_birth": patient.year_of_birth,
        "sex": patient.sex,
        "site": patient.site.code,
    }


def _assessment_summary(a: Assessment) -> dict:
    return {
        "id": a.pk,
        "timepoint": a.timepoint,
        "due_date": a.due_date,
        "window_opens": a.window_opens,
        "window_closes": a.window_closes,
        "assessed_on": a.assessed_on,
        "status": str(a.status()),
    }


def _procedure_out(p: Procedure) -> dict:
    fields = (
        "procedure_date",
        "procedure_type",
        "setting",
        "anaesthesia",
        "approach",
        "access",
        "image_guidance",
        "device_manufacturer",
        "device_model",
        "polarity",
        "active_tip_mm",
        "cement",
        "cement_volume_ml",
        "thermal_protection",
        "levels_treated",
        "duration_min",
    )
    return {
        "id": p.pk,
        "patient": p.patient.registry_number,
        "lesion_id": p.lesion_id,
        "operators": [u.username for u in p.operators.all()],
        **{f: getattr(p, f) for f in fields},
        "cycles": [
            {
                "order": x.order,
                "target_temp_c": x.target_temp_c,
                "time_at_target_s": x.time_at_target_s,
                "power_w": x.power_w,
            }
            for x in p.cycles.all()
        ],
        "assessments": [_assessment_summary(a) for a in p.assessments.all()],
    }


def _assessment_out(a: Assessment) -> dict:
    return {
        **_assessment_summary(a),
        "patient": a.patient.registry_number,
        "procedure_id": a.procedure_id,
        "pain_worst": a.pain_worst,
        "pain_average": a.pain_average,
        "eq5d_profile": list(a.eq5d_profile) if a.eq5d_profile else None,
        "no_analgesics": a.no_analgesics,
        "analgesics": [
            {
                "drug": e.drug,
                "dose": e.dose,
                "unit": e.unit,
                "route": e.route,
                "doses_per_day": e.doses_per_day,
                "as_needed": e.as_needed,
            }
            for e in a.analgesics.all()
        ],
    }


def _event_out(e) -> dict:
    fields = (
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
    return {"id": e.pk, **{f: getattr(e, f) for f in fields}}


# ---- operations ----------------------------------------------------------------------------


@api.get("/patients", response={200: list[PatientOut], **ERRORS}, tags=["patients"])
def list_patients(
    request,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")] = 0,
):
    patients = (
        access.patients_for(request.user)
        .select_related("site")
        .order_by("pk")[offset : offset + limit]
    )
    return [_patient_out(p, request.user) for p in patients]


@api.post("/patients", response={201: PatientOut, **ERRORS}, tags=["patients"])
def create_patient(request, payload: PatientIn):
    staff = access.require(request.user, "registry.add_patient")
    data = payload.dict()
    data["nhs_number"] = normalise_nhs_number(data["nhs_number"])
    patient = actions.create_patient(site=staff.site, acting_user=request.user, **data)
    return Status(201, _patient_out(patient, request.user))


@api.get("/patients/{registry_number}", response={200: PatientOut, **ERRORS}, tags=["patients"])
def get_patient(request, registry_number: str):
    return _patient_out(access.get_patient(request.user, registry_number), request.user)


@api.post(
    "/patients/{registry_number}/lesions", response={201: LesionOut, **ERRORS}, tags=["patients"]
)
def create_lesion(request, registry_number: str, payload: LesionIn):
    patient = access.get_patient(request.user, registry_number, "registry.add_lesion")
    lesion = actions.add_lesion(patient, acting_user=request.user, **payload.dict())
    return Status(201, {"id": lesion.pk, **{k: getattr(lesion, k) for k in LesionIn.model_fields}})


@api.post(
    "/patients/{registry_number}/mdt-decisions", response={201: dict, **ERRORS}, tags=["patients"]
)
def create_mdt_decision(request, registry_number: str, payload: MdtIn):
    patient = access.get_patient(request.user, registry_number, "registry.add_mdtdecisionrecord")
    data = payload.dict()
    lesion_id = data.pop("lesion_id")
    data["lesion"] = _own_lesion(patient, lesion_id) if lesion_id is not None else None
    record = actions.record_mdt_decision(patient, acting_user=request.user, **data)
    return Status(201, {"id": record.pk})


@api.post("/patients/{registry_number}/consents", response={201: dict, **ERRORS}, tags=["patients"])
def create_consent(request, registry_number: str, payload: ConsentIn):
    patient = access.get_patient(request.user, registry_number, "registry.add_consent")
    record = actions.record_consent(patient, acting_user=request.user, **payload.dict())
    return Status(201, {"id": record.pk})


def _own_lesion(patient: Patient, lesion_id: int):
    lesion = patient.lesions.filter(pk=lesion_id).first()
    if lesion is None:
        raise ValidationError({"lesion_id": "No such lesion for this patient."})
    return lesion


@api.get(
    "/patients/{registry_number}/procedures",
    response={200: list[ProcedureOut], **ERRORS},
    tags=["procedures"],
)
def list_procedures(request, registry_number: str):
    patient = access.get_patient(request.user, registry_number, "registry.view_procedure")
    return [
        _procedure_out(p)
        for p in patient.procedures.prefetch_related("operators", "cycles", "assessments")
    ]


@api.post(
    "/patients/{registry_number}/procedures",
    response={201: ProcedureOut, **ERRORS},
    tags=["procedures"],
)
def create_procedure(request, registry_number: str, payload: ProcedureIn):
    from django.contrib.auth import get_user_model

    patient = access.get_patient(request.user, registry_number, "registry.add_procedure")
    data = payload.dict()
    cycles = data.pop("cycles")
    usernames = data.pop("operators")
    operators = list(
        get_user_model().objects.filter(username__in=usernames, staff__site=patient.site)
    )
    if len(operators) != len(set(usernames)):
        raise ValidationError({"operators": "Unknown operator, or not staff of this site."})
    data["lesion"] = _own_lesion(patient, data.pop("lesion_id"))
    procedure = record_governed_procedure(
        patient, acting_user=request.user, operators=operators, cycles=cycles, **data
    )
    return Status(201, _procedure_out(procedure))


@api.get("/procedures/{procedure_id}", response={200: ProcedureOut, **ERRORS}, tags=["procedures"])
def get_procedure(request, procedure_id: int):
    return _procedure_out(access.get_procedure(request.user, procedure_id))


@api.get(
    "/assessments/{assessment_id}", response={200: AssessmentOut, **ERRORS}, tags=["assessments"]
)
def get_assessment(request, assessment_id: int):
    return _assessment_out(access.get_assessment(request.user, assessment_id))


@api.put(
    "/assessments/{assessment_id}", response={200: AssessmentOut, **ERRORS}, tags=["assessments"]
)
def record_assessment(request, assessment_id: int, payload: AssessmentIn):
    assessment = access.get_assessment(request.user, assessment_id, "registry.change_assessment")
    data = payload.dict()
    analgesics = data.pop("analgesics")
    actions.record_assessment(assessment, acting_user=request.user, analgesics=analgesics, **data)
    return _assessment_out(assessment)


@api.get(
    "/patients/{registry_number}/adverse-events",
    response={200: list[AdverseEventOut], **ERRORS},
    tags=["adverse events"],
)
def list_adverse_events(request, registry_number: str):
    patient = access.get_patient(request.user, registry_number, "registry.view_adverseevent")
    return [_event_out(e) for e in patient.adverse_events.all()]


@api.post(
    "/patients/{registry_number}/adverse-events",
    response={201: AdverseEventOut, **ERRORS},
    tags=["adverse events"],
)
def create_adverse_event(request, registry_number: str, payload: AdverseEventIn):
    patient = access.get_patient(request.user, registry_number, "registry.add_adverseevent")
    data = payload.dict()
    procedure = patient.procedures.filter(pk=data.pop("procedure_id")).first()
    if procedure is None:
        raise ValidationError({"procedure_id": "No such procedure for this patient."})
    event = actions.record_adverse_event(
        patient, acting_user=request.user, procedure=procedure, **data
    )
    return Status(201, _event_out(event))
