"""A clinician puts a record right in the browser: a correction with its reason, an
out-of-window follow-up refused with its window named, and a death that closes the follow-ups."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.e2e.nhs_date import fill_date
from tests.e2e.test_journey_browser import sign_in
from tests.factories import VALID_NHS_NUMBERS, make_user, procedure_fields
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent, Lesion, Patient, Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e


def test_a_clinician_corrects_is_refused_out_of_window_and_records_a_death(
    page, live_server, transactional_db, artifacts
):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    clinician = make_user(site, "clinician", "amara")
    patient = actions.create_patient(
        site=site,
        acting_user=clinician,
        nhs_number=VALID_NHS_NUMBERS[0],
        year_of_birth=1950,
        sex="male",
    )
    lesion = actions.add_lesion(
        patient,
        acting_user=clinician,
        spinal_levels="L2",
        diagnosis="spinal_metastasis",
        lesion_type="lytic",
        pain_at_site=8,
    )
    procedure = actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[{"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": None}],
        **procedure_fields(lesion),
    )
    sign_in(page, live_server, "amara")

    # A correction, with its reason.
    page.goto(f"{live_server.url}/patients/{patient.registry_number}/")
    page.click("#lesions a:has-text('Correct')")
    page.fill("#id_pain_at_site", "6")
    page.fill("#id_reason", "Pain score read from the wrong line of the clinic letter")
    page.screenshot(path=str(artifacts / "correction-with-its-reason.png"), full_page=True)
    page.click("#maincontent button[type=submit]")
    page.wait_for_url(f"{live_server.url}/patients/{patient.registry_number}/")
    assert "was corrected" in page.inner_text("body")
    assert Lesion.objects.get(pk=lesion.pk).pain_at_site == 6
    entry = AuditEvent.objects.filter(model="lesion", action="update").get()
    assert entry.changes["reason"].startswith("Pain score read")

    # A 1-month follow-up on day 5 is refused, naming its window; nothing is saved.
    month = procedure.assessments.get(timepoint="1m")
    page.goto(f"{live_server.url}/assessments/{month.pk}/")
    fill_date(page, "assessed_on", procedure.procedure_date + timedelta(days=5))
    page.fill("#id_pain_worst", "3")
    page.fill("#id_pain_average", "2")
    page.check("#id_no_analgesics")
    page.click("#maincontent button[type=submit]")
    summary = page.locator(".nhsuk-error-summary")
    assert "between 21 and 42 days after the procedure" in summary.inner_text()
    page.screenshot(path=str(artifacts / "correction-out-of-window-refused.png"), full_page=True)
    month.refresh_from_db()
    assert month.assessed_on is None

    # A death: the follow-ups not yet due are closed, not overdue.
    page.goto(f"{live_server.url}/patients/{patient.registry_number}/status/")
    page.select_option("#id_status", "died")
    fill_date(page, "status_date", timezone.localdate() - timedelta(days=1))
    page.select_option("#id_death_related", "no")
    page.click("#maincontent button[type=submit]")
    page.wait_for_url(f"{live_server.url}/patients/{patient.registry_number}/")
    status = page.inner_text("#patient-status")
    assert "Died on" in status and "not related to the procedure" in status
    page.screenshot(path=str(artifacts / "correction-death-recorded.png"), full_page=True)
    assert Patient.objects.get(pk=patient.pk).status == "died"
    page.goto(f"{live_server.url}/procedures/{procedure.pk}/")
    assert "Closed" in page.inner_text("[data-timepoint='3m']")
    # The 1-week window closed a month before the death: missed while in follow-up.
    assert "Overdue" in page.inner_text("[data-timepoint='1w']")
