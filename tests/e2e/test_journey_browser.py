"""A coordinator records a patient's whole journey in the browser and sees it on the patient page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.nhs_date import fill_date
from tests.factories import PASSWORD, make_user
from thermablate.registry.models import AdverseEvent, Assessment, Patient, Procedure, Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e


def approve_with_credential(site, operator, procedure_type):
    from datetime import date

    from thermablate.guidance.models import Guidance
    from thermablate.registry import actions as registry_actions

    lead = make_user(site, "governance", f"gov-{procedure_type[:8]}")
    approval = registry_actions.record_approval(
        site=site,
        acting_user=lead,
        procedure_type=procedure_type,
        guidance=Guidance.objects.get(key="HTG670"),
        decision="approved_standard",
        committee="NIPC",
        decision_date=date(2025, 1, 1),
        clinical_lead=operator,
        review_date=date(2027, 1, 1),
    )
    registry_actions.credential_operator(
        approval,
        acting_user=lead,
        user=operator,
        training="Vertebroplasty",
        credentialed_on=date(2025, 1, 1),
    )
    return approval


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_a_coordinator_records_the_whole_journey(page, live_server, transactional_db, artifacts):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    make_user(site, "coordinator", "cora")
    surgeon = make_user(site, "clinician", "amara")
    approve_with_credential(site, surgeon, "rfa_vertebroplasty")
    today = timezone.localdate()
    procedure_date = today - timedelta(days=30)

    sign_in(page, live_server, "cora")
    page.click("text=Register a patient")
    page.fill("#id_nhs_number", "943 476 5919")
    page.fill("#id_year_of_birth", "1956")
    page.select_option("#id_sex", "female")
    page.click("button:has-text('Save')")
    page.wait_for_selector("h1:has-text('TB-')")
    registry_number = page.inner_text("h1")
    assert "943 476 5919" in page.inner_text("#nhs-number")

    page.click("text=Add lesion")
    page.fill("#id_spinal_levels", "L2")
    page.select_option("#id_diagnosis", "spinal_metastasis")
    page.fill("#id_primary_tumour", "breast")
    page.select_option("#id_lesion_type", "lytic")
    page.fill("#id_size_mm", "28")
    page.select_option("#id_posterior_wall_intact", "true")
    page.fill("#id_distance_to_neural_mm", "5")
    page.fill("#id_pain_at_site", "8")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#lesions")

    page.click("text=Record MDT decision")
    fill_date(page, "meeting_date", procedure_date - timedelta(days=10))
    page.check("input[name=member_roles][value=interventional_radiologist]")
    page.check("input[name=member_roles][value=clinical_oncologist]")
    page.select_option("#id_decision", "proceed")
    page.fill("#id_reasons", "Painful lytic L2 metastasis despite opioids")
    page.click("button:has-text('Save')")

    page.click("text=Record consent")
    fill_date(page, "consent_date", procedure_date - timedelta(days=2))
    page.fill("#id_leaflet_title", "RF ablation and vertebroplasty: patient information")
    page.fill("#id_leaflet_version", "2.0")
    page.check("#id_nice_information_offered")
    page.check("#id_uncertainties_discussed")
    page.check("#id_registry_audit_consent")
    page.click("button:has-text('Save')")

    page.click("text=Record procedure")
    page.select_option("#id_lesion", label="L2 spinal metastasis")
    fill_date(page, "procedure_date", procedure_date)
    page.check(f"input[name=operators][value='{surgeon.pk}']")
    page.select_option("#id_procedure_type", "rfa_vertebroplasty")
    page.select_option("#id_setting", "day_case")
    page.select_option("#id_anaesthesia", "local_sedation")
    page.select_option("#id_approach", "transpedicular")
    page.select_option("#id_access", "percutaneous")
    page.check("input[name=image_guidance][value=fluoroscopy]")
    page.fill("#id_device_manufacturer", "Medtronic")
    page.fill("#id_device_model", "OsteoCool")
    page.select_option("#id_polarity", "bipolar")
    page.fill("#id_active_tip_mm", "10")
    page.check("#id_biopsy_taken")
    page.select_option("#id_cement", "vertebroplasty")
    page.fill("#id_cement_volume_ml", "3.5")
    page.check("input[name=thermal_protection][value=thermocouple]")
    page.fill("#id_levels_treated", "L2")
    page.fill("#id_duration_min", "80")
    page.fill("#id_cycles-0-target_temp_c", "70")
    page.fill("#id_cycles-0-time_at_target_s", "330")
    page.fill("#id_cycles-0-power_w", "9")
    page.click("button:has-text('Save procedure')")
    page.wait_for_selector("#schedule")
    assert "3.5 ml" in page.inner_text("#cement")

    page.click("#schedule a:has-text('Record 1 month')")
    fill_date(page, "assessed_on", procedure_date + timedelta(days=29))
    page.fill("#id_pain_worst", "3")
    page.fill("#id_pain_average", "2")
    for name, answer in [
        ("mobility", "2"),
        ("self_care", "1"),
        ("usual_activities", "2"),
        ("pain_discomfort", "2"),
        ("anxiety_depression", "1"),
    ]:
        page.select_option(f"#id_eq5d_{name}", answer)
    page.fill("#id_drugs-0-drug", "morphine")
    page.fill("#id_drugs-0-dose", "10")
    page.select_option("#id_drugs-0-unit", "mg")
    page.select_option("#id_drugs-0-route", "oral")
    page.fill("#id_drugs-0-doses_per_day", "2")
    page.click("button:has-text('Save assessment')")
    page.wait_for_selector("#timeline")

    page.click("text=Record adverse event")
    page.select_option("#id_procedure", index=1)
    page.select_option("#id_event_type", "cement_leakage")
    page.select_option("#id_symptomatic", "false")
    fill_date(page, "onset_date", procedure_date)
    page.select_option("#id_severity", "1")
    page.select_option("#id_device_related", "no")
    page.select_option("#id_outcome", "resolved")
    page.fill("#id_description", "Small asymptomatic leak into the disc space on post-procedure CT")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#timeline")

    timeline = page.inner_text("#timeline")
    for expected in [
        "MDT decision",
        "Consent",
        "RF ablation plus percutaneous vertebroplasty",
        "1 month assessment",
        "Adverse event: Cement leakage",
    ]:
        assert expected in timeline
    assert "No consent recorded" not in page.content()
    page.screenshot(path=str(artifacts / "patient-page.png"), full_page=True)

    patient = Patient.objects.get(registry_number=registry_number)
    procedure = Procedure.objects.get(patient=patient)
    assert procedure.cycles.get().time_at_target_s == 330
    assert Assessment.objects.get(procedure=procedure, timepoint="1m").pain_worst == 3
    assert AdverseEvent.objects.get(patient=patient).event_type == "cement_leakage"


def test_a_refused_form_shows_the_error_next_to_the_field(page, live_server, transactional_db):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    make_user(site, "coordinator", "cora")
    sign_in(page, live_server, "cora")
    page.goto(f"{live_server.url}/patients/new/")
    page.fill("#id_nhs_number", "1234567890")
    page.fill("#id_year_of_birth", "1956")
    page.select_option("#id_sex", "male")
    page.click("button:has-text('Save')")
    assert "valid 10-digit NHS number" in page.inner_text("#nhs_number-error")
    assert page.is_visible(".nhsuk-error-summary")
    assert not Patient.objects.exists()
