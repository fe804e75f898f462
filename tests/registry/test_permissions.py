"""No one sees what they should not: other sites, roles without the permission, anonymous users.

The pages and API operations are enumerated from the URL configuration and the OpenAPI
schema, so a new page or operation that is not listed here fails the completeness test.
"""

import json

import pytest
from django.urls import get_resolver, reverse

from tests.factories import login, queued_plan
from thermablate.registry.models import AuditEvent, Patient

# Every registry page that shows or changes a patient's data, with how to fill its URL.
PATIENT_PAGES = {
    "patient_detail": "patient",
    "patient_edit": "patient",
    "lesion_create": "patient",
    "mdt_create": "patient",
    "consent_create": "patient",
    "procedure_create": "patient",
    "adverse_event_create": "patient",
    "procedure_detail": "procedure",
    "procedure_coding": "procedure",
    "assessment_record": "assessment",
    # Putting records right (registry/correction_views.py).
    "patient_status": "patient",
    "procedure_correct": "procedure",
    "assessment_not_done": "assessment",
    "record_correct": "lesion",
    "record_mark_in_error": "lesion",
    "record_undo_in_error": "lesion",
}
SITE_PAGES = {
    "home",
    "patient_list",
    "patient_create",
    "follow_ups",
    "governance",
    "approval_create",
    "audit_trail",
    "data_quality",
}
CATALOGUE_PAGES = {
    "guidance_catalogue",
    "guidance_detail",
    "approval_detail",
    "approval_withdraw",
    "approval_supersede",
    "credential_withdraw",
    "approval_correct",
    "credential_correct",
}
PUBLIC_PAGES = {"login", "logout"}
# The second sign-in step (thermablate.web.two_factor): tested in tests/web/test_two_factor.py.
TWO_FACTOR_PAGES = {"two_factor_setup", "two_factor_verify"}
# The outcomes audit (thermablate.audit): access is tested in tests/audit/test_audit_views.py
# and test_audit_yellow_card.py.
# A finding is acknowledged on a page named by its rule and record.
FINDING_PAGES = {"data_quality_acknowledge"}
AUDIT_PAGES = {"audit_dashboard", "audit_report", "audit_appraisal", "yellow_card_draft"}
# Plans of a lesion (thermablate.plans), by what their URL names: roles and the worker are
# tested in tests/plans/test_plan_journey.py.
PLAN_PAGES = {
    "plan_new": "lesion",
    "lesion_plans": "lesion",
    "plan_comparison_figure": "lesion",
    "plan_detail": "plan",
    "plan_status": "plan",
    "plan_figure": "plan",
    "plan_choose": "plan",
    "procedure_plan_link": "procedure",
    "procedure_as_delivered": "procedure",
    "observed_zone_record": "procedure",
}
PLAN_POST_ONLY = {"plan_choose", "procedure_plan_link", "procedure_as_delivered"}
# The patient's own questionnaire pages (thermablate.proms): no account, a link and a year of
# birth instead; tested in tests/proms/test_patient_questionnaire.py.
PATIENT_LINK_PAGES = {"proms_start", "proms_page", "proms_check", "proms_done"}
# The staff's questionnaire pages: contact details are for clinicians and coordinators only;
# tested in tests/proms/test_staff_pages.py and below.
CONTACT_PAGES = {"proms_contact": "patient", "proms_contact_withdraw": "patient"}
CONTACT_SITE_PAGES = {"proms_call_list"}
CONTACT_POST_ONLY = {"proms_letter", "proms_unlock"}


def page_url(name, procedure):
    kind = PATIENT_PAGES[name]
    args = {
        "patient": [procedure.patient.registry_number],
        "procedure": [procedure.pk],
        "assessment": [procedure.assessments.first().pk],
        "lesion": ["lesion", procedure.lesion.pk],
    }[kind]
    return reverse(name, args=args)


def page_names(patterns=None) -> set[str]:
    """Every named page of ours: included URL modules count, namespaced ones (admin, API) not."""
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if hasattr(pattern, "url_patterns"):
            if pattern.namespace is None:
                names |= page_names(pattern.url_patterns)
        elif pattern.name:
            names.add(pattern.name)
    return names


POST_ONLY = {"procedure_coding"}


