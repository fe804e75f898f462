from django.urls import reverse

from tests.factories import VALID_NHS_NUMBERS, login
from thermablate.registry.models import AuditEvent, Patient


def test_it_registers_a_patient_and_shows_the_registry_number(client, coordinator):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": "943 476 5919", "year_of_birth": 1950, "sex": "male"},
    )
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patient_detail", args=[patient.registry_number])
    assert patient.nhs_number == "9434765919"
    assert patient.site == coordinator.staff.site
    assert patient.registry_number.startswith("TB-")
    page = client.get(response["Location"]).content.decode()
    assert patient.registry_number in page
    assert AuditEvent.objects.filter(model="patient", action="create", actor=coordinator).exists()


def test_it_refuses_an_invalid_nhs_number_and_saves_nothing(client, coordinator):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": "9434765918", "year_of_birth": 1950, "sex": "male"},
    )
    assert response.status_code == 200
    assert "Enter a valid 10-digit NHS number" in response.content.decode()
    assert 'class="nhsuk-error-message"' in response.content.decode()
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(model="patient").exists()


def test_it_refuses_a_duplicate_nhs_number_at_the_same_site(client, coordinator, patient):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": patient.nhs_number, "year_of_birth": 1950, "sex": "male"},
    )
    assert response.status_code == 200
    assert "already registered at this site" in response.content.decode()
    assert Patient.objects.count() == 1


def test_the_same_nhs_number_may_be_registered_at_another_site(client, outsider, patient):
    login(client, outsider)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": patient.nhs_number, "year_of_birth": 1958, "sex": "female"},
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_it_refuses_a_birth_year_in_the_future(client, coordinator, today):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": VALID_NHS_NUMBERS[1], "year_of_birth": today.year + 1, "sex": "male"},
    )
    assert "cannot be in the future" in response.content.decode()
    assert not Patient.objects.exists()


def test_it_finds_a_patient_by_nhs_number_but_never_lists_it(client, coordinator, patient):
    login(client, coordinator)
    response = client.post(reverse("patient_list"), {"q": "943-476-5919"})
    page = response.content.decode()
    assert patient.registry_number in page
    assert "9434765919" not in page.split("<main")[1].split("<table")[1]
    listing = client.get(reverse("patient_list")).content.decode()
    assert patient.registry_number in listing
    assert "9434765919" not in listing and "943 476 5919" not in listing


def test_it_shows_the_nhs_number_on_the_patient_page_to_clinical_staff(client, clinician, patient):
    login(client, clinician)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    assert "943 476 5919" in page


def test_an_analyst_sees_no_nhs_number_and_cannot_search_by_it(client, analyst, patient):
    login(client, analyst)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    assert patient.registry_number in page
    assert "943 476 5919" not in page and "9434765919" not in page
    found = client.post(reverse("patient_list"), {"q": patient.nhs_number}).content.decode()
    assert patient.registry_number not in found


def test_editing_a_patient_records_old_and_new_values(client, clinician, patient):
    login(client, clinician)
    response = client.post(
        reverse("patient_edit", args=[patient.registry_number]),
        {"nhs_number": patient.nhs_number, "year_of_birth": 1959, "sex": "female", "version": 1},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(model="patient", action="update")
    assert event.changes == {"year_of_birth": {"old": 1958, "new": 1959}}
