"""JSON API for other hospital systems, with its OpenAPI schema at /api/openapi.json.

django-ninja rather than Django REST framework: its request and response schemas are typed
pydantic models, so the OpenAPI document is generated from the same types that validate the
input, with far less code per endpoint. Authentication is a bearer token (systems) or the
web session (with CSRF, and only once it has given its two-factor code where the pages ask
for one). The same access helpers and actions as the web pages apply.
"""

from datetime import date
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer, SessionAuth
from pydantic import Field

from thermablate.registry import access, actions, token_lifecycle
from thermablate.registry import declarations as d
from thermablate.registry.api_corrections import router as corrections_router
from thermablate.registry.api_record_corrections import router as record_corrections_router
from thermablate.registry.api_records import (
    OPERATORS,
    PROCEDURE_FIELDS,
    VERSION,
    AssessmentSummary,
    ProcedureOut,
    assessment_summary,
    procedure_out,
    site_operators,
)
from thermablate.registry.api_schemas import (
    ERRORS,
    Text,
    input_fields,
    output_fields,
    record_values,
    schema,
)
from thermablate.registry.audit_trail import record_identifiers_shown
from thermablate.registry.models import (
    Assessment,
    Patient,
)
from thermablate.registry.sign_in import pending_second_factor
from thermablate.registry.validators import normalise_nhs_number
from thermablate.web.client import client_address

# ---- authentication -------------------------------------------------------------------------
#
# The rule of two-factor sign-in (registry.sign_in) is shared with the pages, so the pages and
# the API cannot disagree about which sessions are fully signed in.


class SessionWithSecondFactor(SessionAuth):
    """The browser's session (with CSRF), once it has passed every step the pages ask for.

    A session that signed in with the password only is refused with a JSON 403 saying what to
    do: the API must not be a way round the code the pages insist on.
    """

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        step = pending_second_factor(user) if user is not None else None
        if step is not None:
            raise PermissionDenied(step.instruction)
        return user


class BearerToken(HttpBearer):
    """A machine credential issued to one hospital system, which has no authenticator app to
    give a code from: it is not asked for one.

    Its scope is enforced here, for every operation at once: a read-only token gets a JSON 403
    for any method but GET, HEAD and OPTIONS before the operation runs. A revoked or expired
    token, or one whose account is inactive, gets a JSON 401 saying which; it does not fall
    back to the browser's session, so the system that sent it learns it must be replaced."""

    def authenticate(self, request, token):
        try:
            api_token = token_lifecycle.authenticate(
                token,
                method=request.method,
                path=request.path,
                address=client_address(request),
            )
        except token_lifecycle.TokenRefused as refused:
            raise HttpError(401, str(refused)) from None
        if api_token is None:
            return None
        request.user = api_token.user
        return api_token.user


api = NinjaAPI(
    title="Thermablate registry API",
    version="1",
    description="Patients, procedures, follow-up assessments and adverse events of a Thermablate site.",
    auth=[BearerToken(), SessionWithSecondFactor()],
    urls_namespace="api",
)


@api.exception_handler(actions.StaleRecordError)
def _stale(request, exc: actions.StaleRecordError):
    return api.create_response(request, {"detail": " ".join(exc.messages)}, status=409)


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


# ---- schemas: derived from the record declarations (thermablate.registry.declarations) -----

# Wider than the stored 10 digits, so "943 476 5919" can be sent as it is printed.
_NHS_NUMBER_IN = (Annotated[str, Field(max_length=20)], Field(description="10 digits"))

PatientIn = schema("PatientIn", input_fields(d.PATIENT, overrides={"nhs_number": _NHS_NUMBER_IN}))
PatientOut = schema(
    "PatientOut",
    {
        "registry_number": (str, ...),
        **output_fields(
            d.PATIENT,
            overrides={
                name: (
                    str | None,
                    Field(None, description="Only for roles allowed to see identifiers"),
                )
                for name in d.PATIENT.identifiers
            },
        ),
        "site": (str, ...),
        "status": (str, Field(description="alive, died, withdrew_follow_up, ...")),
        "status_date": (date | None, ...),
        "death_related": (str, ...),
        "version": (int, ...),
    },
)

LesionIn = schema("LesionIn", input_fields(d.LESION))
LesionOut = schema("LesionOut", {"id": (int, ...), **output_fields(d.LESION)})
MdtIn = schema("MdtIn", input_fields(d.MDT_DECISION))
ConsentIn = schema("ConsentIn", input_fields(d.CONSENT))

