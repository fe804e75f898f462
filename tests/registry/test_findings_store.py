"""The Data quality page counts kept findings (``registry.findings_store``): after every kind
of write, and as days pass with no write, they must equal the rules evaluated from scratch
over the live records, rule by rule (``data_quality.firing``, what the warning on save and the
list use)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from thermablate.registry import actions, findings_store
from thermablate.registry import data_quality as dq
from thermablate.registry.models import (
    AblationCycle,
    Assessment,
    Lesion,
    LocalApproval,
    Patient,
    ProcedureGovernance,
    StoredFindingsState,
)

OPEN, ACKNOWLEDGED = dq.Status.OPEN, dq.Status.ACKNOWLEDGED


def from_scratch(site, today) -> dict[str, tuple[int, int]]:
    counts = {}
    for rule in dq.RULES:
        records = dq.site_records(rule.record_type, site)
        counts[rule.code] = tuple(
            dq.firing(records, rule, today, status).count() for status in (OPEN, ACKNOWLEDGED)
        )
    return counts


def kept(site, today) -> dict[str, tuple[int, int]]:
    """The page's counts, each checked against the rules evaluated from scratch."""
    counts = {
        count.rule.code: (count.open, count.acknowledged)
        for count in findings_store.count_findings(site, today=today)
    }
    assert counts == from_scratch(site, today)
    return counts


def test_the_kept_counts_follow_every_kind_of_write(site_a, clinician, patient, procedure, today):
    assert kept(site_a, today)["procedure_without_prior_mdt"] == (1, 0)
    # Creates: an MDT decision and a consent before the procedure.
    decision = actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=procedure.procedure_date - timedelta(days=10),
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="proceed",
        ecog_performance_status=1,
    )
    assert kept(site_a, today)["procedure_without_prior_mdt"] == (0, 0)
    # A correction: the decision was against the procedure.
    decision = actions.correct_record(
        decision, {"decision": "not_suitable"}, reason="Misread the minutes", acting_user=clinician
    )
    counts = kept(site_a, today)
    assert counts["procedure_against_mdt_decision"] == (1, 0)
    # "Entered in error", and its undoing.
    actions.mark_entered_in_error(decision, reason="Another patient's", acting_user=clinician)
    counts = kept(site_a, today)
    assert counts["procedure_against_mdt_decision"] == (0, 0)
    assert counts["procedure_without_prior_mdt"] == (1, 0)
    decision.refresh_from_db()
    actions.undo_entered_in_error(decision, reason="It was this patient's", acting_user=clinician)
    assert kept(site_a, today)["procedure_against_mdt_decision"] == (1, 0)
    # An acknowledgement moves a finding from open to acknowledged.
    procedure.refresh_from_db()
    actions.acknowledge_finding(
        dq.RULE_BY_CODE["procedure_without_prior_consent"],
        procedure,
        acting_user=clinician,
        reason="Consent is in the hospital's notes",
    )
    assert kept(site_a, today)["procedure_without_prior_consent"] == (0, 1)
    # An assessment with its analgesics, recorded outside its window.
    assessment = Assessment.objects.get(procedure=procedure, timepoint="baseline")
    actions.record_assessment(
        assessment,
        acting_user=clinician,
        analgesics=[
            {
                "drug": "morphine",
                "dose": Decimal("10"),
                "unit": "mg",
                "route": "oral",
                "doses_per_day": Decimal("2"),
            }
        ],
        assessed_on=assessment.window_opens - timedelta(days=3),
        outside_window=True,
        outside_window_reason="Seen in clinic early",
        pain_worst=4,
        pain_average=3,
        eq5d_mobility=2,
        eq5d_self_care=1,
        eq5d_usual_activities=2,
        eq5d_pain_discomfort=3,
        eq5d_anxiety_depression=1,
    )
    counts = kept(site_a, today)
    assert counts["assessment_outside_window"] == (1, 0)
    # The procedure corrected: its cycles are replaced (bulk_create, no model signal).
    procedure.refresh_from_db()
    actions.correct_procedure(
        procedure,
        reason="The cycle was at 120 C",
        acting_user=clinician,
        operators=[clinician],
        cycles=[{"target_temp_c": Decimal("39"), "time_at_target_s": 300}],
    )
    assert kept(site_a, today)["cycle_temperature_implausible"] == (1, 0)
    # The procedure in error takes its cycles', assessments' and analgesics' findings along.
    procedure.refresh_from_db()
    actions.mark_entered_in_error(procedure, reason="Wrong patient", acting_user=clinician)
    counts = kept(site_a, today)
    assert counts["cycle_temperature_implausible"] == (0, 0)
    assert counts["assessment_outside_window"] == (0, 0)
    assert counts["procedure_without_prior_consent"] == (0, 0)


def test_findings_that_come_with_the_days_are_counted_without_a_write(
    site_a, patient, procedure, today
):
    """The baseline's window closes, a patient turns 111 on New Year's Day: nothing is
    written, yet the rules fire from that day on."""
    baseline = Assessment.objects.get(procedure=procedure, timepoint="baseline")
    Patient.objects.filter(pk=patient.pk).update(year_of_birth=today.year - 110)
    new_year = date(today.year + 1, 1, 1)
    before = kept(site_a, new_year - timedelta(days=1))
    after = kept(site_a, new_year)
    assert before["patient_age_implausible"] == (0, 0)
    assert after["patient_age_implausible"] == (1, 0)
    assert kept(site_a, baseline.window_closes)["assessment_baseline_missing"] == (0, 0)
    assert kept(site_a, baseline.window_closes + timedelta(days=1))[
        "assessment_baseline_missing"
    ] == (1, 0)