def test_every_named_page_is_classified():
    names = page_names()
    assert names == (
        set(PATIENT_PAGES)
        | SITE_PAGES
        | CATALOGUE_PAGES
        | PUBLIC_PAGES
        | AUDIT_PAGES
        | TWO_FACTOR_PAGES
        | FINDING_PAGES
        | set(PLAN_PAGES)
        | PATIENT_LINK_PAGES
        | set(CONTACT_PAGES)
        | CONTACT_SITE_PAGES
        | CONTACT_POST_ONLY
    )


@pytest.mark.parametrize("name", sorted(CONTACT_PAGES))
def test_contact_pages_are_404_to_another_site_and_403_to_roles_without_contact(
    client, request, procedure, name
):
    url = reverse(name, args=[procedure.patient.registry_number])
    assert client.get(url).status_code == 302  # anonymous: to sign in
    login(client, request.getfixturevalue("outsider"))
    assert client.get(url).status_code == 404
    for role in ("analyst", "governance", "administrator"):
        login(client, request.getfixturevalue(role))
        assert client.get(url).status_code in (403, 404)
        assert client.post(url, {"email": "x@example.org"}).status_code in (403, 404)


def test_the_call_list_and_the_letter_need_the_contact_permission(client, request, site_a):
    for role in ("analyst", "governance", "administrator"):
        login(client, request.getfixturevalue(role))
        assert client.get(reverse("proms_call_list")).status_code == 403
        assert client.post(reverse("proms_letter", args=[1])).status_code in (403, 404)
        assert client.post(reverse("proms_unlock", args=[1])).status_code in (403, 404)
    client.logout()
    assert client.get(reverse("proms_call_list")).status_code == 302


@pytest.fixture
def plan(procedure, clinician):
    return queued_plan(procedure.lesion, clinician)


def plan_page_url(name, plan):
    pk = {"lesion": plan.lesion.pk, "plan": plan.pk, "procedure": plan.lesion.procedures.get().pk}
    return reverse(name, args=[pk[PLAN_PAGES[name]]])


@pytest.mark.parametrize("name", sorted(PLAN_PAGES))
def test_a_user_of_another_site_gets_404_on_every_plan_page(client, outsider, plan, name):
    login(client, outsider)
    before = AuditEvent.objects.count()
    url = plan_page_url(name, plan)
    assert client.get(url).status_code == (405 if name in PLAN_POST_ONLY else 404)
    assert client.post(url, {}).status_code in (404, 405)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", sorted(PLAN_PAGES))
def test_anonymous_users_are_sent_to_sign_in_from_every_plan_page(client, plan, name):
    response = client.get(plan_page_url(name, plan))
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["analyst", "governance", "administrator", "coordinator"])
def test_only_clinicians_plan_and_choose(client, request, plan, role):
    login(client, request.getfixturevalue(role))
    assert client.get(plan_page_url("plan_new", plan)).status_code in (403, 404)
    assert client.post(plan_page_url("plan_new", plan), {}).status_code in (403, 404)
    assert client.post(plan_page_url("plan_choose", plan)).status_code in (403, 404)
    reads = client.get(plan_page_url("plan_detail", plan)).status_code
    assert reads == (403 if role == "administrator" else 200)


@pytest.mark.parametrize("name", sorted(PATIENT_PAGES))
def test_a_user_of_another_site_gets_404_on_every_patient_page(client, outsider, procedure, name):
    login(client, outsider)
    url = page_url(name, procedure)
    assert client.get(url).status_code == (405 if name in POST_ONLY else 404)
    before = AuditEvent.objects.count()
    assert (
        client.post(
            url, {"nhs_number": "9434765870", "year_of_birth": 1950, "sex": "male"}
        ).status_code
        == 404
    )
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", sorted(PATIENT_PAGES))
def test_anonymous_users_are_sent_to_sign_in(client, procedure, name):
    response = client.get(page_url(name, procedure))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", sorted(SITE_PAGES))
def test_site_pages_need_sign_in(client, name, site_a):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_site_lists_show_only_the_users_site(client, outsider, procedure):
    login(client, outsider)
    assert (
        procedure.patient.registry_number
        not in client.get(reverse("patient_list")).content.decode()
    )
    found = client.post(
        reverse("patient_list"), {"q": procedure.patient.nhs_number}
    ).content.decode()
    assert procedure.patient.registry_number not in found
    assert (
        procedure.patient.registry_number not in client.get(reverse("follow_ups")).content.decode()
    )


