"""Writers of a patient's clinical records: registration and every step of the journey."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from thermablate.clinical import followup
from thermablate.registry import choices as c
from thermablate.registry.actions.base import (
    create_audited,
    error_messages,
    locked_current,
    record_audit,
    snapshot,
    update_audited,
    validate,
)
from thermablate.registry.actions.corrections import record_death_from_adverse_event
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
    return create_procedure(
        patient, acting_user=acting_user, operators=operators, cycles=cycles, **fields
    )


def create_procedure(
    patient: Patient, *, acting_user, operators, cycles: list[dict], **fields
) -> Procedure:
    """``record_procedure`` in the caller's transaction, for a writer that opened its own
    (``record_governed_procedure``): one savepoint fewer for each procedure of an import."""
    operators = _checked_operators(patient, operators)
    if not cycles:
        raise ValidationError({"cycles": "Record at least one ablation cycle."})
    procedure = create_audited(
        Procedure(patient=patient, **fields), acting_user=acting_user, patient=patient
    )
    procedure.operators.add(*operators)  # a new procedure: nothing to remove, nothing to read
    record_audit(
        acting_user,
        "update",
        procedure,
        patient,
        {"operators": {"old": [], "new": [op.username for op in operators]}},
    )
    # Validated one by one, inserted together (no receiver listens for a new cycle).
    checked = [_checked_cycle(procedure, n, cycle) for n, cycle in enumerate(cycles, start=1)]
    AblationCycle.objects.bulk_create(checked)
    for cycle in checked:
        record_audit(acting_user, "create", cycle, patient, {"new": snapshot(cycle)})
    _create_schedule(procedure, acting_user=acting_user)
    return procedure


def _checked_operators(patient: Patient, operators) -> list:
    operators = list(operators)
    if not operators:
        raise ValidationError({"operators": "Name at least one operator."})
    if any(
        getattr(op, "staff", None) is None or op.staff.site_id != patient.site_id
        for op in operators
    ):
        raise ValidationError({"operators": "Operators must be staff of the patient's site."})
    return operators


def _checked_cycle(procedure: Procedure, order: int, fields: dict) -> AblationCycle:
    cycle = AblationCycle(procedure=procedure, order=order, **fields)
    try:
        validate(cycle)
    except ValidationError as exc:
        raise ValidationError(
            {"cycles": [f"Cycle {order}: {msg}" for msg in error_messages(exc)]}
        ) from None
    return cycle


def _cycle_values(cycle: AblationCycle) -> dict:
    return {k: v for k, v in snapshot(cycle).items() if k not in ("procedure_id", "order")}


@transaction.atomic
def correct_procedure(
    procedure: Procedure,
    *,
    reason: str,
    acting_user,
    operators,
    cycles: list[dict],
    expected_version: int | None = None,
    **fields,
) -> Procedure:
    """Correct a procedure, its operators and its ablation cycles, with a reason.

    A corrected date moves the follow-up windows with it; an assessment already recorded that
    would then fall outside its window refuses the correction (correct the assessment first).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the correction."})
    # Locked and checked against the version read before anything is compared or written.
    stored = locked_current(procedure, expected_version)
    if stored.entered_in_error:
        raise ValidationError(
            "This procedure is marked entered in error: undo the mark before correcting it."
        )
    old_date, old_version = stored.procedure_date, stored.version
    patient = procedure.patient
    operators = _checked_operators(patient, operators)
    if not cycles:
        raise ValidationError({"cycles": "Record at least one ablation cycle."})
    update_audited(
        procedure,
        fields,
        acting_user=acting_user,
        patient=patient,
        expected_version=expected_version,
        reason=reason,
    )
    old_names = sorted(procedure.operators.values_list("username", flat=True))
    new_names = sorted(op.username for op in operators)
    list_changed = False  # operators or cycles, which update_audited does not see
    if old_names != new_names:
        list_changed = True
        procedure.operators.set(operators)
        record_audit(
            acting_user,
            "update",
            procedure,
            patient,
            {"operators": {"old": old_names, "new": new_names}, "reason": reason},
        )
    old_cycles = list(procedure.cycles.order_by("order"))
    new_cycles = [_checked_cycle(procedure, n, c) for n, c in enumerate(cycles, start=1)]
    if [_cycle_values(c) for c in old_cycles] != [_cycle_values(c) for c in new_cycles]:
        # The cycles are read and corrected as one list, part of the procedure's record; the
        # trail keeps the old list.
        list_changed = True
        procedure.cycles.all().delete()
        AblationCycle.objects.bulk_create(new_cycles)
        record_audit(
            acting_user,
            "update",
            procedure,
            patient,
            {
                "cycles": {
                    "old": [_cycle_values(c) for c in old_cycles],
                    "new": [_cycle_values(c) for c in new_cycles],
                },
                "reason": reason,
            },
        )
    if list_changed and procedure.version == old_version:
        # The operators and cycles are the procedure's record too: a correction of them alone
        # is a new version, so a correction made from the version before is refused as stale.
        procedure.version = old_version + 1
        procedure.save(update_fields=["version"])
    if procedure.procedure_date != old_date:
        _reschedule(procedure, acting_user=acting_user, reason=reason)
    return procedure


