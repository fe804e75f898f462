"""Every record rule refuses the same way through the page, the API and the import (issue 12,
"Bad input": "each rule above has tests through the page, the API and the importer showing the
refusal, its message and that nothing was saved").

The rules are enforced once, by the writer (``registry.actions``) and the models' ``clean``;
these tests send the same bad record through each door a user has, and check the message the
user sees and that nothing was saved. (Adverse events and a patient's status have no importer:
their doors are the page and the API.)"""

import csv
import html
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse

from tests.factories import login
from tests.registry.test_approvals import approve
from tests.registry.test_journey import assessment_post, procedure_post
from tests.registry.test_pathway_rules import (
    api_body,
    consent,
    day_of_procedure,
    import_rows,
    mdt,
)
from thermablate.registry import actions
from thermablate.registry.imports import import_assessments, import_procedures
from thermablate.registry.models import AdverseEvent, Assessment, AuditEvent, Procedure

PROCEDURE_PATHS = ["page", "api", "import"]
APPROVED_ON = date(2025, 5, 1)  # the decision date of test_approvals.approve
AFTER_DEATH = "cannot be dated after the patient's death"


def changes_audited() -> int:
    """Audit entries of changes to records (a refused page still records the sign-in and that
    its patient was viewed)."""
    return AuditEvent.objects.filter(action__in=["create", "update", "delete", "override"]).count()


def submit_procedure(path, client, patient, lesion, clinician, coordinator, **fields):
    """Record a procedure through one door; the text the user is shown, and whether it saved."""
    fields = {"procedure_date": day_of_procedure(), **fields}
    fields["procedure_date"] = fields["procedure_date"].isoformat()
    if path == "page":
        login(client, clinician)
        post = procedure_post(lesion, clinician, **{k: str(v) for k, v in fields.items()})
        response = client.post(reverse("procedure_create", args=[patient.registry_number]), post)
        return response.status_code == 302, html.unescape(response.content.decode())
    if path == "api":
        login(client, clinician)
        response = client.post(
            f"/api/patients/{patient.registry_number}/procedures",
            data=api_body(lesion, operators=[clinician.username], **fields),
            content_type="application/json",
        )
        assert response.status_code in (201, 422), response.content
        return response.status_code == 201, response.content.decode()
    report = import_procedures(
        import_rows(patient, clinician, **{k: str(v) for k, v in fields.items()}),
        site=patient.site,
        acting_user=coordinator,
    )
    return report.ok, " ".join(str(error) for error in report.errors)


def assert_refused_and_nothing_saved(outcome, message, *, audit_entries_before):
    saved, shown = outcome
    assert not saved
    assert message in shown, shown[-3000:]
    assert not Procedure.objects.exists()
    assert changes_audited() == audit_entries_before


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
def test_special_arrangements_need_written_consent_first(
    path, client, patient, lesion, clinician, coordinator, governance, site_a
):
    approve(
        site_a,
        governance,
        clinician,
        decision="approved_special",
        governance_leads_informed=True,
        operators=[{"user": clinician, "training": "RFA course", "credentialed_on": APPROVED_ON}],
    )
    mdt(patient, clinician, lesion, day_of_procedure() - timedelta(days=10))
    consent(patient, clinician, day_of_procedure() + timedelta(days=1))  # after: does not count
    before = changes_audited()
    outcome = submit_procedure(
        path, client, patient, lesion, clinician, coordinator,
        procedure_type="rfa_vertebroplasty", cement="vertebroplasty", cement_volume_ml=3,
    )  # fmt: skip
    assert_refused_and_nothing_saved(
        outcome,
        "done under special arrangements but no consent with written information",
        audit_entries_before=before,
    )


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
def test_cement_that_does_not_match_the_procedure_is_refused_even_with_an_override(
    path, client, patient, lesion, clinician, coordinator, approved_site, decided
):
    before = changes_audited()
    outcome = submit_procedure(
        path, client, patient, lesion, clinician, coordinator,
        procedure_type="rfa_spinal_metastasis", cement="vertebroplasty", cement_volume_ml=3,
        pathway_override_reason="Trying to get past the cement rule",
    )  # fmt: skip
    assert_refused_and_nothing_saved(
        outcome, "injects no cement: choose none", audit_entries_before=before
    )


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
def test_a_procedure_after_the_patients_death_is_refused(
    path, client, patient, lesion, clinician, coordinator, approved_site, decided
):
    died_on = day_of_procedure() - timedelta(days=1)
    actions.record_patient_status(
        patient, acting_user=clinician, status="died", status_date=died_on, death_related="no"
    )
    before = changes_audited()
    outcome = submit_procedure(
        path, client, patient, lesion, clinician, coordinator,
        procedure_type="rfa_vertebroplasty", cement="vertebroplasty", cement_volume_ml=3,
    )  # fmt: skip
    assert_refused_and_nothing_saved(outcome, AFTER_DEATH, audit_entries_before=before)
    assert f"The patient died on {died_on:%d %B %Y}" in outcome[1]


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
def test_a_procedure_after_the_approval_was_withdrawn_is_refused(
    path, client, patient, lesion, clinician, coordinator, governance, approved_site, decided
):
    [vertebroplasty] = [a for a in approved_site if a.procedure_type == "rfa_vertebroplasty"]
    actions.withdraw_approval(
        vertebroplasty,
        acting_user=governance,
        withdrawn_on=day_of_procedure() - timedelta(days=5),
        reason="Device recall",
    )
    before = changes_audited()
    outcome = submit_procedure(
        path, client, patient, lesion, clinician, coordinator,
        procedure_type="rfa_vertebroplasty", cement="vertebroplasty", cement_volume_ml=3,
    )  # fmt: skip
    assert_refused_and_nothing_saved(
        outcome, "the committee withdrew its approval (Device recall)", audit_entries_before=before
    )


