"""The writers of patient-reported outcomes: contact details and their withdrawal, invitations,
the patient's saved and submitted answers, and a printed letter.

As in the registry, each validates, saves and writes its audit entry in one transaction. The
patient's submission is recorded through the registry's own writer of assessments, marked
``reported_by = patient``, with no acting user (the audit entry says it came from the link).
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from thermablate.proms import questionnaire
from thermablate.proms.models import (
    ContactDetails,
    Invitation,
    Message,
    MessageKind,
    MessageStatus,
    StopReason,
)
from thermablate.registry import actions as registry_actions
from thermablate.registry import choices as c
from thermablate.registry.actions.base import create_audited, record_audit, update_audited
from thermablate.registry.models import Assessment, Patient

CONTACT_FIELDS = ("email", "mobile", "postal_address")


# --- Contact details and consent to be contacted -------------------------------------------


def save_contact_details(
    patient: Patient, *, acting_user, expected_version: int | None = None, **fields
) -> ContactDetails:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"Not contact details: {sorted(unknown)}")
    with transaction.atomic():
        existing = ContactDetails.objects.filter(patient=patient).first()
        if existing is None:
            return create_audited(
                ContactDetails(patient=patient, **fields), acting_user=acting_user, patient=patient
            )
        return update_audited(
            existing,
            fields,
            acting_user=acting_user,
            patient=patient,
            expected_version=expected_version,
        )


def withdraw_contact(patient: Patient, *, acting_user, on: date, reason: str) -> ContactDetails:
    """The patient asked not to be contacted: every open invitation stops now."""
    if on > timezone.localdate():
        raise ValidationError({"contact_withdrawn_on": "The date cannot be in the future."})
    if not reason.strip():
        raise ValidationError({"contact_withdrawn_reason": "Say how the patient asked."})
    with transaction.atomic():
        details = ContactDetails.objects.filter(patient=patient).first() or save_contact_details(
            patient, acting_user=acting_user
        )
        update_audited(
            details,
            {"contact_withdrawn_on": on, "contact_withdrawn_reason": reason.strip()},
            acting_user=acting_user,
            patient=patient,
        )
        for invitation in Invitation.objects.filter(
            assessment__patient=patient, completed_at=None, stopped_at=None
        ):
            stop(invitation, StopReason.CONTACT_WITHDRAWN)
        return details


def contact_refusal(patient: Patient) -> str:
    """Why the patient may not be contacted for follow-up, or "" when they may.

    They may once their latest consent records their agreement, unless they withdrew it on
    or after that consent's date."""
    consent = patient.consents.live().order_by("-consent_date", "-id").first()
    if consent is None or not consent.contact_for_follow_up:
        return "The patient's consent does not record their agreement to be contacted."
    details = ContactDetails.objects.filter(patient=patient).first()
    if (
        details
        and details.contact_withdrawn_on
        and details.contact_withdrawn_on >= consent.consent_date
    ):
        return f"The patient asked not to be contacted on {details.contact_withdrawn_on:%d %b %Y}."
    return ""


# --- Invitations ----------------------------------------------------------------------------


def window_end(assessment: Assessment) -> datetime:
    """The end of the window's last day, local time: when the invitation's links expire."""
    day_after = assessment.window_closes.toordinal() + 1
    return timezone.make_aware(datetime.combine(date.fromordinal(day_after), time.min))


def open_invitation(assessment: Assessment) -> Invitation:
    invitation, _ = Invitation.objects.get_or_create(
        assessment=assessment, defaults={"expires_at": window_end(assessment)}
    )
    return invitation


def stop(invitation: Invitation, reason: StopReason) -> None:
    """No more messages or answers for this invitation; messages not yet sent are cancelled.

    The answers saved page by page are cleared: once recorded (or never to be), a second copy
    of them has no use. Only painkillers the patient wrote in are kept, for staff to resolve."""
    now = timezone.now()
    fields = {"stopped_at": now, "stop_reason": reason}
    if reason == StopReason.COMPLETED:
        fields = {"completed_at": now, "stop_reason": reason}
    other = invitation.other_medicines if reason == StopReason.COMPLETED else ""
    fields["draft"] = {questionnaire.OTHER_MEDICINES: other} if other else {}
    Invitation.objects.filter(pk=invitation.pk, completed_at=None, stopped_at=None).update(**fields)
    Message.objects.filter(
        invitation=invitation, status__in=[MessageStatus.PENDING, MessageStatus.FAILED]
    ).update(status=MessageStatus.CANCELLED, detail=f"Stopped: {reason.label.lower()}")


