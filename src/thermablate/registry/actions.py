"""The only writers of clinical records.

Every function validates the whole record (``full_clean``), saves it and writes the audit
entry in one transaction, so a refused or failed write leaves nothing behind and no write
escapes the audit trail. Views and the API parse and authorise, then call one of these.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from thermablate.clinical import followup
from thermablate.registry.fields import identifier_hash
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    AuditEvent,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
    Site,
    new_registry_number,
)

# Fields whose values the audit trail records as "changed" but not in clear, so the trail
# itself does not become a second copy of the identifiers.
_REDACTED_FIELDS = {"nhs_number", "nhs_number_hash"}


def _jsonable(value):
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, *, redact: bool = True) -> dict:
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name == "id":
            continue
        value = _jsonable(getattr(instance, field.attname))
        data[field.attname] = "[redacted]" if redact and field.name in _REDACTED_FIELDS else value
    return data


def record_audit(
    acting_user, action: str, instance: models.Model, patient: Patient | None, changes: dict
) -> None:
    AuditEvent.objects.create(
        actor=acting_user,
        action=action,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        patient=patient,
        changes=changes,
    )


def _create(instance: models.Model, *, acting_user, patient: Patient | None) -> models.Model:
    instance.full_clean()
    instance.save()
    record_audit(acting_user, "create", instance, patient, {"new": snapshot(instance)})
    return instance


def _update(
    instance: models.Model,
    fields: dict,
    *,
    acting_user,
    patient: Patient | None,
    expected_version: int | None = None,
) -> models.Model:
    # Compare with the stored row, not the instance: a ModelForm may already have written the
    # new values into the instance it was given. Locking the row serialises concurrent edits.
    stored = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    versioned = hasattr(stored, "version")
    if versioned and expected_version is not None and expected_version != stored.version:
        raise ValidationError(_edited_meanwhile(stored, expected_version))
    before, shown_before = snapshot(stored, redact=False), snapshot(stored)
    for name, value in fields.items():
        setattr(instance, name, value)
    if versioned:
        instance.version = stored.version
    instance.full_clean()
    after, shown_after = snapshot(instance, redact=False), snapshot(instance)
    # Compare real values; record redacted ones, so a changed NHS number shows as changed.
    changed = {
        k: {"old": shown_before[k], "new": shown_after[k]}
        for k in after
        if before.get(k) != after[k]
    }
    if changed:
        if versioned:
            instance.version = stored.version + 1
        instance.save()
        record_audit(acting_user, "update", instance, patient, changed)
    return instance


def _edited_meanwhile(stored: models.Model, expected_version: int) -> str:
    """Optimistic locking: say who changed the record since the form was opened, and what."""
    edits = (
        AuditEvent.objects.filter(
            model=stored._meta.model_name, object_id=str(stored.pk), action="update"
        )
        .select_related("actor")
        .order_by("-id")[: max(1, stored.version - expected_version)]
    )
    details = "; ".join(
        f"{(e.actor.get_full_name() or e.actor.username) if e.actor else 'system'} changed "
        f"{', '.join(sorted(e.changes))} at {e.at:%H:%M}"
        for e in edits
    )
    return (
        "This record was changed by someone else after you opened it, so your changes were not saved"
        f"{': ' + details if details else ''}. Reload the page to see the current values."
    )


@transaction.atomic
def create_patient(*, site: Site, acting_user, **fields) -> Patient:
    nhs_number = fields.get("nhs_number")
    existing = (
        Patient.objects.filter(site=site, nhs_number_hash=identifier_hash(nhs_number)).first()
        if nhs_number
        else None
    )
    if existing:
        raise ValidationError(
            {
                "nhs_number": f"A patient with this NHS number is already registered at this site ({existing.registry_number})."
            }
        )
    patient = Patient(site=site, registry_number=_unused_registry_number(), **fields)
    try:
        with transaction.atomic():
            return _create(patient, acting_user=acting_user, patient=None)
    except IntegrityError:
        # Two users registering the same person at the same moment: the constraint decides.
        raise ValidationError(
            {"nhs_number": "A patient with this NHS number is already registered at this site."}
        ) from None


def _unused_registry_number() -> str:
    while True:
        candidate = new_registry_number()
        if not Patient.objects.filter(registry_number=candidate).exists():
            return candidate


@transaction.atomic
def update_patient(
    patient: Patient, *, acting_user, expected_version: int | None = None, **fields
) -> Patient:
    return _update(
        patient, fields, acting_user=acting_user, patient=patient, expected_version=expected_version
    )


@transaction.atomic
def add_lesion(patient: Patient, *, acting_user, **fields) -> Lesion:
    return _create(Lesion(patient=patient, **fields), acting_user=acting_user, patient=patient)


@transaction.atomic
def record_mdt_decision(patient: Patient, *, acting_user, **fields) -> MdtDecisionRecord:
    lesion = fields.get("lesion")
    if lesion is not None and lesion.patient_id != patient.pk:
        raise ValidationError({"lesion": "This lesion belongs to another patient."})
    return _create(
        MdtDecisionRecord(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


@transaction.atomic
def record_consent(patient: Patient, *, acting_user, **fields) -> Consent:
    return _create(Consent(patient=patient, **fields), acting_user=acting_user, patient=patient)


@transaction.atomic
def record_procedure(
    patient: Patient, *, acting_user, operators, cycles: list[dict], **fields
) -> Procedure:
    """Save a procedure with its ablation cycles and create its follow-up schedule."""
    operators = list(operators)
    if not operators:
        raise ValidationError({"operators": "Name at least one operator."})
    if any(
        getattr(op, "staff", None) is None or op.staff.site_id != patient.site_id
        for op in operators
    ):
        raise ValidationError({"operators": "Operators must be staff of the patient's site."})
    if not cycles:
        raise ValidationError({"cycles": "Record at least one ablation cycle."})
    procedure = _create(
        Procedure(patient=patient, **fields), acting_user=acting_user, patient=patient
    )
    procedure.operators.set(operators)
    record_audit(
        acting_user,
        "update",
        procedure,
        patient,
        {"operators": {"old": [], "new": [op.username for op in operators]}},
    )
    for order, cycle in enumerate(cycles, start=1):
        try:
            _create(
                AblationCycle(procedure=procedure, order=order, **cycle),
                acting_user=acting_user,
                patient=patient,
            )
        except ValidationError as exc:
            raise ValidationError(
                {"cycles": [f"Cycle {order}: {msg}" for msg in _messages(exc)]}
            ) from None
    for due in followup.schedule_for(procedure.procedure_date):
        _create(
            Assessment(
                patient=patient,
                procedure=procedure,
                timepoint=due.timepoint,
                due_date=due.target,
                window_opens=due.opens,
                window_closes=due.closes,
            ),
            acting_user=acting_user,
            patient=patient,
        )
    return procedure


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, errors in exc.message_dict.items() for m in errors]
    return list(exc.messages)


@transaction.atomic
def record_assessment(
    assessment: Assessment,
    *,
    acting_user,
    analgesics: list[dict],
    expected_version: int | None = None,
    **fields,
) -> Assessment:
    """Fill in a scheduled assessment; the analgesic list replaces any earlier one."""
    if fields.get("no_analgesics") and analgesics:
        raise ValidationError(
            {"no_analgesics": "Analgesics are listed, so the patient does take some."}
        )
    _update(
        assessment,
        fields,
        acting_user=acting_user,
        patient=assessment.patient,
        expected_version=expected_version,
    )
    old = [snapshot(entry) for entry in assessment.analgesics.all()]
    assessment.analgesics.all().delete()
    new = []
    for index, entry in enumerate(analgesics, start=1):
        item = AnalgesicEntry(assessment=assessment, **entry)
        try:
            item.full_clean()
        except ValidationError as exc:
            raise ValidationError(
                {"analgesics": [f"Drug {index}: {m}" for m in _messages(exc)]}
            ) from None
        item.save()
        new.append(snapshot(item))
    if old != new:
        record_audit(
            acting_user,
            "update",
            assessment,
            assessment.patient,
            {"analgesics": {"old": old, "new": new}},
        )
    return assessment


@transaction.atomic
def record_adverse_event(patient: Patient, *, acting_user, **fields) -> AdverseEvent:
    return _create(
        AdverseEvent(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


@transaction.atomic
def update_adverse_event(event: AdverseEvent, *, acting_user, **fields) -> AdverseEvent:
    return _update(event, fields, acting_user=acting_user, patient=event.patient)


@transaction.atomic
def record_coding(procedure: Procedure, *, acting_user, codes: list[str]) -> Procedure:
    """Store the OPCS-4 codes a coder accepted or entered, in order; malformed codes are refused."""
    from django.utils import timezone

    from thermablate.clinical.opcs import OpcsCodeError, validate_code

    cleaned = []
    for position, raw in enumerate(codes, start=1):
        try:
            cleaned.append(validate_code(raw.strip().upper()))
        except OpcsCodeError as exc:
            raise ValidationError({"codes": f"Code {position} ({raw!r}): {exc}"}) from None
    if not cleaned:
        raise ValidationError({"codes": "Give at least one code."})
    if any(code.endswith(".-") for code in cleaned):
        raise ValidationError(
            {"codes": "A category such as V55.- is not a code: choose the subcode."}
        )
    return _update(
        procedure,
        {"opcs_codes": cleaned, "opcs_coded_by": acting_user, "opcs_coded_at": timezone.now()},
        acting_user=acting_user,
        patient=procedure.patient,
    )
