"""Every page, for every role and for a user of another site: the expected allow or deny.

The matrix lists every named URL of the application; a page added without an entry here fails
`test_the_matrix_covers_every_page`, so a new view cannot forget its access check unseen.
"""

import pytest
from django.urls import reverse

from tests.factories import login, queued_plan
from tests.registry.test_permissions import page_names

PERSONAS = (
    "anonymous",
    "clinician",
    "coordinator",
    "governance",
    "analyst",
    "administrator",
    "outsider",
)

# Expected status of a GET, per persona, in PERSONAS order (anonymous first: 302 to sign-in).
CLINICAL_READ = (302, 200, 200, 200, 200, 403, 404)  # a site A record: others get 404
CLINICAL_WRITE = (302, 200, 200, 403, 403, 403, 404)
SITE_READ = (302, 200, 200, 200, 200, 403, 200)  # the outsider sees its own site's page
SITE_WRITE = (302, 200, 200, 403, 403, 403, 200)
GOVERNANCE_ONLY = (302, 403, 403, 200, 403, 403, 403)

MATRIX = {
    "home": (302, 200, 200, 200, 200, 200, 200),
    "login": (200,) * 7,
    "logout": (302, 405, 405, 405, 405, 405, 405),  # sign-out is a POST
    "two_factor_setup": (302, 200, 200, 200, 200, 200, 200),
    "two_factor_verify": (302, 200, 200, 200, 200, 200, 200),
    "patient_list": SITE_READ,
    "patient_create": SITE_WRITE,
    "follow_ups": SITE_READ,
    "governance": SITE_READ,
    "guidance_catalogue": SITE_READ,
    "guidance_detail": SITE_READ,
    "approval_create": GOVERNANCE_ONLY,
    "audit_trail": GOVERNANCE_ONLY,
    "approval_detail": CLINICAL_READ,
    "approval_withdraw": GOVERNANCE_ONLY,
    "approval_supersede": GOVERNANCE_ONLY,
    "credential_withdraw": GOVERNANCE_ONLY,
    "approval_correct": GOVERNANCE_ONLY,
    "credential_correct": GOVERNANCE_ONLY,
    "patient_detail": CLINICAL_READ,
    "procedure_detail": CLINICAL_READ,
    "patient_edit": CLINICAL_WRITE,
    "lesion_create": CLINICAL_WRITE,
    "mdt_create": CLINICAL_WRITE,
    "consent_create": CLINICAL_WRITE,
    "procedure_create": CLINICAL_WRITE,
    "adverse_event_create": CLINICAL_WRITE,
    "assessment_record": CLINICAL_WRITE,
    "procedure_coding": (302, 405, 405, 405, 405, 405, 405),  # a POST (tested in the coding tests)
}
MATRIX.update(
    {
        # The outcomes audit: aggregates of the user's own site, no identifiers.
        "audit_dashboard": (302, 200, 403, 200, 200, 403, 200),
        "audit_report": (302, 200, 403, 200, 200, 403, 200),
        # A clinician sees their own appraisal only; the governance lead anyone's of the site.
        "audit_appraisal": (302, 200, 403, 200, 403, 403, 403),
        "yellow_card_draft": CLINICAL_READ,
        # Putting records right (docs/corrections.md): those who record the journey.
        "patient_status": CLINICAL_WRITE,
        "procedure_correct": CLINICAL_WRITE,
        "assessment_not_done": CLINICAL_WRITE,
        "record_correct": CLINICAL_WRITE,
        "record_mark_in_error": CLINICAL_WRITE,
        "record_undo_in_error": CLINICAL_WRITE,
        # Data quality: read by all who read procedures; acknowledged by those who may change
        # the record (a finding at another site is "not found").
        "data_quality": SITE_READ,
        "data_quality_acknowledge": CLINICAL_WRITE,
        # Plans of a lesion (thermablate.plans): clinicians plan; all who read records read.
        "plan_new": (302, 200, 403, 403, 403, 403, 404),
        "lesion_plans": CLINICAL_READ,
        "plan_detail": CLINICAL_READ,
        "plan_status": CLINICAL_READ,
        "plan_figure": CLINICAL_READ,
        # Without the plans to compare in its query there is no figure to draw.
        "plan_comparison_figure": (302, 404, 404, 404, 404, 403, 404),
        "plan_choose": (302, 405, 405, 405, 405, 405, 405),  # a POST (tests/plans)
        "procedure_plan_link": (302, 405, 405, 405, 405, 405, 405),  # a POST (tests/plans)
        "procedure_as_delivered": (302, 405, 405, 405, 405, 405, 405),  # a POST (tests/plans)
        "observed_zone_record": CLINICAL_WRITE,
        # Patients' contact details (thermablate.proms) are personal data: only those who
        # contact patients, clinicians and coordinators.
        "proms_contact": CLINICAL_WRITE,
        "proms_contact_withdraw": CLINICAL_WRITE,
        "proms_call_list": SITE_WRITE,
        "proms_letter": (302, 405, 405, 405, 405, 405, 405),  # a POST (tests/proms)
        "proms_unlock": (302, 405, 405, 405, 405, 405, 405),  # a POST (tests/proms)
        # The patient's own pages: no account; a link that opens nothing is "not found" to
        # everyone (tests/proms/test_patient_questionnaire.py).
        "proms_start": (404,) * 7,
        "proms_page": (404,) * 7,
        "proms_check": (404,) * 7,
        "proms_done": (200,) * 7,
    }
)

