"""The Yellow Card draft: pre-filled from the registry, and the submission recorded on the event."""

from datetime import timedelta

from django.urls import reverse

from tests.factories import login
from thermablate.registry.models import AuditEvent


def draft_url(event):
    return reverse("yellow_card_draft", args=[event.pk])


def test_it_prefills_the_device_incident(client, clinician, recorded_cohort):
    login(client, clinician)
    body = client.get(draft_url(recorded_cohort["event"])).content.decode()
    for expected in (
        "Medtronic",
        "OsteoCool",
        "LOT-4471",
        "Cement leakage",
        "Small paravertebral cement leak",
        "Resolved",
    ):
        assert expected in body
    procedure_date = recorded_cohort["procedure"].procedure_date
    assert f"{procedure_date:%d %B %Y}" in body
    assert recorded_cohort["patient"].nhs_number not in body


def test_it_records_the_submitted_reference_through_the_action(
    client, clinician, recorded_cohort, today
):
    event = recorded_cohort["event"]
    login(client, clinician)
    response = client.post(
        draft_url(event),
        {
            "yellow_card_reported_on": today.isoformat(),
            "yellow_card_reference": "YC-123456",
            "version": 1,
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.yellow_card_reference == "YC-123456"
    assert event.yellow_card_reported_on == today
    entry = AuditEvent.objects.filter(model="adverseevent", action="update").latest("id")
    assert entry.actor == clinician
    assert entry.changes["yellow_card_reference"] == {"old": "", "new": "YC-123456"}
    assert "Submitted to the MHRA" in client.get(draft_url(event)).content.decode()


def test_it_refuses_a_report_dated_before_the_event(client, clinician, recorded_cohort):
    event = recorded_cohort["event"]
    login(client, clinician)
    before = event.onset_date - timedelta(days=1)
    response = client.post(
        draft_url(event),
        {
            "yellow_card_reported_on": before.isoformat(),
            "yellow_card_reference": "YC-1",
            "version": 1,
        },
    )
    assert response.status_code == 200
    assert "cannot precede the event" in response.content.decode()
    event.refresh_from_db()
    assert event.yellow_card_reference == ""


def test_it_refuses_a_future_date(client, clinician, recorded_cohort, today):
    login(client, clinician)
    response = client.post(
        draft_url(recorded_cohort["event"]),
        {
            "yellow_card_reported_on": (today + timedelta(days=2)).isoformat(),
            "yellow_card_reference": "YC-1",
            "version": 1,
        },
    )
    assert "cannot be in the future" in response.content.decode()


def test_an_analyst_may_read_the_draft_but_not_record_a_submission(
    client, analyst, recorded_cohort, today
):
    login(client, analyst)
    assert client.get(draft_url(recorded_cohort["event"])).status_code == 200
    response = client.post(
        draft_url(recorded_cohort["event"]),
        {
            "yellow_card_reported_on": today.isoformat(),
            "yellow_card_reference": "YC-9",
            "version": 1,
        },
    )
    assert response.status_code == 403


def test_another_sites_user_gets_404(client, outsider, recorded_cohort):
    login(client, outsider)
    assert client.get(draft_url(recorded_cohort["event"])).status_code == 404


def test_an_administrator_cannot_see_it(client, administrator, recorded_cohort):
    login(client, administrator)
    assert client.get(draft_url(recorded_cohort["event"])).status_code == 403
