"""A governance lead approves a procedure; a coordinator records it with an operator who is not
credentialed, overriding with a reason; the governance view shows the override."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.nhs_date import fill_date
from tests.e2e.test_journey_browser import sign_in
from tests.factories import make_user
from thermablate.registry import actions
from thermablate.registry.models import Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e


def test_approval_then_an_overridden_procedure_is_seen_by_governance(
    page, live_server, transactional_db, artifacts
):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    make_user(site, "governance", "gill")
    make_user(site, "coordinator", "cora")
    lead = make_user(site, "clinician", "amara")
    trainee = make_user(site, "clinician", "rhys")
    patient = actions.create_patient(
        site=site, acting_user=lead, nhs_number="9434765919", year_of_birth=1950, sex="male"
    )
    lesion = actions.add_lesion(
        patient,
        acting_user=lead,
        spinal_levels="L1",
        diagnosis="spinal_metastasis",
        lesion_type="lytic",
    )
    today = timezone.localdate()
    # The pathway before the procedure (issue 12, item 4): the MDT decided to proceed.
    actions.record_mdt_decision(
        patient,
        acting_user=lead,
        meeting_date=today - timedelta(days=9),
        lesion=lesion,
        member_roles=["spinal_surgeon", "clinical_oncologist"],
        decision="proceed",
    )

    sign_in(page, live_server, "gill")
    page.click(".nhsuk-header__navigation-link:has-text('Governance')")
    page.click("text=Record a local approval")
    page.select_option("#id_procedure_type", "rfa_kyphoplasty")
    page.select_option(
        "#id_guidance",
        label="HTG670: Radiofrequency ablation as an adjunct to balloon kyphoplasty or percutaneous vertebroplasty for palliation of painful spinal metastases",
    )
    page.select_option("#id_decision", "approved_standard")
    page.fill("#id_committee", "New Interventional Procedures Committee")
    fill_date(page, "decision_date", today - timedelta(days=30))
    page.select_option("#id_clinical_lead", str(lead.pk))
    fill_date(page, "review_date", today + timedelta(days=365))
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Credential an operator")
    page.select_option("#id_user", str(lead.pk))
    page.fill("#id_training", "Balloon kyphoplasty, 60 cases; RF ablation course")
    fill_date(page, "credentialed_on", today - timedelta(days=30))
    page.click("button:has-text('Credential')")
    assert "Balloon kyphoplasty, 60 cases" in page.inner_text("#operators")
    page.click("button:has-text('Sign out')")

    sign_in(page, live_server, "cora")
    page.goto(f"{live_server.url}/patients/{patient.registry_number}/procedures/new/")
    page.select_option("#id_lesion", str(lesion.pk))
    fill_date(page, "procedure_date", today - timedelta(days=2))
    page.check(f"input[name=operators][value='{trainee.pk}']")
    page.select_option("#id_procedure_type", "rfa_kyphoplasty")
    page.select_option("#id_setting", "inpatient")
    page.select_option("#id_anaesthesia", "general")
    page.select_option("#id_approach", "transpedicular")
    page.select_option("#id_access", "percutaneous")
    page.check("input[name=image_guidance][value=fluoroscopy]")
    page.fill("#id_device_manufacturer", "Medtronic")
    page.fill("#id_device_model", "OsteoCool")
    page.select_option("#id_polarity", "bipolar")
    page.fill("#id_active_tip_mm", "10")
    page.select_option("#id_cement", "kyphoplasty")
    page.fill("#id_cement_volume_ml", "4")
    page.check("input[name=thermal_protection][value=thermocouple]")
    page.fill("#id_duration_min", "95")
    page.fill("#id_cycles-0-target_temp_c", "70")
    page.fill("#id_cycles-0-time_at_target_s", "300")
    page.click("button:has-text('Save procedure')")
    # Refused first: the operator is not credentialed and no reason was given.
    assert "not credentialed for this procedure" in page.inner_text(".nhsuk-error-summary")
    page.fill("#id_override_reason", "Supervised by Dr Amara, credentialing pending")
    page.check("input[name=image_guidance][value=fluoroscopy]") if not page.is_checked(
        "input[name=image_guidance][value=fluoroscopy]"
    ) else None
    page.click("button:has-text('Save procedure')")
    page.wait_for_selector("#governance")
    assert "Credentialing override" in page.inner_text("#governance")
    page.click("button:has-text('Sign out')")

    sign_in(page, live_server, "gill")
    page.click(".nhsuk-header__navigation-link:has-text('Governance')")
    overrides = page.inner_text("#overrides")
    assert patient.registry_number in overrides
    assert "Supervised by Dr Amara, credentialing pending" in overrides
    page.screenshot(path=str(artifacts / "governance-page.png"), full_page=True)
