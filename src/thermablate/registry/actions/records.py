"""Writers of a patient's clinical records: registration and every step of the journey."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from thermablate.clinical import followup
from thermablate.registry.actions.base import (
    create_audited,
    error_messages,
    record_audit,
    snapshot,
    update_audited,
)
from thermablate.registry.fields import decrypt, identifier_hash, key_id_of, newest_key_id
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
    Site,
    new_registry_number,
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
            return create_audited(patient, acting_user=acting_user, patient=None)
    except IntegrityError:
        # Two users registering the same person at the same moment: the constraint decides.
        raise ValidationError(
            "A patient with this NHS number or hospital number is already registered at this site."
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
    return update_audited(
        patient, fields, acting_user=acting_user, patient=patient, expected_version=expected_version
    )


@transaction.atomic
def reencrypt_identifiers(patient: Patient, *, acting_user, rehash: bool = False) -> bool:
    """Re-encrypt a patient's identifiers (NHS number, hospital number) under the newest field
    key (and, with ``rehash``, recompute their lookup hashes after the hash key changed). The
    audit entry names the old and new key by their ids, never a number. Returns whether
    anything was rewritten."""
    with connection.cursor() as cursor:
        # The stored tokens themselves (the fields decrypt on read), locked for the rewrite.
        table = connection.ops.quote_name(Patient._meta.db_table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        cursor.execute(
            f"SELECT {', '.join(f'{n}, {n}_hash' for n in _IDENTIFIERS)} "  # noqa: S608
            f"FROM {table} WHERE id = %s{lock}",
            [patient.pk],
        )
        row = cursor.fetchone()
    updates, changes = {}, {}
    new_key = newest_key_id()
    for position, name in enumerate(_IDENTIFIERS):
        stored, stored_hash = row[2 * position], row[2 * position + 1]
        if not stored:
            continue  # an optional identifier not given (the hospital number)
        old_key, plain = key_id_of(stored), decrypt(stored)
        new_hash = identifier_hash(plain) if rehash else stored_hash
        if old_key == new_key and new_hash == stored_hash:
            continue
        # The field encrypts the plain value under the newest key.
        updates.update({name: plain, f"{name}_hash": new_hash})
        changes[name] = {"key": {"old": old_key, "new": new_key}}
        if new_hash != stored_hash:
            changes[f"{name}_hash"] = "recomputed"
    if not updates:
        return False
    # update(), not save(): the values are unchanged, so the record's version stays and no
    # one's open form becomes stale.
    Patient.objects.filter(pk=patient.pk).update(**updates)
    record_audit(acting_user, "rekey", patient, patient, changes)
    return True


# Identifiers encrypted at rest, each with its keyed lookup hash "<name>_hash".
_IDENTIFIERS = ("nhs_number", "mrn")


@transaction.atomic
def add_lesion(patient: Patient, *, acting_user, **fields) -> Lesion:
    return create_audited(
        Lesion(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


@transaction.atomic
def record_mdt_decision(patient: Patient, *, acting_user, **fields) -> MdtDecisionRecord:
    lesion = fields.get("lesion")
    if lesion is not None and lesion.patient_id != patient.pk:
        raise ValidationError({"lesion": "This lesion belongs to another patient."})
    return create_audited(
        MdtDecisionRecord(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


@transaction.atomic
def record_consent(patient: Patient, *, acting_user, **fields) -> Consent:
    return create_audited(
        Consent(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


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
    procedure = create_audited(
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
            create_audited(
                AblationCycle(procedure=procedure, order=order, **cycle),
                acting_user=acting_user,
                patient=patient,
            )
        except ValidationError as exc:
            raise ValidationError(
                {"cycles": [f"Cycle {order}: {msg}" for msg in error_messages(exc)]}
            ) from None
    for due in followup.schedule_for(procedure.procedure_date):
        create_audited(
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
    update_audited(
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
                {"analgesics": [f"Drug {index}: {m}" for m in error_messages(exc)]}
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
    return create_audited(
        AdverseEvent(patient=patient, **fields), acting_user=acting_user, patient=patient
    )


@transaction.atomic
def update_adverse_event(
    event: AdverseEvent, *, acting_user, expected_version: int | None = None, **fields
) -> AdverseEvent:
    return update_audited(
        event,
        fields,
        acting_user=acting_user,
        patient=event.patient,
        expected_version=expected_version,
    )


@transaction.atomic
def record_coding(
    procedure: Procedure, *, acting_user, codes: list[str], expected_version: int | None = None
) -> Procedure:
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
    return update_audited(
        procedure,
        {"opcs_codes": cleaned, "opcs_coded_by": acting_user, "opcs_coded_at": timezone.now()},
        acting_user=acting_user,
        patient=procedure.patient,
        expected_version=expected_version,
    )
