"""`send_reminders`: open invitations as windows open, take each invitation's next step of
escalation when it falls due (``clinical.escalation``), deliver what is pending, and stop as
soon as the questionnaire is done, the window closes, or the patient died, withdrew or asked
not to be contacted.

Idempotent and safe to run every few minutes, even twice at once:
- each automatic step is one ``Message`` row per invitation (a unique constraint), created
  before anything is sent;
- a message is claimed (pending -> sending) by one conditional UPDATE, so two senders never
  both send it;
- it is marked sent only after the channel took it; a refusal or a dropped connection marks it
  failed, to be retried later with a growing pause, and after ``MAX_ATTEMPTS`` it is given up
  (the case then reaches the call-and-letter list at its time);
- a sender killed mid-send leaves a claim that is released after ``STALE_CLAIM``. That one
  message may then go twice: at least once, never silently lost.
One message a day at most per invitation, so a sender that did not run for a week does not
send an invitation and two reminders at once; and only in the site's sending hours
(``THERMABLATE_SEND_HOURS``, 9:00 to 20:00 by default), so no phone buzzes at midnight. A
message one of our own errors stops (a broken template) is marked failed with the error's
name and the sender goes on with the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import select_template
from django.utils import timezone

from thermablate.clinical import escalation
from thermablate.proms import actions, channels, links
from thermablate.proms.models import (
    Channel,
    ContactDetails,
    Invitation,
    Message,
    MessageKind,
    MessageStatus,
)
from thermablate.registry import choices as c
from thermablate.registry.models import Assessment

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_PAUSE = timedelta(minutes=10)  # doubled after each failed attempt
STALE_CLAIM = timedelta(minutes=15)

SUBJECTS = {
    MessageKind.INVITATION: "Your follow-up questionnaire",
    MessageKind.REMINDER: "Reminder: your follow-up questionnaire",
}


@dataclass
class Summary:
    invited: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    stopped: int = 0
    call_list: int = 0

    def __str__(self) -> str:
        return (
            f"{self.invited} invitations opened, {self.sent} messages sent, {self.failed} "
            f"failed (to retry), {self.skipped} steps with no channel, {self.stopped} stopped, "
            f"{self.call_list} added to the call-and-letter list"
        )


def run(today: date | None = None, now: datetime | None = None) -> Summary:
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    summary = Summary()
    _release_stale_claims()
    _open_invitations(today, summary)
    if not in_sending_hours(now):
        return summary  # invitations wait, opened, for the morning
    for invitation in Invitation.objects.filter(completed_at=None, stopped_at=None).select_related(
        "assessment__patient", "assessment__procedure"
    ):
        reason = actions.stop_reason_for(invitation, today)
        if reason is not None:
            actions.stop(invitation, reason)
            summary.stopped += 1
            continue
        _take_next_step(invitation, today, summary)
    _deliver(summary)
    return summary


def in_sending_hours(now: datetime) -> bool:
    first, last = settings.THERMABLATE_SEND_HOURS
    return first <= timezone.localtime(now).hour < last


def _release_stale_claims() -> None:
    Message.objects.filter(
        status=MessageStatus.SENDING, claimed_at__lt=timezone.now() - STALE_CLAIM
    ).update(
        status=MessageStatus.FAILED,
        detail="The sender stopped while sending; it will be tried again.",
    )


def _open_invitations(today: date, summary: Summary) -> None:
    due = (
        Assessment.objects.awaiting()
        .filter(window_opens__lte=today, window_closes__gte=today, invitation__isnull=True)
        .exclude(timepoint=c.Timepoint.BASELINE)
        .select_related("patient", "procedure")
    )
    for assessment in due:
        if actions.contact_refusal(assessment.patient):
            continue
        actions.open_invitation(assessment)
        summary.invited += 1


def _contact(invitation: Invitation) -> ContactDetails:
    return ContactDetails.objects.filter(patient=invitation.assessment.patient).first() or (
        ContactDetails(patient=invitation.assessment.patient)
    )


def channel_for(step: escalation.Step, contact: ContactDetails) -> tuple[str, str]:
    """(channel, "") for the step, or ("", why it cannot be sent)."""
    email_problem = channels.email_unavailable() or (
        "" if contact.email else "No e-mail address is recorded."
    )
    sms_problem = channels.sms_unavailable() or (
        "" if contact.mobile else "No mobile number is recorded."
    )
    if step == escalation.Step.INVITATION:
        if not email_problem:
            return Channel.EMAIL, ""
        if not sms_problem:
            return Channel.SMS, ""
        return "", f"{email_problem} {sms_problem}"
    if step == escalation.Step.REMINDER:
        return (Channel.EMAIL, "") if not email_problem else ("", email_problem)
    return (Channel.SMS, "") if not sms_problem else ("", sms_problem)


def _take_next_step(invitation: Invitation, today: date, summary: Summary) -> None:
    messages = [m for m in invitation.messages.all() if m.kind != MessageKind.LETTER]
    if any(
        m.status in (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED)
        for m in messages
    ):
        return  # still delivering the last step
    if any(m.sent_at and timezone.localdate(m.sent_at) == today for m in messages):
        return  # one message a day
    taken = {m.kind for m in messages}
    assessment = invitation.assessment
    contact = _contact(invitation)
    for step in escalation.steps_due(assessment.window_opens, assessment.window_closes, today):
        if step == escalation.Step.CALL_LIST:
            _to_call_list(invitation, summary)
            return
        if step.value in taken:
            continue
        channel, problem = channel_for(step, contact)
        with transaction.atomic():
            _, created = Message.objects.get_or_create(
                invitation=invitation,
                kind=step.value,
                defaults={
                    "channel": channel or Channel.EMAIL,
                    "status": MessageStatus.PENDING if channel else MessageStatus.SKIPPED,
                    "detail": problem,
                },
            )
        if channel:
            return  # delivered below; the next step waits for another day
        if created:
            summary.skipped += 1
        if step == escalation.Step.INVITATION:
            # No way to reach the patient at all: staff call or write from today.
            _to_call_list(invitation, summary)
            return


def _to_call_list(invitation: Invitation, summary: Summary) -> None:
    if Invitation.objects.filter(pk=invitation.pk, call_list_since=None).update(
        call_list_since=timezone.now()
    ):
        summary.call_list += 1


def _deliver(summary: Summary) -> None:
    now = timezone.now()
    candidates = Message.objects.filter(
        status__in=[MessageStatus.PENDING, MessageStatus.FAILED],
        invitation__completed_at=None,
        invitation__stopped_at=None,
    ).select_related("invitation__assessment__patient__site")
    if candidates.exists():
        links.public_url("check")  # no address to link to: stop before claiming anything
    for message in candidates:
        if message.status == MessageStatus.FAILED and message.claimed_at:
            pause = RETRY_PAUSE * (2 ** max(message.attempts - 1, 0))
            if message.claimed_at + pause > now:
                continue
        claimed = Message.objects.filter(
            pk=message.pk, status=message.status, attempts=message.attempts
        ).update(status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if not claimed:
            continue  # another sender took it
        message.refresh_from_db()
        _deliver_one(message, summary)


def _deliver_one(message: Message, summary: Summary) -> None:
    invitation = message.invitation
    contact = _contact(invitation)
    # A link per message, kept even if delivery fails: a server that hung up after taking
    # the message may still deliver it, and the link must then work.
    url = links.public_url(links.new_link(invitation))
    context = _content_context(invitation, url)
    reference = ""
    try:
        if message.channel == Channel.EMAIL:
            kind = _email_kind(message)
            body = select_template(_template_names(invitation, f"{kind}_email.txt"))
            channels.send_email(contact.email, SUBJECTS[kind], body.render(context))
        else:
            reference = channels.send_sms(
                contact.mobile,
                {key: context[key] for key in ("link", "timepoint", "closes", "service")},
                reference=f"invitation-{invitation.pk}-{message.kind}",
            )
    except channels.DeliveryError as exc:
        _failed(message, exc.detail, give_up=exc.permanent)
        summary.failed += 1
        return
    except Exception as exc:  # ours, not the channel's: this message fails, the others go on
        logger.exception("Message %s not sent", message.pk)
        _failed(message, f"Not sent: an error in Thermablate ({type(exc).__name__}); see the log.")
        summary.failed += 1
        return
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=timezone.now(), detail="", provider_reference=reference
    )
    summary.sent += 1


def _failed(message: Message, detail: str, give_up: bool = False) -> None:
    gave_up = give_up or message.attempts >= MAX_ATTEMPTS
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.GAVE_UP if gave_up else MessageStatus.FAILED, detail=detail[:300]
    )


def _email_kind(message: Message) -> str:
    """The reminder's wording says "we sent you some questions": only true if we did. A
    patient whose first e-mail is the reminder (no address at first, or the invitation
    failed) gets the invitation's wording."""
    if message.kind == MessageKind.INVITATION:
        return MessageKind.INVITATION
    sent_before = message.invitation.messages.filter(status=MessageStatus.SENT).exists()
    return message.kind if sent_before else MessageKind.INVITATION


def _template_names(invitation: Invitation, name: str) -> list[str]:
    """A site's own wording first (``proms/messages/<site code>/``), then ours."""
    site = invitation.assessment.patient.site
    return [f"proms/messages/{site.code}/{name}", f"proms/messages/{name}"]


def _content_context(invitation: Invitation, url: str) -> dict:
    assessment = invitation.assessment
    return {
        "link": url,
        "timepoint": assessment.get_timepoint_display().lower(),
        "closes": f"{assessment.window_closes:%-d %B %Y}",
        "service": assessment.patient.site.name,
    }