PLAN_PAGES = {"plan_detail", "plan_status", "plan_figure", "plan_choose"}
LESION_PLAN_PAGES = {"plan_new", "lesion_plans", "plan_comparison_figure"}


def a_finished_plan(procedure):
    """A plan of the procedure's lesion, with a figure (its run is tested in tests/plans)."""
    from thermablate.plans.models import Plan

    plan = queued_plan(procedure.lesion, procedure.operators.first(), name="matrix")
    Plan.objects.filter(pk=plan.pk).update(slices_png=b"\x89PNG\r\n\x1a\n")
    return plan


def args_for(name, procedure, approval, adverse_event):
    rn = procedure.patient.registry_number
    if name in PLAN_PAGES:
        return [a_finished_plan(procedure).pk]
    if name in LESION_PLAN_PAGES:
        return [procedure.lesion.pk]
    if name in {"procedure_plan_link", "procedure_as_delivered", "observed_zone_record"}:
        return [procedure.pk]
    return {
        "guidance_detail": ["HTG670"],
        "approval_detail": [approval.pk],
        "approval_withdraw": [approval.pk],
        "approval_supersede": [approval.pk],
        "credential_withdraw": [approval.pk, approval.operators.first().pk],
        "approval_correct": [approval.pk],
        "credential_correct": [approval.pk, approval.operators.first().pk],
        "patient_detail": [rn],
        "patient_edit": [rn],
        "lesion_create": [rn],
        "mdt_create": [rn],
        "consent_create": [rn],
        "procedure_create": [rn],
        "adverse_event_create": [rn],
        "procedure_detail": [procedure.pk],
        "procedure_coding": [procedure.pk],
        "assessment_record": [procedure.assessments.get(timepoint="1m").pk],
        "audit_appraisal": [procedure.operators.first().pk],
        "yellow_card_draft": [adverse_event.pk],
        "patient_status": [rn],
        "procedure_correct": [procedure.pk],
        "assessment_not_done": [procedure.assessments.get(timepoint="1m").pk],
        "record_correct": ["adverseevent", adverse_event.pk],
        "record_mark_in_error": ["adverseevent", adverse_event.pk],
        "record_undo_in_error": ["adverseevent", adverse_event.pk],
        "data_quality_acknowledge": ["procedure_device_lot_missing", procedure.pk],
        "proms_contact": [rn],
        "proms_contact_withdraw": [rn],
        "proms_letter": [1],
        "proms_unlock": [1],
        "proms_start": ["no-such-link"],
        "proms_page": ["no-such-link", "pain"],
        "proms_check": ["no-such-link"],
    }.get(name, [])


def test_the_matrix_covers_every_page():
    assert page_names() == set(MATRIX)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_persona_gets_what_the_matrix_says(client, request, procedure, approved_site, name):
    from thermablate.registry import actions

    event = actions.record_adverse_event(
        procedure.patient,
        acting_user=procedure.operators.first(),
        procedure=procedure,
        event_type="haematoma",
        onset_date=procedure.procedure_date,
        severity=1,
        device_related="no",
        outcome="resolved",
        description="Small haematoma at the entry site",
    )
    for persona, expected in zip(PERSONAS, MATRIX[name], strict=True):
        client.logout()
        if persona != "anonymous":
            login(client, request.getfixturevalue(persona))
        url = reverse(name, args=args_for(name, procedure, approved_site[0], event))
        status = client.get(url).status_code
        assert status == expected, f"{name} as {persona}: {status}, expected {expected}"