def _reschedule(procedure: Procedure, *, acting_user, reason: str) -> None:
    windows = {due.timepoint: due for due in followup.schedule_for(procedure.procedure_date)}
    for assessment in procedure.assessments.select_related("patient"):
        due = windows[assessment.timepoint]
        try:
            update_audited(
                assessment,
                {"due_date": due.target, "window_opens": due.opens, "window_closes": due.closes},
                acting_user=acting_user,
                patient=procedure.patient,
                reason=f"The procedure date was corrected: {reason}",
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    "procedure_date": [
                        f"{assessment.get_timepoint_display()} assessment: {message}"
                        for message in error_messages(exc)
                    ]
                }
            ) from None


def _create_schedule(procedure: Procedure, *, acting_user) -> None:
    """The procedure's follow-up schedule, validated and audited one assessment at a time and
    inserted together.

    The procedure was created a moment ago in this transaction, so none of its assessments can
    exist yet: the one-per-time-point check would ask the database for nothing (the unique
    constraint still guards it). ``bulk_create`` sends no ``post_save``; the one receiver of
    new assessments, the audit summaries' invalidation, was already told by the procedure's
    own save.
    """
    patient = procedure.patient
    schedule = [
        Assessment(
            patient=patient,
            procedure=procedure,
            timepoint=due.timepoint,
            due_date=due.target,
            window_opens=due.opens,
            window_closes=due.closes,
        )
        for due in followup.schedule_for(procedure.procedure_date)
    ]
    for assessment in schedule:
        validate(assessment, check_constraints=False)
    Assessment.objects.bulk_create(schedule)
    for assessment in schedule:
        record_audit(acting_user, "create", assessment, patient, {"new": snapshot(assessment)})


@transaction.atomic
def record_assessment(
    assessment: Assessment,
    *,
    acting_user,
    analgesics: list[dict],
    expected_version: int | None = None,
    reported_by: str = c.ReportedBy.STAFF,
    **fields,
) -> Assessment:
    """Fill in a scheduled assessment; the analgesic list replaces any earlier one.

    ``reported_by``: who gave the answers, staff (pages, API, import) or the patient (their
    questionnaire link). A correction keeps the recorded source: staff correcting a patient's
    answers leave them patient-reported and mark them ``corrected_by_staff``; a patient's
    questionnaire cannot change answers staff recorded."""
    if fields.get("no_analgesics") and analgesics:
        raise ValidationError(
            {"no_analgesics": "Analgesics are listed, so the patient does take some."}
        )
    # Changing a recorded assessment is a correction: it needs its reason. Recording one that
    # was marked "entered in error" replaces the wrong answers and clears the mark.
    reason = (fields.pop("correction_reason", "") or "").strip()
    # Judged on the stored row (a page's model form has already copied the posted answers onto
    # ``assessment``), after the version check, so a stale edit is answered as stale.
    stored = locked_current(assessment, expected_version)
    source = _source(stored, reported_by)
    if stored.is_done and not reason:
        raise ValidationError(
            {
                "correction_reason": "This assessment is recorded: give the reason for the correction."
            }
        )
    if stored.not_done_reason:
        raise ValidationError(
            "This time point is closed as could not be done: reopen it before recording it."
        )
    if stored.entered_in_error:
        fields = {**fields, "entered_in_error": False, "entered_in_error_reason": ""}
    fields.update(source)
    update_audited(
        assessment,
        fields,
        acting_user=acting_user,
        patient=assessment.patient,
        expected_version=expected_version,
        reason=reason,
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


def _source(stored: Assessment, reported_by: str) -> dict:
    """The source fields of an assessment recorded by ``reported_by`` over ``stored``."""
    if not stored.is_done:  # first recorded, or recorded again after "entered in error"
        return {"reported_by": c.ReportedBy(reported_by), "corrected_by_staff": False}
    if stored.reported_by == c.ReportedBy.PATIENT:
        return {
            "corrected_by_staff": stored.corrected_by_staff or reported_by == c.ReportedBy.STAFF
        }
    if reported_by == c.ReportedBy.PATIENT:
        raise ValidationError(
            "This assessment was recorded by staff: a patient's questionnaire cannot change it."
        )
    return {}


@transaction.atomic
def record_adverse_event(patient: Patient, *, acting_user, **fields) -> AdverseEvent:
    """Record an adverse event; a grade 5 event records the patient's death with it."""
    event = create_audited(
        AdverseEvent(patient=patient, **fields), acting_user=acting_user, patient=patient
    )
    record_death_from_adverse_event(event, acting_user=acting_user)
    return event


@transaction.atomic
def update_adverse_event(
    event: AdverseEvent,
    *,
    acting_user,
    expected_version: int | None = None,
    reason: str = "",
    **fields,
) -> AdverseEvent:
    if event.entered_in_error:
        raise ValidationError(
            "This event is marked entered in error: undo the mark before changing it."
        )
    update_audited(
        event,
        fields,
        acting_user=acting_user,
        patient=event.patient,
        expected_version=expected_version,
        reason=reason,
    )
    record_death_from_adverse_event(event, acting_user=acting_user)
    return event


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