def stop_reason_for(invitation: Invitation, today: date) -> StopReason | None:
    """Why an open invitation should stop now, or None while it should go on."""
    assessment = invitation.assessment
    if assessment.is_done:
        return StopReason.STAFF_RECORDED
    if assessment.not_done_reason:
        return StopReason.NOT_DONE
    if assessment.procedure.entered_in_error:
        return StopReason.RECORD_IN_ERROR
    if assessment.patient.follow_up_ended_on is not None:
        return StopReason.FOLLOW_UP_ENDED
    if today > assessment.window_closes:
        return StopReason.WINDOW_CLOSED
    if contact_refusal(assessment.patient):
        return StopReason.CONTACT_WITHDRAWN
    return None


# --- The patient's answers ------------------------------------------------------------------


def save_answers(invitation: Invitation, answers: dict) -> None:
    """Keep a page's answers in the draft (already validated by the page's form)."""
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not current.is_open:
            raise ValidationError("This questionnaire is closed.")
        current.draft = {**current.draft, **answers}
        current.save(update_fields=["draft"])
        invitation.draft = current.draft


class ClosedError(ValidationError):
    """The questionnaire can no longer be sent (and the invitation is now stopped)."""


def submit(invitation: Invitation, *, client_address: str = "") -> Assessment:
    """Record the patient's answers as the assessment, through the registry's writer, with an
    audit entry saying they came from this invitation's link (there is no acting user).

    Refused, changing nothing, when the questionnaire is incomplete or contradicts itself;
    refused, and the invitation stopped, when the window has closed, the patient's follow-up
    ended, they withdrew, or staff recorded the time point meanwhile."""
    today = timezone.localdate()
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not current.is_open:
            raise ClosedError("This questionnaire is closed.")
        reason = stop_reason_for(current, today)
        if reason is None:
            return _record_answers(current, today, client_address)
    # Outside the transaction, so the stop stays though the submission is refused.
    stop(current, reason)
    raise ClosedError(
        "This questionnaire can no longer be sent: "
        + (
            "your hospital has already recorded this follow-up."
            if reason == StopReason.STAFF_RECORDED
            else "it has closed."
        )
    )


def _record_answers(invitation: Invitation, today: date, client_address: str) -> Assessment:
    assessment = invitation.assessment
    problems = questionnaire.submission_problems(assessment, invitation.draft)
    if problems:
        raise ValidationError(problems)
    fields, analgesics = questionnaire.assessment_values(invitation.draft)
    registry_actions.record_assessment(
        assessment,
        acting_user=None,
        analgesics=analgesics,
        reported_by=c.ReportedBy.PATIENT,
        assessed_on=today,
        **fields,
    )
    versions = questionnaire.versions_used(assessment)
    record_audit(
        None,
        "submit",
        assessment,
        assessment.patient,
        {
            "via": "patient questionnaire link",
            "invitation": invitation.pk,
            "client_address": client_address,
            "wording": versions,
        },
    )
    Invitation.objects.filter(pk=invitation.pk).update(wording=versions)
    stop(invitation, StopReason.COMPLETED)
    return assessment


def unlock(invitation: Invitation, *, acting_user) -> None:
    """Staff, having spoken to the patient, unlock links locked by wrong years of birth."""
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        record_audit(
            acting_user,
            "update",
            current,
            current.assessment.patient,
            {"failed_checks": {"old": current.failed_checks, "new": 0}, "reason": "unlocked"},
        )
        Invitation.objects.filter(pk=current.pk).update(failed_checks=0, locked_until=None)


# --- Letters --------------------------------------------------------------------------------


@transaction.atomic
def record_letter(invitation: Invitation, *, acting_user) -> Message:
    """A printed letter, logged like any other message (who printed it, when)."""
    now = timezone.now()
    message = Message.objects.create(
        invitation=invitation,
        kind=MessageKind.LETTER,
        channel="letter",
        status=MessageStatus.SENT,
        sent_at=now,
        attempts=1,
        sent_by=acting_user,
    )
    record_audit(
        acting_user,
        "create",
        message,
        invitation.assessment.patient,
        {"new": {"kind": "letter", "invitation": invitation.pk}},
    )
    return message