# An assessment dated after the death: the page and the import (the API: test_records_after_death).


@pytest.mark.parametrize("path", ["page", "import"])
def test_an_assessment_after_the_patients_death_is_refused(path, client, procedure, clinician):
    patient = procedure.patient
    died_on = procedure.procedure_date + timedelta(days=25)
    actions.record_patient_status(
        patient, acting_user=clinician, status="died", status_date=died_on, death_related="no"
    )
    month = procedure.assessments.get(timepoint="1m")
    assessed_on = procedure.procedure_date + timedelta(days=30)
    before = changes_audited()
    if path == "page":
        login(client, clinician)
        response = client.post(
            reverse("assessment_record", args=[month.pk]),
            assessment_post(assessed_on=assessed_on.isoformat(), version=str(month.version)),
        )
        saved, shown = response.status_code == 302, html.unescape(response.content.decode())
    else:
        text = (
            "registry_number,procedure_date,timepoint,assessed_on,pain_worst\n"
            f"{patient.registry_number},{procedure.procedure_date},1m,{assessed_on},3\n"
        )
        report = import_assessments(
            csv.DictReader(io.StringIO(text)), site=patient.site, acting_user=clinician
        )
        saved, shown = report.ok, " ".join(str(error) for error in report.errors)
    assert not saved
    assert AFTER_DEATH in shown
    assert Assessment.objects.get(pk=month.pk).assessed_on is None
    assert changes_audited() == before


# Adverse events: the page and the API.


def submit_adverse_event(path, client, procedure, clinician, **fields):
    patient = procedure.patient
    event = {
        "event_type": "haematoma",
        "onset_date": procedure.procedure_date + timedelta(days=2),
        "severity": 1,
        "device_related": "no",
        "outcome": "resolved",
        "description": "Bruise at the entry point",
        **fields,
    }
    event["onset_date"] = event["onset_date"].isoformat()
    login(client, clinician)
    if path == "page":
        post = {"procedure": procedure.pk, "symptomatic": "unknown", **event}
        response = client.post(
            reverse("adverse_event_create", args=[patient.registry_number]), post
        )
        return response.status_code == 302, html.unescape(response.content.decode())
    response = client.post(
        f"/api/patients/{patient.registry_number}/adverse-events",
        data={"procedure_id": procedure.pk, **event},
        content_type="application/json",
    )
    assert response.status_code in (201, 422), response.content
    return response.status_code == 201, response.content.decode()


