"""The demo shows the questionnaires at work: contact details, invitations and their messages,
patients who answered and patients still to chase."""

from django.core.management import call_command
from django.utils import timezone

from thermablate.proms.figures import completeness
from thermablate.proms.models import ContactDetails, Invitation, Message
from thermablate.registry.models import Assessment


def test_the_demo_has_patient_reported_follow_ups_and_the_messages_that_asked_for_them(db):
    call_command("demo", patients=12, seed=3, verbosity=0)
    call_command("demo_proms")
    assert ContactDetails.objects.exists()
    figures = completeness(Assessment.objects.all(), timezone.localdate())
    assert sum(row.invited for row in figures.timepoints) > 0
    assert sum(row.by_patient for row in figures.timepoints) > 0
    assert sum(row.by_staff for row in figures.timepoints) > 0
    # Every patient-reported follow-up was asked for by a message sent before it was answered.
    for invitation in Invitation.objects.filter(completed_at__isnull=False):
        first = invitation.messages.filter(status="sent").order_by("sent_at").first()
        assert first is not None and first.sent_at <= invitation.completed_at
    # Running it again adds nothing.
    before = Message.objects.count()
    call_command("demo_proms")
    assert Message.objects.count() == before