def test_a_user_of_another_site_cannot_acknowledge_a_finding_here(client, outsider, procedure):
    login(client, outsider)
    url = reverse("data_quality_acknowledge", args=["procedure_device_lot_missing", procedure.pk])
    before = AuditEvent.objects.count()
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "Looks right to me"}).status_code == 404
    assert AuditEvent.objects.count() == before


WRITE_PAGES = sorted(set(PATIENT_PAGES) - {"patient_detail", "procedure_detail"})


@pytest.mark.parametrize("role", ["analyst", "governance", "administrator"])
@pytest.mark.parametrize("name", WRITE_PAGES)
def test_read_only_roles_cannot_open_forms(client, request, procedure, role, name):
    login(client, request.getfixturevalue(role))
    url = page_url(name, procedure)
    assert client.get(url).status_code in ((405,) if name in POST_ONLY else (403, 404))
    assert client.post(url, {}).status_code in (403, 404)


def test_an_administrator_sees_no_clinical_data(client, administrator, procedure):
    login(client, administrator)
    assert client.get(reverse("patient_list")).status_code == 403
    assert client.get(page_url("patient_detail", procedure)).status_code in (403, 404)


def test_a_user_without_a_site_is_refused(client, db, procedure):
    from django.contrib.auth.models import User

    loner = User.objects.create_user("loner", password="x")
    login(client, loner)
    assert client.get(reverse("patient_list")).status_code == 403


# ---- the API ------------------------------------------------------------------------------


def api_operations(client):
    schema = json.loads(client.get("/api/openapi.json").content)
    return [(path, method) for path, item in schema["paths"].items() for method in item]


def api_url(path, procedure):
    assessment = procedure.assessments.first()
    return (
        path.replace("{registry_number}", procedure.patient.registry_number)
        .replace("{procedure_id}", str(procedure.pk))
        .replace("{assessment_id}", str(assessment.pk))
        .replace("{kind_name}", "procedure")
        .replace("{pk}", str(procedure.pk))
        .replace("{lesion_id}", str(procedure.lesion.pk))
        .replace("{plan_id}", str(procedure.pk))
        # Records the fixture has none of: their ids are still numbers, answered 404 as absent.
        .replace("{decision_id}", str(procedure.pk))
        .replace("{consent_id}", str(procedure.pk))
        .replace("{event_id}", str(procedure.pk))
    )


def test_the_api_lists_the_expected_operations(client, clinician):
    login(client, clinician)
    assert len(api_operations(client)) == 29


def test_a_user_of_another_site_cannot_read_or_change_anything_through_the_api(
    client, outsider, procedure
):
    login(client, outsider)
    before = AuditEvent.objects.count()
    for path, method in api_operations(client):
        url = api_url(path, procedure)
        response = (
            getattr(client, method)(url, data="{}", content_type="application/json")
            if method != "get"
            else client.get(url)
        )
        if "{" in path:
            assert response.status_code in (404, 422), (method, path, response.status_code)
            # 422 only when the body is refused before the site check: nothing is revealed.
            assert (
                procedure.patient.registry_number not in response.content.decode()
                or response.status_code == 422
            )
        else:
            body = response.content.decode()
            assert procedure.patient.registry_number not in body, (method, path)
    assert AuditEvent.objects.count() == before
    assert Patient.objects.count() == 1


def test_the_api_refuses_anonymous_calls(client, procedure):
    for path, method in api_operations(client):
        url = api_url(path, procedure)
        response = (
            client.get(url)
            if method == "get"
            else getattr(client, method)(url, data="{}", content_type="application/json")
        )
        assert response.status_code == 401, (method, path)


def test_an_analyst_gets_no_nhs_number_from_the_api(client, analyst, procedure):
    login(client, analyst)
    listing = client.get("/api/patients").json()
    assert listing[0]["registry_number"] == procedure.patient.registry_number
    assert listing[0]["nhs_number"] is None
    one = client.get(f"/api/patients/{procedure.patient.registry_number}").json()
    assert one["nhs_number"] is None
    assert (
        procedure.patient.nhs_number
        not in client.get(f"/api/procedures/{procedure.pk}").content.decode()
    )


def test_an_analyst_cannot_write_through_the_api(client, analyst, site_a):
    login(client, analyst)
    response = client.post(
        "/api/patients",
        data={"nhs_number": "9434765870", "year_of_birth": 1950, "sex": "male"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Patient.objects.exists()
