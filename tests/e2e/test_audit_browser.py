"""A governance lead opens the outcomes audit in the browser, sees the charts and downloads the
committee report as a PDF."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from tests.factories import PASSWORD, VALID_NHS_NUMBERS, make_user, procedure_fields
from thermablate.registry import actions
from thermablate.registry.models import Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e


def _cohort(site, clinician):
    for number, nhs_number in enumerate(VALID_NHS_NUMBERS[:3]):
        patient = actions.create_patient(
            site=site,
            acting_user=clinician,
            nhs_number=nhs_number,
            year_of_birth=1950 + number,
            sex="female",
        )
        lesion = actions.add_lesion(
            patient,
            acting_user=clinician,
            spinal_levels="L2",
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
        )
        procedure = actions.record_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=[{"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": None}],
            **procedure_fields(lesion),
        )
        for assessment, pain in (
            (procedure.assessments.get(timepoint="baseline"), 8),
            (procedure.assessments.get(timepoint="1m"), 3 + number),
        ):
            day = procedure.procedure_date + (
                timedelta(days=30) if assessment.timepoint == "1m" else timedelta(days=-1)
            )
            actions.record_assessment(
                assessment,
                acting_user=clinician,
                analgesics=[],
                assessed_on=day,
                pain_worst=pain,
                pain_average=pain - 1,
                no_analgesics=True,
                notes="",
            )
    actions.record_adverse_event(
        patient,
        acting_user=clinician,
        procedure=procedure,
        event_type="cement_leakage",
        symptomatic=False,
        onset_date=procedure.procedure_date,
        severity=1,
        device_related="unknown",
        outcome="resolved",
        description="Small leak on CT.",
    )


def test_a_governance_lead_reads_the_dashboard_and_downloads_the_pdf(
    page, live_server, transactional_db, artifacts
):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    clinician = make_user(site, "clinician", "amara")
    lead = make_user(site, "governance", "helen")
    lead.user_permissions.add(*Permission.objects.filter(content_type__app_label="audit"))
    _cohort(site, clinician)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "helen")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/audit/")
    assert page.inner_text("#kpi-procedures") == "3"
    chart = page.locator("#measure-pain_worst img.tb-chart")
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", chart.element_handle())
    page.screenshot(path=str(artifacts / "audit-dashboard.png"), full_page=False)

    # Rendering the PDF takes seconds: wait for the download, not for a navigation.
    with page.expect_download(timeout=120_000) as download_info:
        page.click("#pdf-report", no_wait_after=True)
    download = download_info.value
    path = artifacts / "audit-report.pdf"
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    assert download.suggested_filename.endswith(".pdf")
