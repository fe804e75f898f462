"""``thermablate demo_proms``: give the demo cohort's patients who agreed to be contacted their
contact details and the history of their questionnaire invitations, so the demo shows the
questionnaires at work (``make run`` runs it after ``thermablate demo``). Never on a real
database: it writes contact details as the demo's coordinators, and writes the history of
messages directly (a demo's past cannot be sent again).

The history follows the escalation rules (``clinical.escalation``) from each window's opening
day: an invitation by e-mail, a reminder, a text message step (not set up in the demo, so
logged as not sent, with the reason), then the call-and-letter list; it ends when the
follow-up was answered (by the patient or by staff), when the window closed, or today.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from thermablate.clinical import escalation
from thermablate.proms import actions, sender
from thermablate.proms.models import (
    Channel,
    ContactDetails,
    Invitation,
    Message,
    MessageKind,
    MessageStatus,
    StopReason,
)
from thermablate.registry import choices as c
from thermablate.registry.demo import DEMO_SITES
from thermablate.registry.models import Assessment, Patient, StaffProfile


def _at(day, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


class Command(BaseCommand):
    help = "Give the demo's patients questionnaire invitations and messages (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, seed: int, **options):
        if Invitation.objects.exists():
            self.stdout.write("Questionnaire invitations exist already: none added.")
            return
        rng = random.Random(seed)
        today = timezone.localdate()
        invited = 0
        with transaction.atomic():
            # The demo's own sites only: a real patient's contact details are never touched.
            demo_sites = [code.lower() for code, _ in DEMO_SITES]
            for patient in (
                Patient.objects.filter(site__code__in=demo_sites)
                .select_related("site")
                .order_by("pk")
            ):
                if actions.contact_refusal(patient):
                    continue
                self._contact(patient, rng)
                for assessment in (
                    Assessment.objects.live()
                    .filter(
                        patient=patient, window_opens__lte=today, procedure__entered_in_error=False
                    )
                    .exclude(timepoint=c.Timepoint.BASELINE)
                    .select_related("procedure", "patient")
                ):
                    self._history(assessment, today)
                    invited += 1
        self.stdout.write(f"{invited} questionnaire invitations with their messages added.")

    def _coordinator(self, patient: Patient):
        staff = StaffProfile.objects.filter(site=patient.site, role="coordinator").first()
        return staff.user if staff else None

    def _contact(self, patient: Patient, rng: random.Random) -> None:
        number = f"{patient.pk % 1000:03d}"
        # Ofcom keeps 07700 900000-900999 for drama: numbers no one can be reached at.
        fields = {"postal_address": f"{patient.pk} Demo Street\nDemotown DE1 {number[:1]}AA"}
        if rng.random() < 0.8:
            fields["email"] = f"patient-{patient.pk}@example.invalid"
        if rng.random() < 0.7:
            fields["mobile"] = f"07700900{number}"
        actions.save_contact_details(patient, acting_user=self._coordinator(patient), **fields)

    def _history(self, assessment: Assessment, today) -> None:
        contact = ContactDetails.objects.get(patient=assessment.patient)
        ends = min(today, assessment.window_closes)
        if assessment.is_done:
            ends = min(ends, assessment.assessed_on)
        invitation = Invitation.objects.create(
            assessment=assessment,
            created_at=_at(assessment.window_opens, 8),
            expires_at=actions.window_end(assessment),
        )
        for due in escalation.schedule(assessment.window_opens, assessment.window_closes):
            if due.on > ends or (
                assessment.is_done and due.on == ends and due.step != "invitation"
            ):
                break
            if due.step == escalation.Step.CALL_LIST:
                invitation.call_list_since = _at(due.on)
                continue
            # The same channel the sender would take, for the same reason when none.
            channel, problem = sender.channel_for(due.step, contact)
            Message.objects.create(
                invitation=invitation,
                kind=due.step.value,
                channel=channel or Channel.EMAIL,
                status=MessageStatus.SKIPPED if problem else MessageStatus.SENT,
                detail=problem,
                created_at=_at(due.on),
                sent_at=None if problem else _at(due.on),
                attempts=0 if problem else 1,
            )
            if due.step == escalation.Step.INVITATION and problem:
                invitation.call_list_since = _at(due.on)  # no way to reach them: staff
        if invitation.call_list_since and invitation.call_list_since.date() <= ends:
            # On the list, staff printed a letter the same morning.
            printed = invitation.call_list_since + timedelta(hours=1)
            Message.objects.create(
                invitation=invitation,
                kind=MessageKind.LETTER,
                channel=Channel.LETTER,
                status=MessageStatus.SENT,
                created_at=printed,
                sent_at=printed,
                attempts=1,
                sent_by=self._coordinator(assessment.patient),
            )
        if assessment.is_done:
            if assessment.reported_by == c.ReportedBy.PATIENT:
                invitation.completed_at = _at(assessment.assessed_on, 19)
                invitation.stop_reason = StopReason.COMPLETED
            else:
                invitation.stopped_at = _at(assessment.assessed_on, 12)
                invitation.stop_reason = StopReason.STAFF_RECORDED
        elif assessment.is_closed:
            invitation.stopped_at = _at(ends, 12)
            invitation.stop_reason = (
                StopReason.NOT_DONE if assessment.not_done_reason else StopReason.FOLLOW_UP_ENDED
            )
        elif today > assessment.window_closes:
            invitation.stopped_at = _at(assessment.window_closes + timedelta(days=1), 0)
            invitation.stop_reason = StopReason.WINDOW_CLOSED
        invitation.save()
