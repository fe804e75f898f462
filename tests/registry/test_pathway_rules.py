"""Pathway rules at entry (issue 12, item 4): a procedure is recorded only after an MDT
decision to proceed dated on or before it and, under special arrangements, a consent with
written information dated on or before it, unless the user overrides with a reason, which the
Governance page lists. The same rules (``registry.data_quality``) decide the Data quality
page's findings and the patient page's checklist.

The findings reproduced: a procedure dated before the MDT decision and the consent was
accepted, and so was one after an MDT decision of "not suitable"; the special-arrangements
checklist then showed everything "done"."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import login, procedure_fields
from tests.registry.test_approval_lifecycle import NEW_DECISION
from tests.registry.test_approvals import approve
from tests.registry.test_journey import procedure_post
from thermablate.registry import actions
from thermablate.registry.imports import import_procedures
from thermablate.registry.models import AuditEvent, Procedure, ProcedureGovernance

CYCLES = [{"target_temp_c": 70, "time_at_target_s": 300}]
NO_MDT = "No MDT decision about this lesion is dated on or before the procedure"
AGAINST = "The latest MDT decision before this procedure was 'Not suitable'"
NO_WRITTEN_CONSENT = "no consent with written information"


@pytest.fixture
def credentialed(approved_site):
    return approved_site


def mdt(patient, clinician, lesion, day, decision="proceed"):
    return actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=day,
        lesion=lesion,
        member_roles=["spinal_surgeon", "clinical_oncologist"],
        decision=decision,
    )


def consent(patient, clinician, day):
    # The consent record requires the leaflet's title and version: the written information.
    return actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=day,
        leaflet_title="Radiofrequency ablation: information for you",
        leaflet_version="1",
    )


def governed(patient, lesion, clinician, **overrides):
    return actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        **procedure_fields(lesion, **overrides),
    )


def day_of_procedure():
    return procedure_fields(None)["procedure_date"]


# Through the writer (pages, API and import all call it).


def test_a_procedure_without_an_mdt_decision_is_refused_and_nothing_is_saved(
    patient, lesion, clinician, credentialed
):
    entries = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=NO_MDT) as refused:
        governed(patient, lesion, clinician)
    assert "pathway_override_reason" in refused.value.message_dict
    assert not Procedure.objects.exists() and not ProcedureGovernance.objects.exists()
    assert AuditEvent.objects.count() == entries


def test_an_mdt_decision_after_the_procedure_does_not_count(
    patient, lesion, clinician, credentialed
):
    mdt(patient, clinician, lesion, day_of_procedure() + timedelta(days=1))
    with pytest.raises(ValidationError, match=NO_MDT):
        governed(patient, lesion, clinician)


def test_a_procedure_after_a_not_suitable_decision_is_refused(
    patient, lesion, clinician, credentialed
):
    mdt(patient, clinician, lesion, day_of_procedure() - timedelta(days=20))
    mdt(patient, clinician, lesion, day_of_procedure() - timedelta(days=5), "not_suitable")
    with pytest.raises(ValidationError, match=AGAINST):
        governed(patient, lesion, clinician)
    assert not Procedure.objects.exists()


def test_a_decision_to_proceed_on_the_day_is_enough_under_standard_arrangements(
    patient, lesion, clinician, credentialed
):
    mdt(patient, clinician, lesion, day_of_procedure())
    procedure = governed(patient, lesion, clinician)  # no consent record: a warning, not a rule
    assert procedure.governance.pathway_exceptions == []
    assert procedure.governance.pathway_override_reason == ""


def test_an_override_with_a_reason_records_the_procedure_and_governance_sees_it(
    client, patient, lesion, clinician, governance, credentialed
):
    reason = "Cord compression: treated the same day, MDT review the next morning"
    procedure = governed(patient, lesion, clinician, pathway_override_reason=f"  {reason} ")
    record = procedure.governance
    assert record.pathway_exceptions == ["procedure_without_prior_mdt"]
    assert record.pathway_override_reason == reason and record.overridden_by == clinician
    entry = AuditEvent.objects.get(model="proceduregovernance", object_id=str(record.pk))
    assert entry.action == "override"
    assert entry.changes["new"]["pathway_exceptions"] == ["procedure_without_prior_mdt"]
    login(client, governance)
    page = client.get(reverse("governance")).content.decode()
    listed = page.split('id="pathway-overrides"')[1].split("</table>")[0]
    assert reason in listed and "No MDT decision before the procedure" in listed


def test_a_blank_reason_is_no_override(patient, lesion, clinician, credentialed):
    with pytest.raises(ValidationError, match=NO_MDT):
        governed(patient, lesion, clinician, pathway_override_reason="   ")
    assert not Procedure.objects.exists()


def test_under_special_arrangements_consent_with_written_information_comes_first(
    patient, lesion, clinician, governance, site_a
):
    approve(
        site_a,
        governance,
        clinician,
        decision="approved_special",
        governance_leads_informed=True,
        operators=[{"user": clinician, "training": "RFA course", "credentialed_on": NEW_DECISION}],
    )
    day = day_of_procedure()
    mdt(patient, clinician, lesion, day - timedelta(days=10))
    with pytest.raises(ValidationError, match=NO_WRITTEN_CONSENT):
        governed(patient, lesion, clinician)
    consent(patient, clinician, day + timedelta(days=1))  # after it: does not count
    with pytest.raises(ValidationError, match=NO_WRITTEN_CONSENT):
        governed(patient, lesion, clinician)
    consent(patient, clinician, day - timedelta(days=1))
    assert governed(patient, lesion, clinician).governance.pathway_exceptions == []


def test_a_procedure_type_and_its_cement_must_agree(patient, lesion, clinician, credentialed):
    mdt(patient, clinician, lesion, day_of_procedure() - timedelta(days=3))
    for procedure_type, cement in (
        ("rfa_spinal_metastasis", "vertebroplasty"),
        ("rfa_vertebroplasty", "none"),
        ("rfa_vertebroplasty", "kyphoplasty"),
        ("osteoid_osteoma_thermocoagulation", "vertebroplasty"),
    ):
        with pytest.raises(ValidationError) as refused:
            governed(
                patient,
                lesion,
                clinician,
                procedure_type=procedure_type,
                cement=cement,
                cement_volume_ml=None if cement == "none" else 3,
                pathway_override_reason="Trying to get past the cement rule",
            )
        assert "cement" in refused.value.message_dict, (procedure_type, cement)
    assert not Procedure.objects.exists()


def test_an_adverse_event_after_the_patients_death_is_refused(procedure, clinician):
    patient = procedure.patient
    died_on = procedure.procedure_date + timedelta(days=10)
    actions.record_patient_status(
        patient, acting_user=clinician, status="died", status_date=died_on, death_related="no"
    )
    with pytest.raises(ValidationError, match="after the patient's death"):
        actions.record_adverse_event(
            patient,
            acting_user=clinician,
            procedure=procedure,
            event_type="haematoma",
            onset_date=died_on + timedelta(days=1),
            severity=1,
            device_related="no",
            outcome="resolved",
            description="Bruise",
        )


# Through the page, the API and the import: the same refusal, the same override.


def test_the_page_shows_the_rule_and_saves_with_an_override(
    client, patient, lesion, clinician, credentialed
):
    login(client, clinician)
    url = reverse("procedure_create", args=[patient.registry_number])
    day = day_of_procedure().isoformat()
    post = procedure_post(
        lesion,
        clinician,
        procedure_date=day,
        procedure_type="rfa_vertebroplasty",
        cement="vertebroplasty",
    )
    refused = client.post(url, post)
    page = refused.content.decode()
    assert refused.status_code == 200 and NO_MDT in page
    summary = page.split("nhsuk-error-summary__list")[1].split("</ul>")[0]
    assert "#id_pathway_override_reason" in summary  # the summary links to the field
    assert not Procedure.objects.exists()
    saved = client.post(url, {**post, "pathway_override_reason": "Emergency"})
    assert saved.status_code == 302
    assert Procedure.objects.get().governance.pathway_override_reason == "Emergency"


def api_body(lesion, **extra):
    return {
        "lesion_id": lesion.pk,
        "procedure_date": str(day_of_procedure()),
        "operators": ["alice"],
        "procedure_type": "rfa_vertebroplasty",
        "setting": "day_case",
        "anaesthesia": "general",
        "access": "percutaneous",
        "image_guidance": ["ct"],
        "device_manufacturer": "X",
        "device_model": "Y",
        "polarity": "bipolar",
        "active_tip_mm": 10,
        "cement": "vertebroplasty",
        "cement_volume_ml": 3,
        "thermal_protection": ["none"],
        "duration_min": 60,
        "cycles": [{"target_temp_c": 70, "time_at_target_s": 300}],
        **extra,
    }


def test_the_api_refuses_with_the_rule_and_accepts_an_override(
    client, patient, lesion, clinician, credentialed
):
    login(client, clinician)
    url = f"/api/patients/{patient.registry_number}/procedures"
    refused = client.post(url, data=api_body(lesion), content_type="application/json")
    assert refused.status_code == 422 and NO_MDT in refused.content.decode()
    assert not Procedure.objects.exists()
    saved = client.post(
        url,
        data=api_body(lesion, pathway_override_reason="Emergency"),
        content_type="application/json",
    )
    assert saved.status_code == 201, saved.content
    assert Procedure.objects.get().governance.pathway_exceptions == ["procedure_without_prior_mdt"]


def import_rows(patient, clinician, **extra):
    row = {
        "registry_number": patient.registry_number,
        "lesion": "L2",
        "procedure_date": str(day_of_procedure()),
        "operators": clinician.username,
        "procedure_type": "rfa_vertebroplasty",
        "setting": "day_case",
        "anaesthesia": "general",
        "approach": "transpedicular",
        "access": "percutaneous",
        "image_guidance": "ct",
        "device_manufacturer": "X",
        "device_model": "Y",
        "polarity": "bipolar",
        "active_tip_mm": "10",
        "cement": "vertebroplasty",
        "cement_volume_ml": "3",
        "thermal_protection": "none",
        "duration_min": "60",
        "post_imaging": "ct",
        "cycles": "70/300",
        **extra,
    }
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    text.seek(0)
    return csv.DictReader(text)


def test_the_import_refuses_the_row_and_accepts_an_override_column(
    patient, lesion, clinician, coordinator, credentialed
):
    report = import_procedures(
        import_rows(patient, clinician), site=patient.site, acting_user=coordinator
    )
    assert not report.ok and NO_MDT in " ".join(str(e) for e in report.errors)
    assert not Procedure.objects.exists()
    report = import_procedures(
        import_rows(patient, clinician, pathway_override_reason="Urgent: MDT next day"),
        site=patient.site,
        acting_user=coordinator,
    )
    assert report.ok, report.errors
    assert Procedure.objects.get().governance.pathway_override_reason == "Urgent: MDT next day"


# The patient page's checklist uses the same rules.


def test_the_checklist_reports_a_procedure_after_a_not_suitable_decision(
    client, patient, lesion, clinician, governance, site_a
):
    approve(
        site_a,
        governance,
        clinician,
        decision="approved_special",
        governance_leads_informed=True,
        operators=[{"user": clinician, "training": "RFA course", "credentialed_on": NEW_DECISION}],
    )
    day = day_of_procedure()
    # A decision to proceed, then one against it: the patient has a "proceed" on record (what
    # the old checklist looked for), but not as the latest decision before the procedure.
    mdt(patient, clinician, lesion, day - timedelta(days=20))
    mdt(patient, clinician, lesion, day - timedelta(days=5), "not_suitable")
    consent(patient, clinician, day - timedelta(days=1))
    governed(patient, lesion, clinician, pathway_override_reason="Patient's informed choice")
    login(client, clinician)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    checklist = page.split("Special arrangements checklist")[1].split("</ul>")[0]
    mdt_item = [line for line in checklist.split("<li") if "multidisciplinary" in line][0]
    assert 'data-done="no"' in mdt_item
    written = [line for line in checklist.split("<li") if "Written information" in line][0]
    assert 'data-done="yes"' in written


# Ablation cycles are not capped at four: "Add another cycle".


def test_add_another_cycle_adds_a_row_keeps_what_was_typed_and_saves_nothing(
    client, patient, lesion, clinician, credentialed
):
    mdt(patient, clinician, lesion, day_of_procedure() - timedelta(days=7))
    login(client, clinician)
    url = reverse("procedure_create", args=[patient.registry_number])
    post = procedure_post(
        lesion,
        clinician,
        procedure_date=day_of_procedure().isoformat(),
        procedure_type="rfa_vertebroplasty",
        cement="vertebroplasty",
        device_model="Typed before adding a row",
    )
    post["cycles-TOTAL_FORMS"] = "4"
    added = client.post(url, {**post, "add_cycle": "1"})
    page = added.content.decode()
    assert added.status_code == 200 and not Procedure.objects.exists()
    assert page.count("data-cycle=") == 5
    assert "Typed before adding a row" in page
    assert "nhsuk-error-summary" not in page
    five = {
        **post,
        "cycles-TOTAL_FORMS": "5",
        **{f"cycles-{i}-target_temp_c": str(70 + i) for i in range(5)},
        **{f"cycles-{i}-time_at_target_s": "120" for i in range(5)},
        **{f"cycles-{i}-power_w": "" for i in range(5)},
    }
    assert client.post(url, five).status_code == 302
    procedure = Procedure.objects.get()
    assert [float(c.target_temp_c) for c in procedure.cycles.order_by("order")] == [
        70,
        71,
        72,
        73,
        74,
    ]


# The audit's arrangements count what the rules count.


def test_the_audits_mdt_arrangement_is_the_pathway_rule(patient, lesion, clinician):
    from thermablate.audit import queries
    from thermablate.audit.analysis import cohort
    from thermablate.registry import data_quality as dq

    other = actions.add_lesion(
        patient,
        acting_user=clinician,
        bone_site="femur",
        diagnosis="osteoid_osteoma",
        lesion_type="sclerotic",
    )
    day = day_of_procedure()

    def procedure_on(offset_days, on_lesion=lesion):
        return actions.record_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(on_lesion, procedure_date=day + timedelta(days=offset_days)),
        )

    before_any = procedure_on(-30)  # no decision yet: not counted
    mdt(patient, clinician, lesion, day - timedelta(days=25))
    after_proceed = procedure_on(-20)  # counted
    mdt(patient, clinician, lesion, day - timedelta(days=15), "not_suitable")
    after_against = procedure_on(-10)  # the latest decision was against: not counted
    other_lesion = procedure_on(-5, other)  # a decision about another lesion: not counted
    mdt(patient, clinician, None, day - timedelta(days=3))  # about no lesion in particular
    after_general = procedure_on(0)  # counted
    flags = cohort.arrangement_flags(queries.tables_for(Procedure.objects.all()))["mdt"]
    expected = {
        before_any.pk: False,
        after_proceed.pk: True,
        after_against.pk: False,
        other_lesion.pk: False,
        after_general.pk: True,
    }
    assert flags.to_dict() == expected
    for procedure in Procedure.objects.all():
        assert expected[procedure.pk] == (not dq.breaches(procedure, dq.MDT_PATHWAY_RULES))
