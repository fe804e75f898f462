"""The dashboard and its reports: who may see them, and that they show the site's figures only."""

import pytest
from django.urls import reverse

from tests.audit.conftest import grant_audit
from tests.factories import login, make_user


def test_it_shows_the_dashboard_with_charts_and_no_identifiers(client, governance, recorded_cohort):
    login(client, grant_audit(governance))
    response = client.get(reverse("audit_dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="kpi-procedures">1<' in body
    assert body.count('src="data:image/svg+xml;base64,') >= 7
    assert recorded_cohort["patient"].nhs_number not in body
    assert recorded_cohort["patient"].registry_number not in body
    assert "Cement leakage" in body


def test_it_refuses_a_user_without_the_audit_permission(
    client, coordinator, administrator, recorded_cohort
):
    # Coordinators and administrators have no audit permission (registry/roles.py).
    for user in (coordinator, administrator):
        login(client, user)
        assert client.get(reverse("audit_dashboard")).status_code == 403
        assert client.get(reverse("audit_report")).status_code == 403


def test_it_sends_anonymous_users_to_sign_in(client, site_a):
    for name in ("audit_dashboard", "audit_report"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_sites_user_sees_only_their_own_empty_figures(client, outsider, recorded_cohort):
    login(client, grant_audit(outsider))
    body = client.get(reverse("audit_dashboard")).content.decode()
    assert 'id="kpi-procedures">0<' in body
    assert "Site A Hospital" not in body
    assert "Cement leakage noted" not in body


def test_it_filters_the_cohort_by_period_and_procedure(client, governance, recorded_cohort):
    login(client, grant_audit(governance))
    day = recorded_cohort["procedure"].procedure_date
    after = client.get(
        reverse("audit_dashboard"), {"date_from": (day.replace(year=day.year + 1)).isoformat()}
    )
    assert 'id="kpi-procedures">0<' in after.content.decode()
    other_type = client.get(reverse("audit_dashboard"), {"procedure_type": "idet"})
    assert 'id="kpi-procedures">0<' in other_type.content.decode()
    same_type = client.get(reverse("audit_dashboard"), {"procedure_type": "rfa_vertebroplasty"})
    assert 'id="kpi-procedures">1<' in same_type.content.decode()


def test_it_refuses_a_period_that_ends_before_it_starts(client, governance, recorded_cohort):
    login(client, grant_audit(governance))
    response = client.get(
        reverse("audit_dashboard"), {"date_from": "2026-05-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 200
    assert "must come after its start" in response.content.decode()


@pytest.mark.slow  # WeasyPrint renders a PDF: seconds
def test_it_downloads_the_committee_report_as_pdf(client, analyst, recorded_cohort):
    login(client, grant_audit(analyst, "view_dashboard"))
    response = client.get(reverse("audit_report"), {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]


def test_it_opens_the_committee_report_as_html(client, analyst, recorded_cohort):
    login(client, grant_audit(analyst, "view_dashboard"))
    response = client.get(reverse("audit_report"), {"format": "html"})
    body = response.content.decode()
    assert "governance committee report" in body
    assert "NICE DSU mapping" in body  # the EQ-5D value set is named
    assert recorded_cohort["patient"].nhs_number not in body


def test_a_clinician_sees_their_own_appraisal_but_not_a_colleagues(
    client, clinician, site_a, recorded_cohort
):
    colleague = make_user(site_a, "clinician", "bob")
    login(client, grant_audit(clinician, "view_dashboard"))
    own = client.get(reverse("audit_appraisal", args=[clinician.pk]))
    assert own.status_code == 200 and "Annual appraisal" in own.content.decode()
    assert client.get(reverse("audit_appraisal", args=[colleague.pk])).status_code == 403


@pytest.mark.slow  # WeasyPrint renders a PDF: seconds
def test_a_governance_lead_sees_any_operators_appraisal_as_pdf(
    client, governance, clinician, recorded_cohort
):
    login(client, grant_audit(governance))
    response = client.get(reverse("audit_appraisal", args=[clinician.pk]), {"format": "pdf"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_an_operator_of_another_site_has_no_appraisal_here(
    client, governance, outsider, recorded_cohort
):
    login(client, grant_audit(governance))
    assert client.get(reverse("audit_appraisal", args=[outsider.pk])).status_code == 404
