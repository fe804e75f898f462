"""The staff's side: contact details (personal data: encrypted, audited, for the roles that
contact patients only), the withdrawal, the call-and-letter list and the printed letter."""

import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from tests.factories import login
from tests.proms.privacy import shows
from thermablate.proms import actions, sender
from thermablate.proms.models import ContactDetails, Invitation, Message
from thermablate.registry.models import AuditEvent


def _contact_url(patient):
    return reverse("proms_contact", args=[patient.registry_number])


def test_a_coordinator_records_contact_details_encrypted_and_audited_without_the_values(
    client, coordinator, patient, consented
):
    login(client, coordinator)
    response = client.post(
        _contact_url(patient),
        {
            "email": "jo@example.org",
            "mobile": "+44 7700 900 123",
            "postal_address": "1 High St\nLeeds",
        },
    )
    assert response.status_code == 302
    details = ContactDetails.objects.get(patient=patient)
    assert details.mobile == "07700900123"
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, mobile, postal_address FROM proms_contactdetails")
        stored = cursor.fetchone()
    assert not any("jo@example.org" in v or "07700" in v or "High St" in v for v in stored)
    entry = AuditEvent.objects.filter(model="contactdetails").last()
    assert entry.actor == coordinator
    assert "jo@example.org" not in str(entry.changes) and "07700" not in str(entry.changes)
    # Showing them is an access to personal data: recorded too.
    client.get(_contact_url(patient))
    shown = AuditEvent.objects.filter(model="contactdetails", action="view").last()
    assert shown.changes["shown"] == ["email", "mobile", "postal_address"]


@pytest.mark.parametrize(
    "field, value, message",
    [("mobile", "01632 960001", "UK mobile number"), ("email", "not-an-address", "valid e-mail")],
)
def test_bad_contact_details_are_refused_and_nothing_saved(
    client, coordinator, patient, field, value, message
):
    login(client, coordinator)
    response = client.post(
        _contact_url(patient), {"email": "", "mobile": "", "postal_address": "", field: value}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactDetails.objects.exists()


@pytest.mark.parametrize("role", ["analyst", "governance", "administrator"])
def test_roles_that_do_not_contact_patients_cannot_see_contact_details(
    client, request, patient, contact, role
):
    login(client, request.getfixturevalue(role))
    assert client.get(_contact_url(patient)).status_code in (403, 404)
    assert client.get(reverse("proms_call_list")).status_code == 403
    html = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    assert "patient@example.org" not in html


def test_another_site_gets_404(client, outsider, patient, contact):
    login(client, outsider)
    assert client.get(_contact_url(patient)).status_code == 404
    assert (
        client.post(
            reverse("proms_contact_withdraw", args=[patient.registry_number]), {}
        ).status_code
        == 404
    )


def test_a_withdrawal_is_recorded_from_the_page_and_stops_the_questionnaires(
    client, coordinator, patient, contact, opened_today, today
):
    actions.open_invitation(opened_today)
    login(client, coordinator)
    response = client.post(
        reverse("proms_contact_withdraw", args=[patient.registry_number]),
        {"on_day": today.day, "on_month": today.month, "on_year": today.year, "reason": "Phoned"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Invitation.objects.get().stop_reason == "contact_withdrawn"
    assert "asked not to be contacted" in client.get(_contact_url(patient)).content.decode()


def test_the_call_list_and_the_printed_letter(
    client, coordinator, patient, consented, opened_today, today, smtp_server
):
    actions.save_contact_details(
        patient, acting_user=coordinator, postal_address="1 High St\nLeeds LS1 1AA"
    )
    sender.run(today)  # no e-mail, no text: straight to the list
    login(client, coordinator)
    page = client.get(reverse("proms_call_list")).content.decode()
    assert patient.registry_number in page
    invitation = Invitation.objects.get()
    response = client.post(reverse("proms_letter", args=[invitation.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Leeds LS1 1AA" in text
    assert "https://followup.example.nhs.uk/q/" in text.replace("\n", "")
    assert not shows(text, patient.nhs_number) and not shows(text, patient.registry_number)
    letter = Message.objects.get(kind="letter")
    assert letter.sent_by == coordinator and letter.status == "sent"
    assert invitation.links.count() == 1
    # The procedure page shows the messages, never their content.
    html = client.get(
        reverse("procedure_detail", args=[opened_today.procedure.pk])
    ).content.decode()
    assert "Printed letter (letter): sent" in html


def test_the_letter_is_refused_once_the_questionnaire_is_closed(
    client, coordinator, patient, contact, opened_today, today
):
    invitation = actions.open_invitation(opened_today)
    actions.stop(invitation, actions.StopReason.WINDOW_CLOSED)
    login(client, coordinator)
    response = client.post(reverse("proms_letter", args=[invitation.pk]))
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_the_procedure_page_says_when_the_patient_did_not_agree_to_be_contacted(
    client, clinician, procedure
):
    login(client, clinician)
    html = client.get(reverse("procedure_detail", args=[procedure.pk])).content.decode()
    assert "does not record their agreement to be contacted" in html


def test_the_window_end_is_the_last_day_midnight(opened_today):
    end = actions.window_end(opened_today)
    assert end.date() == opened_today.window_closes + timedelta(days=1)


@pytest.mark.parametrize("export_format", ["csv", "fhir"])
@pytest.mark.parametrize("pseudonymised", [True, False])
def test_contact_details_never_leave_in_an_export(
    tmp_path, contact, opened_today, export_format, pseudonymised
):
    """Registers and analysts get what the audit needs; how to reach a patient is not that,
    even in an identifiable export."""
    from thermablate.audit.exports.run import export

    out = tmp_path / "export"
    export(export_format=export_format, out=out, pseudonymised=pseudonymised)
    text = out.read_text(encoding="utf-8")
    assert opened_today.patient.registry_number in text or pseudonymised
    for value in ("patient@example.org", "07700900123", "07700 900123"):
        assert value not in text