ProcedureIn = schema(
    "ProcedureIn",
    {
        **PROCEDURE_FIELDS,
        "override_reason": (
            Text,
            Field(
                "",
                description="Required when an operator is not credentialed for this procedure at the site",
            ),
        ),
        "pathway_override_reason": (
            Text,
            Field(
                "",
                description="Required when the procedure breaks a pathway rule (no MDT decision "
                "to proceed on or before it; under special arrangements, no consent with written "
                "information on or before it); listed on the Governance page",
            ),
        ),
    },
)

AnalgesicIn = schema("AnalgesicIn", input_fields(d.ANALGESIC))
AnalgesicOut = schema("AnalgesicOut", output_fields(d.ANALGESIC))
AssessmentIn = schema(
    "AssessmentIn",
    {
        **input_fields(d.ASSESSMENT),
        "analgesics": (list[AnalgesicIn], Field(default=[])),
        "version": VERSION,
        "correction_reason": (
            str,
            Field(
                default="",
                max_length=1000,
                description="Required when the assessment is already recorded: changing it "
                "is a correction, kept in the audit trail with its reason",
            ),
        ),
    },
)
AssessmentOut = schema(
    "AssessmentOut",
    {
        "patient": (str, ...),
        "procedure_id": (int, ...),
        **output_fields(d.ASSESSMENT),
        "eq5d_profile": (list[int] | None, ...),
        "analgesics": (list[AnalgesicOut], ...),
        "version": (int, ...),
    },
    base=AssessmentSummary,
)

AdverseEventIn = schema("AdverseEventIn", input_fields(d.ADVERSE_EVENT))
AdverseEventOut = schema("AdverseEventOut", {"id": (int, ...), **output_fields(d.ADVERSE_EVENT)})


# ---- serialisers ---------------------------------------------------------------------------


def _patient_out(patient: Patient, user) -> dict:
    """The patient as the API returns it; showing its identifiers is recorded in the trail."""
    identifiable = access.can_see_identifiers(user)
    if identifiable:
        record_identifiers_shown(user, [patient], via="api")
    values = record_values(d.PATIENT, patient)
    for name in d.PATIENT.identifiers:  # NHS number and MRN: only to whom may see them
        values[name] = (values[name] or None) if identifiable else None
    return {
        **values,
        "registry_number": patient.registry_number,
        "site": patient.site.code,
        "status": patient.status,
        "status_date": patient.status_date,
        "death_related": patient.death_related,
        "version": patient.version,
    }


def _assessment_out(a: Assessment) -> dict:
    return {
        **assessment_summary(a),
        **record_values(d.ASSESSMENT, a),
        "patient": a.patient.registry_number,
        "procedure_id": a.procedure_id,
        "eq5d_profile": list(a.eq5d_profile) if a.eq5d_profile else None,
        "analgesics": [record_values(d.ANALGESIC, e) for e in a.analgesics.all()],
        "version": a.version,
    }


def _event_out(e) -> dict:
    return {"id": e.pk, **record_values(d.ADVERSE_EVENT, e)}


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
    return Status(201, {"id": lesion.pk, **record_values(d.LESION, lesion)})


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
        procedure_out(p)
        for p in patient.procedures.live().prefetch_related("operators", "cycles", "assessments")
    ]


@api.post(
    "/patients/{registry_number}/procedures",
    response={201: ProcedureOut, **ERRORS},
    tags=["procedures"],
)
def create_procedure(request, registry_number: str, payload: ProcedureIn):
    patient = access.get_patient(request.user, registry_number, "registry.add_procedure")
    data = payload.dict()
    cycles = data.pop("cycles")
    operators = site_operators(patient, data.pop(OPERATORS))
    data["lesion"] = _own_lesion(patient, data.pop("lesion_id"))
    procedure = actions.record_governed_procedure(
        patient, acting_user=request.user, operators=operators, cycles=cycles, **data
    )
    return Status(201, procedure_out(procedure))


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
    version = data.pop("version")
    actions.record_assessment(
        assessment,
        acting_user=request.user,
        analgesics=analgesics,
        expected_version=version,
        **data,
    )
    return _assessment_out(assessment)


@api.get(
    "/patients/{registry_number}/adverse-events",
    response={200: list[AdverseEventOut], **ERRORS},
    tags=["adverse events"],
)
def list_adverse_events(request, registry_number: str):
    patient = access.get_patient(request.user, registry_number, "registry.view_adverseevent")
    events = patient.adverse_events.live().filter(procedure__entered_in_error=False)
    return [_event_out(e) for e in events]


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


# Corrections, "entered in error" and patient status: registry/api_corrections.py; the
# corrections of each record: registry/api_record_corrections.py.
api.add_router("/", corrections_router)
api.add_router("/", record_corrections_router)
