"""Reading a lesion, an MDT decision, a consent or an adverse event, and correcting it or a
procedure (with its operators and ablation cycles), with a reason: docs/corrections.md.

The same writers as the pages (``actions.correct_record``, ``actions.correct_procedure``), so
the same rules, refusals and audit entry: each changed field's old and new value and the
reason. The same permissions: ``registry.change_<record>`` to correct, ``view`` to read; a
record of another site is not found.

**PUT, not PATCH.** A correction sends the whole record as it should be, as the page's form
does and as ``PUT /api/assessments/{id}`` records an assessment: read it (GET, which gives
its ``version``), change what was wrong, and send it back with the ``version`` read and the
``reason``. Fields left out take their defaults, as on a new record; nothing is kept from the
stored row by omission, so what is sent is what is validated and saved, and the audit entry
names exactly the fields that changed. (A PATCH would have to say how to patch the procedure's
cycles, which are corrected as one list, and would validate a record the client never saw
whole.) What GET returns besides (``id``, ``patient``, ``entered_in_error``, a cycle's
``order``) is ignored on the way back in.

A record marked "entered in error" is not corrected: undo the mark first (as on the pages).
"""

from django.core.exceptions import ValidationError
from ninja import Router
from pydantic import Field

from thermablate.registry import access, actions
from thermablate.registry import declarations as d
from thermablate.registry.api_records import (
    OPERATORS,
    PROCEDURE_FIELDS,
    VERSION,
    ProcedureOut,
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
from thermablate.registry.models import AdverseEvent, Consent, Lesion, MdtDecisionRecord

router = Router(tags=["corrections"])

CORRECTION = {
    "reason": (
        Text,
        Field(
            min_length=1,
            max_length=1000,
            description="Why the record was wrong; kept in the audit trail with the change",
        ),
    ),
    "version": VERSION,
}


def _record_schema(name: str, record: d.RecordFields):
    return schema(
        name,
        {
            "id": (int, ...),
            "patient": (str, ...),
            **output_fields(record),
            "entered_in_error": (bool, ...),
            "version": (int, ...),
        },
    )


LesionRecord = _record_schema("LesionRecord", d.LESION)
MdtDecisionOut = _record_schema("MdtDecisionOut", d.MDT_DECISION)
ConsentOut = _record_schema("ConsentOut", d.CONSENT)
AdverseEventRecord = _record_schema("AdverseEventRecord", d.ADVERSE_EVENT)

LesionCorrection = schema("LesionCorrection", {**input_fields(d.LESION), **CORRECTION})
MdtCorrection = schema("MdtCorrection", {**input_fields(d.MDT_DECISION), **CORRECTION})
ConsentCorrection = schema("ConsentCorrection", {**input_fields(d.CONSENT), **CORRECTION})
AdverseEventCorrection = schema(
    "AdverseEventCorrection", {**input_fields(d.ADVERSE_EVENT), **CORRECTION}
)
ProcedureCorrection = schema("ProcedureCorrection", {**PROCEDURE_FIELDS, **CORRECTION})


def _out(record: d.RecordFields, instance) -> dict:
    return {
        "id": instance.pk,
        "patient": instance.patient.registry_number,
        **record_values(record, instance),
        "entered_in_error": instance.entered_in_error,
        "version": instance.version,
    }


def _live(records, pk: int, key: str, noun: str):
    """One of the patient's records that still count, as the page's choices offer them."""
    found = records.live().filter(pk=pk).first()
    if found is None:
        raise ValidationError(
            {key: f"No such {noun} of this patient, or it is marked entered in error."}
        )
    return found


def _correct(request, instance, payload, record: d.RecordFields, **pointers) -> dict:
    """Correct ``instance`` with the payload's values (``pointers``: its foreign keys, looked
    up in place of the ids given)."""
    data = payload.dict()
    reason, version = data.pop("reason"), data.pop("version")
    for name in pointers:
        data.pop(f"{name}_id")
    corrected = actions.correct_record(
        instance,
        {**data, **pointers},
        reason=reason,
        acting_user=request.user,
        expected_version=version,
    )
    return _out(record, corrected)


def _get(request, model, pk: int, action: str):
    return access.get_record(request.user, model, pk, f"registry.{action}_{model._meta.model_name}")


# ---- lesion -------------------------------------------------------------------------------


@router.get("/lesions/{lesion_id}", response={200: LesionRecord, **ERRORS})
def get_lesion(request, lesion_id: int):
    return _out(d.LESION, _get(request, Lesion, lesion_id, "view"))


@router.put("/lesions/{lesion_id}", response={200: LesionRecord, **ERRORS})
def correct_lesion(request, lesion_id: int, payload: LesionCorrection):
    lesion = _get(request, Lesion, lesion_id, "change")
    return _correct(request, lesion, payload, d.LESION)


# ---- MDT decision -------------------------------------------------------------------------


@router.get("/mdt-decisions/{decision_id}", response={200: MdtDecisionOut, **ERRORS})
def get_mdt_decision(request, decision_id: int):
    return _out(d.MDT_DECISION, _get(request, MdtDecisionRecord, decision_id, "view"))


@router.put("/mdt-decisions/{decision_id}", response={200: MdtDecisionOut, **ERRORS})
def correct_mdt_decision(request, decision_id: int, payload: MdtCorrection):
    decision = _get(request, MdtDecisionRecord, decision_id, "change")
    lesion_id = payload.lesion_id
    lesion = (
        None
        if lesion_id is None
        else _live(decision.patient.lesions, lesion_id, "lesion_id", "lesion")
    )
    return _correct(request, decision, payload, d.MDT_DECISION, lesion=lesion)


# ---- consent ------------------------------------------------------------------------------


@router.get("/consents/{consent_id}", response={200: ConsentOut, **ERRORS})
def get_consent(request, consent_id: int):
    return _out(d.CONSENT, _get(request, Consent, consent_id, "view"))


@router.put("/consents/{consent_id}", response={200: ConsentOut, **ERRORS})
def correct_consent(request, consent_id: int, payload: ConsentCorrection):
    consent = _get(request, Consent, consent_id, "change")
    return _correct(request, consent, payload, d.CONSENT)


# ---- adverse event ------------------------------------------------------------------------


@router.get("/adverse-events/{event_id}", response={200: AdverseEventRecord, **ERRORS})
def get_adverse_event(request, event_id: int):
    return _out(d.ADVERSE_EVENT, _get(request, AdverseEvent, event_id, "view"))


@router.put("/adverse-events/{event_id}", response={200: AdverseEventRecord, **ERRORS})
def correct_adverse_event(request, event_id: int, payload: AdverseEventCorrection):
    event = _get(request, AdverseEvent, event_id, "change")
    procedure = _live(event.patient.procedures, payload.procedure_id, "procedure_id", "procedure")
    return _correct(request, event, payload, d.ADVERSE_EVENT, procedure=procedure)


# ---- procedure ----------------------------------------------------------------------------
# Read and corrected here, on one router: Django routes a path to the first router that has it.


@router.get(
    "/procedures/{procedure_id}", response={200: ProcedureOut, **ERRORS}, tags=["procedures"]
)
def get_procedure(request, procedure_id: int):
    return procedure_out(access.get_procedure(request.user, procedure_id))


@router.put(
    "/procedures/{procedure_id}",
    response={200: ProcedureOut, **ERRORS},
    tags=["procedures", "corrections"],
)
def correct_procedure(request, procedure_id: int, payload: ProcedureCorrection):
    """Its fields, operators (user names) and ablation cycles (one list, replaced as a whole;
    the trail keeps the old list). A corrected date moves the follow-up windows; one that
    would put a recorded assessment outside its window is refused, naming the time point.
    Overrides (credentialing, pathway) are decided when a procedure is recorded, not here: a
    correction that leaves it outside the pathway shows on the Data quality page."""
    procedure = access.get_procedure(request.user, procedure_id, "registry.change_procedure")
    patient = procedure.patient
    data = payload.dict()
    operators = site_operators(patient, data.pop(OPERATORS))
    lesion = _live(patient.lesions, data.pop("lesion_id"), "lesion_id", "lesion")
    actions.correct_procedure(
        procedure,
        acting_user=request.user,
        reason=data.pop("reason"),
        expected_version=data.pop("version"),
        operators=operators,
        cycles=data.pop("cycles"),
        lesion=lesion,
        **data,
    )
    return procedure_out(procedure)
