"""Stored cross-site scripting: free text comes back escaped on every page that shows it."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import login
from thermablate.registry import actions

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'

pytestmark = pytest.mark.usefixtures("approved_site")


def test_free_text_is_escaped_on_every_page(
    client, clinician, governance, procedure, lesion, today
):
    patient = procedure.patient
    actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=today,
        lesion=lesion,
        member_roles=["spinal_surgeon", "clinical_oncologist"],
        decision="proceed",
        reasons=PAYLOAD,
    )
    actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=today,
        leaflet_title=PAYLOAD[:200],
        leaflet_version="1",
    )
    event = actions.record_adverse_event(
        patient,
        acting_user=clinician,
        procedure=procedure,
        event_type="other",
        onset_date=procedure.procedure_date + timedelta(days=1),
        severity=1,
        device_related="no",
        outcome="resolved",
        description=PAYLOAD,
    )
    month = procedure.assessments.get(timepoint="1m")
    actions.record_assessment(
        month,
        acting_user=clinician,
        analgesics=[],
        assessed_on=procedure.procedure_date + timedelta(days=30),
        notes=PAYLOAD,
    )
    pages = [
        (clinician, reverse("patient_detail", args=[patient.registry_number])),
        (clinician, reverse("procedure_detail", args=[procedure.pk])),
        (clinician, reverse("assessment_record", args=[month.pk])),
        (governance, reverse("audit_trail")),
        (clinician, reverse("yellow_card_draft", args=[event.pk])),
        (governance, reverse("audit_report") + "?format=html"),
    ]
    for user, url in pages:
        login(client, user)
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
    login(client, clinician)
    assert "&lt;script&gt;" in client.get(pages[0][1]).content.decode()


def test_sql_metacharacters_in_search_do_nothing(client, clinician, patient):
    login(client, clinician)
    for term in ["' OR '1'='1", "TB-%", "'; DROP TABLE registry_patient; --"]:
        response = client.post(reverse("patient_list"), {"q": term})
        assert response.status_code == 200
        assert patient.registry_number not in response.content.decode().split("<table")[1]
    from thermablate.registry.models import Patient

    assert Patient.objects.count() == 1


def test_an_oversized_body_is_refused(client, clinician, patient):
    login(client, clinician)
    response = client.post(
        reverse("patient_edit", args=[patient.registry_number]),
        data="x" * (3 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def test_forms_enforce_csrf(clinician, patient):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clinician)
    response = strict.post(
        reverse("patient_edit", args=[patient.registry_number]), {"year_of_birth": 1900}
    )
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.year_of_birth == 1958
