"""Putting records right: corrections with a reason, "entered in error" and its undo, a
patient's status, a time point that could not be done.

Nothing clinical is deleted. A correction is an update whose audit entry carries the old and
new values and the reason. A record marked "entered in error" stays in the database, the audit
trail and the backups, and leaves everything that counts (timeline, follow-up lists, audit
figures, exports), which ask for ``.live()`` records; the mark can be undone.

Who may do what is decided by the caller through ``registry.access`` (docs/corrections.md).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from thermablate.registry import choices as c
from thermablate.registry.actions.base import (
    locked_current,
    record_audit,
    update_audited,
    validate,
)
from thermablate.registry.models import (
    AdverseEvent,
    Assessment,
    Consent,
    Correctable,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
)


def required_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Give the reason for {what}."})
    return reason


@transaction.atomic
def correct_record(
    record: Correctable,
    fields: dict,
    *,
    reason: str,
    acting_user,
    expected_version: int | None = None,
) -> Correctable:
    """Correct a lesion, MDT decision, consent or adverse event (procedures: ``correct_procedure``;
    assessments are corrected by recording them again)."""
    reason = required_reason(reason, "the correction")
    if record.entered_in_error:
        raise ValidationError(
            "This record is marked entered in error: undo the mark before correcting it."
        )
    corrected = update_audited(
        record,
        fields,
        acting_user=acting_user,
        patient=record.patient,
        expected_version=expected_version,
        reason=reason,
    )
    if isinstance(corrected, AdverseEvent):
        # An event corrected to grade 5 is a death, as one recorded so (docs/corrections.md).
        record_death_from_adverse_event(corrected, acting_user=acting_user)
    return corrected


# What must be marked in error first, so that nothing that counts points at a record in error.
def _live_dependants(record: Correctable) -> list[str]:
    if isinstance(record, Lesion):
        found = []
        if record.procedures.live().exists():
            found.append("its procedures")
        if MdtDecisionRecord.objects.live().filter(lesion=record).exists():
            found.append("its MDT decisions")
        return found
    return []


@transaction.atomic
def mark_entered_in_error(
    record: Correctable, *, reason: str, acting_user, expected_version: int | None = None
) -> Correctable:
    """Take a record out of everything that counts, keeping it (and its audit trail).

    A procedure takes its follow-up schedule and adverse events out with it (they are of the
    procedure); an assessment's time point opens again, as if never recorded.
    """
    reason = required_reason(reason, 'marking the record "entered in error"')
    stored = locked_current(record, expected_version)
    if stored.entered_in_error:
        raise ValidationError('This record is already marked "entered in error".')
    dependants = _live_dependants(stored)
    if dependants:
        raise ValidationError(
            f"This {stored._meta.verbose_name} has {' and '.join(dependants)}: mark them "
            "entered in error first, or correct them to point at the right record."
        )
    return _set_mark(stored, True, reason, acting_user, "in_error")


@transaction.atomic
def undo_entered_in_error(
    record: Correctable, *, reason: str, acting_user, expected_version: int | None = None
) -> Correctable:
    """Bring a record marked "entered in error" back into everything that counts."""
    reason = required_reason(reason, "undoing the mark")
    stored = locked_current(record, expected_version)
    if not stored.entered_in_error:
        raise ValidationError('This record is not marked "entered in error".')
    if isinstance(stored, Assessment) and stored.procedure.entered_in_error:
        raise ValidationError("Its procedure is marked entered in error: undo that first.")
    # A record coming back must hold against what was recorded while it was out (a death
    # dated before it, for one), as if it were recorded now.
    stored.entered_in_error = False
    validate(stored)
    if isinstance(stored, Procedure):
        # Its adverse events come back with it.
        for event in stored.adverse_events.live():
            event.procedure = stored  # as it will be: no longer in error
            validate(event)
    stored.entered_in_error = True
    return _set_mark(stored, False, reason, acting_user, "restored")


def _set_mark(stored: Correctable, mark: bool, reason: str, acting_user, action: str):
    old = {"entered_in_error": stored.entered_in_error, "reason": stored.entered_in_error_reason}
    stored.entered_in_error = mark
    stored.entered_in_error_reason = reason if mark else ""
    stored.version += 1
    # save() sends post_save, which tells the audit's summaries that the record changed.
    stored.save(update_fields=["entered_in_error", "entered_in_error_reason", "version"])
    record_audit(
        acting_user,
        action,
        stored,
        stored.patient,
        {
            "entered_in_error": {"old": old["entered_in_error"], "new": mark},
            "reason": reason,
        },
    )
    return stored


@transaction.atomic
def record_patient_status(
    patient: Patient,
    *,
    acting_user,
    status: str,
    status_date=None,
    death_related: str = "",
    notes: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Patient:
    """Record that a patient died, withdrew or was lost to follow-up (or, with a reason, that a
    status was recorded in error and the patient is in follow-up again).

    Follow-ups whose window had not closed by that date are closed, not overdue (derived, so
    undoing the status reopens them); the audit counts them as docs/audit.md says.
    """
    if status == c.PatientStatus.ALIVE and patient.status != c.PatientStatus.ALIVE:
        reason = required_reason(reason, "returning the patient to follow-up")
    if status == c.PatientStatus.ALIVE:
        status_date, death_related = None, ""
    if status_date is not None:
        last = (
            patient.procedures.live()
            .filter(procedure_date__gt=status_date)
            .order_by("-procedure_date")
            .first()
        )
        if last is not None:
            raise ValidationError(
                {
                    "status_date": f"The procedure of {last.procedure_date:%d %B %Y} is after this date."
                }
            )
        if status == c.PatientStatus.DIED:
            # Nothing is done after a death; after a withdrawal or a loss an assessment may
            # still come in (the patient returns, and the status is undone).
            answered = (
                Assessment.objects.live()
                # An assessment of a procedure in error left with it, as its events did.
                .filter(
                    patient=patient,
                    assessed_on__gt=status_date,
                    procedure__entered_in_error=False,
                )
                .order_by("-assessed_on")
                .first()
            )
            if answered is not None:
                raise ValidationError(
                    {
                        "status_date": f"The {answered.get_timepoint_display()} assessment of "
                        f"{answered.assessed_on:%d %B %Y} is after this date."
                    }
                )
            event = (
                patient.adverse_events.live()
                # An event of a procedure in error left with it (docs/corrections.md).
                .filter(onset_date__gt=status_date, procedure__entered_in_error=False)
                .order_by("-onset_date")
                .first()
            )
            if event is not None:
                raise ValidationError(
                    {
                        "status_date": f"The adverse event "
                        f"({event.get_event_type_display().lower()}) of "
                        f"{event.onset_date:%d %B %Y} is after this date."
                    }
                )
    return update_audited(
        patient,
        {
            "status": status,
            "status_date": status_date,
            "death_related": death_related,
            "status_notes": (notes or "").strip(),
        },
        acting_user=acting_user,
        patient=patient,
        expected_version=expected_version,
        reason=(reason or "").strip(),
    )


def record_death_from_adverse_event(event: AdverseEvent, *, acting_user) -> Patient | None:
    """A grade 5 event is a death related to it (CTCAE v5.0): record the death, dated by the
    event's onset, unless one is recorded already. Returns the patient if it recorded one."""
    patient = event.patient
    if event.severity != c.Severity.GRADE_5 or patient.status == c.PatientStatus.DIED:
        return None
    return record_patient_status(
        patient,
        acting_user=acting_user,
        status=c.PatientStatus.DIED,
        status_date=min(event.onset_date, timezone.localdate()),
        death_related=c.DeathRelated.YES,
        notes=f"Recorded from a grade 5 adverse event ({event.get_event_type_display()}).",
    )


@transaction.atomic
def record_not_done(
    assessment: Assessment,
    *,
    reason: str,
    acting_user,
    reopen: bool = False,
    expected_version: int | None = None,
) -> Assessment:
    """Close a time point that could not be done, with the reason; or reopen a closed one
    (``reopen``, the reason for reopening kept in the audit entry)."""
    reason = required_reason(reason, "reopening it" if reopen else "closing it")
    if assessment.is_done:
        raise ValidationError(
            "This assessment is recorded: correct it, or mark it entered in error, instead."
        )
    if reopen and not assessment.not_done_reason:
        raise ValidationError("This assessment is not closed.")
    return update_audited(
        assessment,
        {"not_done_reason": "" if reopen else reason},
        acting_user=acting_user,
        patient=assessment.patient,
        expected_version=expected_version,
        reason=reason if reopen else "",
    )


CORRECTABLE_MODELS = {
    model._meta.model_name: model
    for model in (Lesion, MdtDecisionRecord, Consent, Procedure, Assessment, AdverseEvent)
}