@pytest.mark.parametrize("path", ["page", "api"])
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"onset_date_days": -1}, "cannot start before the procedure"),
        (
            {"severity": 5, "outcome": "resolved"},
            "A grade 5 event is a death: its outcome is fatal.",
        ),
        ({"severity": 3, "outcome": "fatal"}, "A fatal outcome is grade 5"),
        ({"onset_date_days": 40, "died_days": 30}, "after the patient's death"),
    ],
    ids=["before-the-procedure", "grade-5-not-fatal", "fatal-not-grade-5", "after-death"],
)
def test_an_adverse_event_that_breaks_a_rule_is_refused(
    path, fields, message, client, procedure, clinician
):
    fields = dict(fields)
    if "died_days" in fields:
        actions.record_patient_status(
            procedure.patient,
            acting_user=clinician,
            status="died",
            status_date=procedure.procedure_date + timedelta(days=fields.pop("died_days")),
            death_related="no",
        )
    if "onset_date_days" in fields:
        fields["onset_date"] = procedure.procedure_date + timedelta(
            days=fields.pop("onset_date_days")
        )
    before = changes_audited()
    saved, shown = submit_adverse_event(path, client, procedure, clinician, **fields)
    assert not saved
    assert message in shown, shown[-3000:]
    assert not AdverseEvent.objects.exists()
    assert changes_audited() == before


# A patient's status: the page and the API.


@pytest.mark.parametrize("path", ["page", "api"])
def test_a_death_dated_before_a_recorded_procedure_is_refused(path, client, procedure, clinician):
    patient = procedure.patient
    died_on = procedure.procedure_date - timedelta(days=1)
    body = {"status": "died", "status_date": died_on.isoformat(), "death_related": "no"}
    before = changes_audited()
    login(client, clinician)
    if path == "page":
        response = client.post(
            reverse("patient_status", args=[patient.registry_number]),
            {**body, "version": str(patient.version)},
        )
        saved, shown = response.status_code == 302, html.unescape(response.content.decode())
    else:
        response = client.put(
            f"/api/patients/{patient.registry_number}/status",
            data={**body, "version": patient.version},
            content_type="application/json",
        )
        assert response.status_code in (200, 422), response.content
        saved, shown = response.status_code == 200, response.content.decode()
    assert not saved
    message = f"The procedure of {procedure.procedure_date:%d %B %Y} is after this date."
    assert message in shown, shown[-3000:]
    patient.refresh_from_db()
    assert patient.status == "alive"
    assert changes_audited() == before


# A record marked "entered in error" is no link for a new one (found by the API corrections'
# review: the create operations accepted a lesion or a procedure marked in error).


@pytest.mark.parametrize("path", PROCEDURE_PATHS)
def test_a_procedure_on_a_lesion_marked_in_error_is_refused(
    path, client, patient, lesion, clinician, coordinator, approved_site
):
    actions.mark_entered_in_error(lesion, reason="Wrong level", acting_user=clinician)
    before = changes_audited()
    outcome = submit_procedure(
        path, client, patient, lesion, clinician, coordinator,
        procedure_type="rfa_vertebroplasty", cement="vertebroplasty", cement_volume_ml=3,
        pathway_override_reason="Emergency",
    )  # fmt: skip
    saved, shown = outcome
    assert not saved
    # The page and the import offer only the patient's live lesions; the API names the mark.
    assert any(
        words in shown for words in ("entered in error", "valid choice", "no lesion at 'L2'")
    ), shown[-2000:]
    assert not Procedure.objects.exists()
    assert changes_audited() == before


def test_an_mdt_decision_on_a_lesion_marked_in_error_is_refused_by_the_api(
    client, patient, lesion, clinician
):
    actions.mark_entered_in_error(lesion, reason="Wrong level", acting_user=clinician)
    login(client, clinician)
    response = client.post(
        f"/api/patients/{patient.registry_number}/mdt-decisions",
        data={
            "meeting_date": str(day_of_procedure()),
            "lesion_id": lesion.pk,
            "member_roles": ["spinal_surgeon", "clinical_oncologist"],
            "decision": "proceed",
        },
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert "entered in error" in response.content.decode()
    assert not patient.mdt_decisions.exists()


@pytest.mark.parametrize("path", ["page", "api"])
def test_an_adverse_event_of_a_procedure_marked_in_error_is_refused(
    path, client, procedure, clinician
):
    actions.mark_entered_in_error(procedure, reason="Wrong patient", acting_user=clinician)
    before = changes_audited()
    saved, shown = submit_adverse_event(path, client, procedure, clinician)
    assert not saved
    assert "entered in error" in shown or "valid choice" in shown
    assert not AdverseEvent.objects.exists()
    assert changes_audited() == before