@pytest.mark.parametrize("rule", dq.RULES, ids=lambda rule: rule.code)
def test_only_the_rules_marked_as_changing_with_the_day_read_it(rule):
    """A rule that reads ``today`` without saying so would be kept, and then be wrong from
    the day its truth changed until its record's next write."""

    def sql(day):
        query = rule.record_type.model.objects.filter(rule.where(day)).query
        text, params = query.sql_with_params()
        # psycopg wraps a JSON parameter in an object compared by identity: compare its value.
        return text, [getattr(param, "obj", param) for param in params]

    reads_the_day = sql(date(2025, 6, 30)) != sql(date(2031, 1, 1))
    assert reads_the_day == rule.changes_with_today


def test_writes_that_send_no_signal_are_kept_too(site_a, clinician, lesion, procedure, today):
    """``QuerySet.update``, ``bulk_create`` and a delete mark their patients (triggers), and
    a write that rolls back leaves nothing behind."""
    kept(site_a, today)
    Lesion.objects.filter(pk=lesion.pk).update(primary_tumour="", spinal_levels=" ")
    assert kept(site_a, today)["lesion_spinal_metastasis_without_level"] == (1, 0)
    AblationCycle.objects.bulk_create(
        [AblationCycle(procedure=procedure, order=2, target_temp_c=120, time_at_target_s=60)]
    )
    assert kept(site_a, today)["cycle_temperature_implausible"] == (1, 0)
    AblationCycle.objects.filter(procedure=procedure, order=2).delete()
    assert kept(site_a, today)["cycle_temperature_implausible"] == (0, 0)
    with transaction.atomic():
        AblationCycle.objects.filter(procedure=procedure).delete()
        assert kept(site_a, today)["procedure_without_cycles"] == (1, 0)
        transaction.set_rollback(True)
    assert kept(site_a, today)["procedure_without_cycles"] == (0, 0)
    assert not StoredFindingsState.objects.filter(stale=True).exists()


def test_an_approvals_changed_decision_changes_its_procedures_findings(
    site_a, approved_site, procedure, today
):
    approval = next(a for a in approved_site if a.procedure_type == procedure.procedure_type)
    ProcedureGovernance.objects.create(procedure=procedure, approval=approval)
    assert kept(site_a, today)["procedure_special_without_written_consent"] == (0, 0)
    LocalApproval.objects.filter(pk=approval.pk).update(decision="approved_special")
    assert kept(site_a, today)["procedure_special_without_written_consent"] == (1, 0)


def test_a_missing_trigger_is_put_back_and_everything_rebuilt(site_a, procedure, today):
    """SQLite drops a table's triggers when a migration rebuilds the table: after ``migrate``
    they are checked and put back, and every patient's findings rebuilt."""
    assert findings_store.installed_triggers() == set(
        findings_store._trigger_names(connection.vendor)
    )
    kept(site_a, today)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER stale_findings_registry_lesion ON registry_lesion")
        else:
            cursor.execute("DROP TRIGGER stale_findings_registry_lesion_update")
    assert findings_store.install_triggers()
    assert StoredFindingsState.objects.filter(stale=True).exists()
    assert not findings_store.install_triggers()
    kept(site_a, today)


def test_records_pointing_at_another_patients_records_are_kept_right(
    site_a, clinician, patient, lesion, procedure, today
):
    """Wrong data the rules exist to catch: another patient's adverse event and MDT decision
    point at this patient's procedure and lesion, whose changes change their findings."""
    from tests.factories import VALID_NHS_NUMBERS
    from thermablate.registry.models import AdverseEvent, MdtDecisionRecord, Procedure

    other = actions.create_patient(
        site=site_a,
        acting_user=clinician,
        nhs_number=VALID_NHS_NUMBERS[1],
        year_of_birth=1960,
        sex="male",
    )
    AdverseEvent.objects.create(
        patient=other,
        procedure=procedure,
        event_type="infection",
        onset_date=procedure.procedure_date,
        severity=2,
        description="Wound infection",
    )
    MdtDecisionRecord.objects.create(
        patient=other,
        lesion=lesion,
        meeting_date=procedure.procedure_date,
        member_roles=["interventional_radiologist"],
        decision="proceed",
    )
    assert kept(site_a, today)["adverse_event_before_procedure"] == (0, 0)
    Procedure.objects.filter(pk=procedure.pk).update(
        procedure_date=procedure.procedure_date + timedelta(days=1)
    )
    assert kept(site_a, today)["adverse_event_before_procedure"] == (1, 0)
    ecog_missing = kept(site_a, today)["mdt_ecog_missing"]
    Lesion.objects.filter(pk=lesion.pk).update(diagnosis="osteoid_osteoma")
    assert kept(site_a, today)["mdt_ecog_missing"] != ecog_missing


def test_the_summaries_command_builds_the_kept_findings_before_the_first_page(
    site_a, procedure, today
):
    """After a bulk load, an upgrade or a restore, ``thermablate summaries`` builds the kept
    findings too, so the first Data quality page does not pay for every patient (and
    ``--rebuild`` rebuilds them all, from a store that no longer matches)."""
    from io import StringIO

    from django.core.management import call_command

    from thermablate.registry.models import StoredFinding

    assert StoredFindingsState.objects.filter(stale=True).exists()  # the procedure's writes
    out = StringIO()
    call_command("summaries", stdout=out)
    assert "data-quality findings of 1 patient rebuilt" in out.getvalue()
    assert not StoredFindingsState.objects.filter(stale=True).exists()
    found = StoredFinding.objects.count()
    assert found > 0
    StoredFinding.objects.all().delete()  # a store that no longer matches the records
    call_command("summaries", "--rebuild", stdout=out)
    assert StoredFinding.objects.count() == found
    kept(site_a, today)
