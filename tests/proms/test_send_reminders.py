"""`send_reminders` against a real local SMTP server: the whole escalation, idempotence, and a
server that refuses or is gone."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command

from tests.proms.privacy import shows
from thermablate.proms import actions, channels, sender
from thermablate.proms.models import Invitation, Message, MessageStatus, StopReason
from thermablate.registry import actions as registry_actions

LINK = re.compile(r"https://followup\.example\.nhs\.uk/q/([\w-]+)/")


def _kinds(invitation):
    return [(m.kind, m.channel, m.status) for m in invitation.messages.order_by("id")]


def test_it_invites_when_the_window_opens_and_sends_nothing_twice(
    smtp_server, contact, opened_today, today
):
    call_command("send_reminders")
    call_command("send_reminders")
    sender.run(today)

    assert len(smtp_server.messages) == 1
    invitation = Invitation.objects.get(assessment=opened_today)
    assert _kinds(invitation) == [("invitation", "email", "sent")]
    email = smtp_server.messages[0]
    assert email["To"] == "patient@example.org"
    body = smtp_server.bodies()[0]
    # A link, the closing date, and nothing that identifies the patient or the treatment.
    assert LINK.search(body)
    assert f"{opened_today.window_closes:%-d %B %Y}" in body
    patient = opened_today.patient
    for secret in (
        patient.nhs_number,
        patient.registry_number,
        str(patient.year_of_birth),
        "L2",
        "ablation",
    ):
        assert not shows(body, secret)
        assert not shows(email["Subject"], secret)


def test_it_escalates_reminder_then_text_then_call_list(smtp_server, contact, opened_today, today):
    opens, closes = opened_today.window_opens, opened_today.window_closes
    assert (opens, closes) == (today, today + timedelta(days=21))
    sender.run(today)
    # 30 % of 21 days: the reminder is due on day 7, not before.
    sender.run(today + timedelta(days=6))
    assert len(smtp_server.messages) == 1
    sender.run(today + timedelta(days=7))
    sender.run(today + timedelta(days=7))
    assert len(smtp_server.messages) == 2
    assert "We have not had your answers yet" in smtp_server.bodies()[1]
    # Half way: a text message, but Notify is not set up here, so the step is logged as not
    # sent, with the reason staff can act on.
    sender.run(today + timedelta(days=11))
    invitation = Invitation.objects.get(assessment=opened_today)
    text = invitation.messages.get(kind="text")
    assert text.status == MessageStatus.SKIPPED
    assert "NOTIFY_API_KEY" in text.detail
    assert invitation.call_list_since is None
    sender.run(today + timedelta(days=14))
    invitation.refresh_from_db()
    assert invitation.call_list_since is not None
    assert len(smtp_server.messages) == 2
    # Two e-mails, each with its own link, both opening the same questionnaire.
    tokens = [LINK.search(body).group(1) for body in smtp_server.bodies()]
    assert len(set(tokens)) == 2
    assert invitation.links.count() == 2


def test_it_stops_when_the_questionnaire_is_recorded_by_staff(
    smtp_server, contact, opened_today, today, coordinator
):
    sender.run(today)
    registry_actions.record_assessment(
        opened_today, acting_user=coordinator, analgesics=[], assessed_on=today, pain_worst=3,
        pain_average=2, no_analgesics=True,
    )  # fmt: skip
    sender.run(today + timedelta(days=7))
    invitation = Invitation.objects.get(assessment=opened_today)
    assert invitation.stop_reason == StopReason.STAFF_RECORDED
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("status", ["died", "withdrew_follow_up"])
def test_it_stops_when_the_patient_died_or_withdrew(
    smtp_server, contact, opened_today, today, clinician, status
):
    sender.run(today)
    registry_actions.record_patient_status(
        opened_today.patient, acting_user=clinician, status=status, status_date=today,
        **({"death_related": "no"} if status == "died" else {}),
    )  # fmt: skip
    sender.run(today + timedelta(days=7))
    invitation = Invitation.objects.get(assessment=opened_today)
    assert invitation.stop_reason == StopReason.FOLLOW_UP_ENDED
    assert len(smtp_server.messages) == 1


def test_no_invitation_without_agreement_to_be_contacted_or_after_withdrawal(
    smtp_server, patient, coordinator, opened_today, today, clinician
):
    actions.save_contact_details(patient, acting_user=coordinator, email="patient@example.org")
    sender.run(today)  # no consent to be contacted recorded
    assert not Invitation.objects.exists()
    registry_actions.record_consent(
        patient, acting_user=clinician, consent_date=today, leaflet_title="Leaflet",
        leaflet_version="1", contact_for_follow_up=True,
    )  # fmt: skip
    actions.withdraw_contact(patient, acting_user=coordinator, on=today, reason="Phoned the unit")
    sender.run(today)
    assert not Invitation.objects.exists()
    assert smtp_server.messages == []


def test_a_withdrawal_stops_an_invitation_already_sent(
    smtp_server, contact, opened_today, today, coordinator
):
    sender.run(today)
    actions.withdraw_contact(
        opened_today.patient, acting_user=coordinator, on=today, reason="Letter"
    )
    sender.run(today + timedelta(days=7))
    assert Invitation.objects.get().stop_reason == StopReason.CONTACT_WITHDRAWN
    assert len(smtp_server.messages) == 1


def test_a_refusing_server_marks_nothing_sent_and_the_message_is_retried(
    smtp_server, contact, opened_today, today
):
    smtp_server.refuse = True
    sender.run(today)
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.sent_at is None
    assert "did not take the message" in message.detail
    # Not retried at once (a pause that grows), then delivered once the server takes it.
    smtp_server.refuse = False
    sender.run(today)
    assert Message.objects.get().status == MessageStatus.FAILED
    Message.objects.update(claimed_at=message.claimed_at - sender.RETRY_PAUSE)
    sender.run(today)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert len(smtp_server.messages) == 1


def test_a_server_that_is_gone_fails_cleanly_and_gives_up_after_the_last_attempt(
    smtp_server, contact, opened_today, today, settings
):
    from tests.smtp_server import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there: the connection is refused
    for _ in range(sender.MAX_ATTEMPTS):
        Message.objects.update(claimed_at=None)
        sender.run(today)
    message = Message.objects.get()
    assert message.status == MessageStatus.GAVE_UP
    assert message.attempts == sender.MAX_ATTEMPTS
    assert "ConnectionRefusedError" in message.detail


def test_no_email_and_no_text_puts_the_case_on_the_call_list_at_once(
    smtp_server, patient, coordinator, consented, opened_today, today
):
    actions.save_contact_details(patient, acting_user=coordinator, postal_address="1 High St")
    sender.run(today)
    invitation = Invitation.objects.get()
    assert invitation.call_list_since is not None
    assert _kinds(invitation) == [("invitation", "email", "skipped")]


def test_without_a_public_address_nothing_is_sent_and_the_command_says_why(
    smtp_server, contact, opened_today, settings
):
    from django.core.management.base import CommandError

    settings.THERMABLATE_PUBLIC_URL = ""
    with pytest.raises(CommandError, match="THERMABLATE_PUBLIC_URL"):
        call_command("send_reminders")
    message = Message.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 0)
    assert not smtp_server.messages


def test_a_site_writes_its_own_email(smtp_server, contact, opened_today, today, settings, tmp_path):
    site_code = opened_today.patient.site.code
    folder = tmp_path / "proms" / "messages" / site_code
    folder.mkdir(parents=True)
    (folder / "invitation_email.txt").write_text("Our own words. {{ link }} until {{ closes }}")
    templates = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    settings.TEMPLATES = templates
    sender.run(today)
    body = smtp_server.bodies()[0]
    assert body.startswith("Our own words. https://followup.example.nhs.uk/q/")


def test_the_background_worker_sends_them_when_a_channel_is_set_up(
    smtp_server, contact, opened_today, settings
):
    import io

    from thermablate.web.management.commands import worker

    out = io.StringIO()
    worker._send_reminders(out)
    assert "1 messages sent" in out.getvalue()
    assert len(smtp_server.messages) == 1
    settings.EMAIL_HOST = ""  # nothing to send with: still run, for the call-and-letter list
    out = io.StringIO()
    worker._send_reminders(out)
    assert "0 messages sent" in out.getvalue()


def test_a_server_that_hangs_up_mid_send_marks_nothing_sent(
    smtp_server, contact, opened_today, today
):
    smtp_server.drop = True
    sender.run(today)
    message = Message.objects.get()
    assert (message.status, message.sent_at) == (MessageStatus.FAILED, None)
    assert "SMTPServerDisconnected" in message.detail or "did not take" in message.detail
    assert smtp_server.messages == []


def test_the_console_backend_prints_the_emails_for_a_demo(
    contact, opened_today, today, settings, capsys
):
    settings.EMAIL_HOST = ""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.THERMABLATE_PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DEBUG = False  # a live site: printing is not sending
    assert channels.email_unavailable()
    settings.DEBUG = True  # `make run`'s demo
    sender.run(today)
    assert "http://127.0.0.1:8000/q/" in capsys.readouterr().out
    assert Message.objects.get().status == MessageStatus.SENT


def test_nothing_goes_out_at_night(smtp_server, contact, opened_today, today, settings):
    from datetime import datetime, time

    from django.utils import timezone

    settings.THERMABLATE_SEND_HOURS = (9, 20)
    night = timezone.make_aware(datetime.combine(today, time(0, 5)))
    sender.run(today, now=night)
    assert Invitation.objects.exists()  # opened, waiting for the morning
    assert not Message.objects.exists() and not smtp_server.messages
    sender.run(today, now=night.replace(hour=9))
    assert len(smtp_server.messages) == 1


def test_a_broken_template_fails_its_message_and_the_others_still_go(
    smtp_server, contact, opened_today, today, settings, tmp_path, patient, clinician, coordinator
):
    """One of our own errors must not stop every message at every site."""
    from decimal import Decimal

    from tests.factories import VALID_NHS_NUMBERS, make_user, procedure_fields
    from thermablate.registry.models import Site

    other_site = Site.objects.create(code="OTH", name="Other Hospital")
    folder = tmp_path / "proms" / "messages" / opened_today.patient.site.code
    folder.mkdir(parents=True)
    (folder / "invitation_email.txt").write_text("{% if %}broken")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    clinician = make_user(other_site, "clinician", "other-clinician")
    second = registry_actions.create_patient(
        site=other_site, acting_user=clinician, nhs_number=VALID_NHS_NUMBERS[1],
        year_of_birth=1950, sex="male",
    )  # fmt: skip
    registry_actions.record_consent(
        second, acting_user=clinician, consent_date=today, leaflet_title="Leaflet",
        leaflet_version="1", contact_for_follow_up=True,
    )  # fmt: skip
    actions.save_contact_details(second, acting_user=coordinator, email="second@example.org")
    lesion = registry_actions.add_lesion(
        second, acting_user=clinician, spinal_levels="L3", diagnosis="spinal_metastasis",
        primary_tumour="breast", lesion_type="lytic", size_mm=Decimal("20"),
        posterior_wall_intact=True, distance_to_neural_mm=Decimal("6"), pain_at_site=7,
    )  # fmt: skip
    registry_actions.record_procedure(
        second, acting_user=clinician, operators=[clinician],
        cycles=[{"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}],
        **procedure_fields(lesion, procedure_date=today - timedelta(days=21), levels_treated="L3"),
    )  # fmt: skip
    summary = sender.run(today)
    broken = Message.objects.get(invitation__assessment=opened_today)
    assert broken.status == MessageStatus.FAILED
    assert "TemplateSyntaxError" in broken.detail
    assert [m["To"] for m in smtp_server.messages] == ["second@example.org"]
    assert (summary.sent, summary.failed) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_message_once(smtp_server, contact, opened_today, today):
    import threading

    from django.db import connection

    errors = []

    def send():
        try:
            sender.run(today)
        except Exception as exc:  # collected: a thread's exception would be lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(smtp_server.messages) == 1
    assert Message.objects.get().status == MessageStatus.SENT


def test_a_first_email_that_is_the_reminder_reads_as_an_invitation(
    smtp_server, patient, coordinator, consented, opened_today, today
):
    """No address on the opening day; one added later: the patient was never sent anything, so
    "we sent you some questions" would be untrue."""
    actions.save_contact_details(patient, acting_user=coordinator, postal_address="1 High St")
    sender.run(today)
    actions.save_contact_details(
        patient, acting_user=coordinator, email="patient@example.org",
        expected_version=None,
    )  # fmt: skip
    sender.run(today + timedelta(days=7))
    (body,) = smtp_server.bodies()
    assert "would like to know how you have been" in body
    assert "We have not had your answers yet" not in body
