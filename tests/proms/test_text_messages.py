"""Text messages through GOV.UK Notify's official client, against a local server that answers
as Notify does (tests/proms/notify_server.py)."""

import uuid
from datetime import timedelta

import pytest

from tests.proms.notify_server import API_KEY, NotifyServer
from thermablate.proms import actions, sender
from thermablate.proms.models import Message, MessageStatus

TEMPLATE_ID = str(uuid.uuid4())


@pytest.fixture
def notify(settings):
    with NotifyServer() as server:
        settings.NOTIFY_API_KEY = API_KEY
        settings.NOTIFY_SMS_TEMPLATE_ID = TEMPLATE_ID
        settings.NOTIFY_BASE_URL = server.url
        settings.THERMABLATE_PUBLIC_URL = "https://followup.example.nhs.uk"
        yield server


def test_the_text_message_step_goes_through_notify_with_the_sites_template(
    smtp_server, notify, contact, opened_today, today
):
    for day in (0, 7, 11):
        sender.run(today + timedelta(days=day))
    assert len(smtp_server.messages) == 2
    (sms,) = notify.received
    assert sms["phone_number"] == "07700900123"
    assert sms["template_id"] == TEMPLATE_ID
    assert sms["personalisation"]["link"].startswith("https://followup.example.nhs.uk/q/")
    assert set(sms["personalisation"]) == {"link", "timepoint", "closes", "service"}
    message = Message.objects.get(kind="text")
    assert message.status == MessageStatus.SENT and message.channel == "sms"
    assert message.provider_reference  # Notify's id, to trace a delivery with them


def test_a_patient_with_only_a_mobile_is_invited_by_text(
    notify, patient, coordinator, consented, opened_today, today, settings
):
    settings.EMAIL_HOST = ""
    actions.save_contact_details(patient, acting_user=coordinator, mobile="07700900123")
    sender.run(today)
    assert len(notify.received) == 1
    assert Message.objects.get().channel == "sms"


def test_a_notify_refusal_is_logged_without_content_and_not_retried(
    notify, patient, coordinator, consented, opened_today, today, settings
):
    settings.EMAIL_HOST = ""
    actions.save_contact_details(patient, acting_user=coordinator, mobile="07700900123")
    notify.fail_with = (400, "BadRequestError")  # a number or template Notify refuses
    sender.run(today)
    message = Message.objects.get()
    assert message.status == MessageStatus.GAVE_UP
    assert "GOV.UK Notify did not take the message (HTTPError 400)" in message.detail
    assert "07700" not in message.detail


def test_a_notify_outage_is_logged_without_content_and_retried(
    notify, patient, coordinator, consented, opened_today, today, settings
):
    settings.EMAIL_HOST = ""
    actions.save_contact_details(patient, acting_user=coordinator, mobile="07700900123")
    notify.fail_with = (500, "Exception")
    sender.run(today)
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert "GOV.UK Notify did not take the message" in message.detail
    assert "07700" not in message.detail
    notify.fail_with = None
    Message.objects.update(claimed_at=message.claimed_at - sender.RETRY_PAUSE)
    sender.run(today)
    assert Message.objects.get().status == MessageStatus.SENT
    assert len(notify.received) == 1
