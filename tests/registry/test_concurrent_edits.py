"""Two users editing the same record cannot silently overwrite each other."""

from datetime import timedelta

from django.urls import reverse

from tests.factories import login
from thermablate.registry.models import Patient


def test_the_second_save_from_an_old_page_is_refused_and_says_what_changed(
    client, clinician, coordinator, patient
):
    url = reverse("patient_edit", args=[patient.registry_number])
    # Both open the edit page at version 1.
    login(client, coordinator)
    assert 'name="version" value="1"' in client.get(url).content.decode()
    first = client.post(
        url,
        {"nhs_number": patient.nhs_number, "year_of_birth": 1957, "sex": "female", "version": 1},
    )
    assert first.status_code == 302
    login(client, clinician)
    second = client.post(
        url,
        {"nhs_number": patient.nhs_number, "year_of_birth": 1960, "sex": "female", "version": 1},
    )
    page = second.content.decode()
    assert second.status_code == 409
    assert "changed by someone else" in page and "year_of_birth" in page and "Cora" in page
    patient.refresh_from_db()
    assert patient.year_of_birth == 1957 and patient.version == 2


def test_a_save_from_the_current_version_goes_through(client, clinician, patient):
    login(client, clinician)
    url = reverse("patient_edit", args=[patient.registry_number])
    client.post(
        url,
        {"nhs_number": patient.nhs_number, "year_of_birth": 1957, "sex": "female", "version": 1},
    )
    client.post(
        url,
        {"nhs_number": patient.nhs_number, "year_of_birth": 1956, "sex": "female", "version": 2},
    )
    assert Patient.objects.get().year_of_birth == 1956


def test_assessments_are_protected_the_same_way(client, clinician, coordinator, procedure):
    month = procedure.assessments.get(timepoint="1m")
    url = reverse("assessment_record", args=[month.pk])
    when = (procedure.procedure_date + timedelta(days=30)).isoformat()
    form = {
        "assessed_on": when,
        "pain_worst": "4",
        "pain_average": "3",
        "notes": "",
        "version": "1",
        "drugs-TOTAL_FORMS": "0",
        "drugs-INITIAL_FORMS": "0",
        "drugs-MIN_NUM_FORMS": "0",
        "drugs-MAX_NUM_FORMS": "1000",
    }
    login(client, coordinator)
    assert client.post(url, form).status_code == 302
    login(client, clinician)
    refused = client.post(url, {**form, "pain_worst": "9"})
    assert refused.status_code == 409
    assert "changed by someone else" in refused.content.decode()
    month.refresh_from_db()
    assert month.pain_worst == 4


def test_an_edit_without_the_version_is_refused_not_saved_over_anothers(
    client, clinician, coordinator, patient
):
    """Finding #11.7: a stale edit that left the version out overwrote another user's change."""
    url = reverse("patient_edit", args=[patient.registry_number])
    login(client, coordinator)
    form = {"nhs_number": patient.nhs_number, "year_of_birth": 1957, "sex": "female"}
    assert client.post(url, {**form, "version": 1}).status_code == 302
    login(client, clinician)
    refused = client.post(url, {**form, "year_of_birth": 1960})  # a crafted post: no version
    assert refused.status_code == 200
    assert "did not say which version" in refused.content.decode()
    patient.refresh_from_db()
    assert patient.year_of_birth == 1957 and patient.version == 2


def test_the_api_needs_the_version_and_answers_a_stale_one_with_409(
    client, clinician, coordinator, procedure
):
    month = procedure.assessments.get(timepoint="1m")
    url = f"/api/assessments/{month.pk}"
    when = str(procedure.procedure_date + timedelta(days=30))
    login(client, coordinator)
    read = client.get(url).json()
    assert read["version"] == 1
    missing = client.put(
        url, data={"assessed_on": when, "pain_worst": 4}, content_type="application/json"
    )
    assert missing.status_code == 422
    first = client.put(
        url,
        data={"assessed_on": when, "pain_worst": 4, "version": read["version"]},
        content_type="application/json",
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    login(client, clinician)
    stale = client.put(
        url,
        data={"assessed_on": when, "pain_worst": 9, "version": read["version"]},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.json()["detail"]
    month.refresh_from_db()
    assert month.pain_worst == 4
