"""The per-procedure summaries the report reads (``audit.summaries``) follow the registry:
every write through the actions marks them stale, the report rebuilds them, and the figures
stay those of the reference path (``tests/audit/reference``)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.audit.test_audit_aggregates import assert_same, both_paths
from thermablate.audit import aggregates, queries, summaries
from thermablate.audit.models import CaseSummary
from thermablate.clinical import opioids
from thermablate.registry import actions
from thermablate.registry import models as m
from thermablate.registry.backup import excluded, table_counts

MORPHINE_60 = {
    "drug": "morphine",
    "dose": Decimal("30"),
    "unit": "mg",
    "route": "oral",
    "doses_per_day": Decimal("2"),
    "as_needed": False,
}


def summary_of(procedure) -> CaseSummary:
    return CaseSummary.objects.get(procedure=procedure)


def cohort_of(procedure) -> queries.CohortFilter:
    return queries.CohortFilter(site=procedure.patient.site)


def reassess(assessment, clinician, **changes):
    """Record an assessment again with some answers changed, through the action."""
    fields = {
        name: getattr(assessment, name)
        for name in (
            "assessed_on",
            "pain_worst",
            "pain_average",
            "eq5d_mobility",
            "eq5d_self_care",
            "eq5d_usual_activities",
            "eq5d_pain_discomfort",
            "eq5d_anxiety_depression",
            "no_analgesics",
            "notes",
        )
    }
    fields.update(changes)
    if assessment.is_done:  # changing a recorded assessment is a correction, with its reason
        fields.setdefault("correction_reason", "Answers re-read from the paper form")
    analgesics = fields.pop("analgesics", [MORPHINE_60])
    return actions.record_assessment(
        assessment, acting_user=clinician, analgesics=analgesics, **fields
    )


def test_it_builds_a_summary_the_first_time_a_report_needs_it(recorded_cohort):
    procedure = recorded_cohort["procedure"]
    CaseSummary.objects.all().delete()
    pure, counted = both_paths(cohort_of(procedure))
    summary = summary_of(procedure)
    assert not summary.stale and summary.derivation == summaries.derivation()
    assert summary.mdt_before and summary.consent_before and summary.done_baseline
    assert summary.pain_worst_baseline == 8 and summary.pain_worst_1m == 3
    assert summary.ome_mg_per_day_baseline == 60 and summary.ome_not_convertible_baseline == 1
    assert not summary.done_1w and summary.pain_worst_1w is None
    assert_same(pure, counted)


def test_a_report_rebuilds_nothing_when_nothing_changed(recorded_cohort):
    assert summaries.refresh(m.Procedure.objects.all()) == 1
    assert summaries.refresh(m.Procedure.objects.all()) == 0


@pytest.mark.parametrize("change", ["assessment", "analgesics", "consent", "mdt", "coding"])
def test_a_write_through_the_actions_marks_the_summary_stale(recorded_cohort, clinician, change):
    procedure = recorded_cohort["procedure"]
    patient = recorded_cohort["patient"]
    summaries.refresh(m.Procedure.objects.all())
    one_month = procedure.assessments.get(timepoint="1m")
    when = procedure.procedure_date
    if change == "assessment":
        reassess(one_month, clinician, pain_worst=1, pain_average=1)
    elif change == "analgesics":
        reassess(one_month, clinician, analgesics=[{**MORPHINE_60, "dose": Decimal("5")}])
    elif change == "consent":
        actions.record_consent(
            patient,
            acting_user=clinician,
            consent_date=when - timedelta(days=1),
            leaflet_title="RF ablation leaflet",
            leaflet_version="3",
            nice_information_offered=False,
            uncertainties_discussed=False,
            registry_audit_consent=True,
        )
    elif change == "mdt":
        actions.record_mdt_decision(
            patient,
            acting_user=clinician,
            meeting_date=when - timedelta(days=3),
            member_roles=["interventional_radiologist", "spinal_surgeon"],
            decision="proceed",
        )
    else:
        actions.record_coding(procedure, acting_user=clinician, codes=["V52.2", "V55.9"])
    assert summary_of(procedure).stale
    pure, counted = both_paths(cohort_of(procedure))
    assert not summary_of(procedure).stale
    assert_same(pure, counted)


def test_the_figures_follow_a_changed_answer(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    cohort = cohort_of(procedure)
    _, before = both_paths(cohort)
    reassess(procedure.assessments.get(timepoint="1m"), clinician, pain_worst=8, pain_average=5)
    pure, after = both_paths(cohort)
    change = {row.timepoint: row.mean_change.value for row in after.outcomes["pain_worst"]}
    assert {r.timepoint: r.mean_change.value for r in before.outcomes["pain_worst"]}["1m"] == -5
    assert change["1m"] == 0
    assert_same(pure, after)


def test_a_procedure_moved_out_of_the_period_is_not_counted_from_its_old_summary(
    recorded_cohort,
):
    procedure = recorded_cohort["procedure"]
    when = procedure.procedure_date
    period = queries.CohortFilter(
        site=procedure.patient.site, date_from=when, date_to=when + timedelta(days=1)
    )
    _, before = both_paths(period)
    assert before.size.procedures == 1
    # A corrected procedure date (the admin site, or a future edit page, saves the model).
    procedure.procedure_date = when - timedelta(days=7)
    procedure.save()
    pure, after = both_paths(period)
    assert after.size.procedures == 0
    assert_same(pure, after)


@pytest.mark.parametrize("before", ["missing", "stale"])
def test_a_write_while_a_summary_is_rebuilt_is_not_lost(
    recorded_cohort, clinician, monkeypatch, before
):
    """The rebuild reads the records after clearing the stale flag: a write landing between
    the read and the store leaves the summary stale, and the next report has its figures."""
    procedure = recorded_cohort["procedure"]
    if before == "missing":
        CaseSummary.objects.all().delete()
    else:
        summaries.refresh(m.Procedure.objects.all())
        reassess(procedure.assessments.get(timepoint="1m"), clinician, pain_worst=3, notes="x")
        assert summary_of(procedure).stale
    build = summaries.build

    def build_then_write(procedures):
        built = build(procedures)  # figures from before the write
        reassess(procedure.assessments.get(timepoint="1m"), clinician, pain_worst=7)
        return built

    monkeypatch.setattr(summaries, "build", build_then_write)
    summaries.refresh(m.Procedure.objects.all())
    monkeypatch.undo()
    assert summary_of(procedure).pain_worst_1m == 3 and summary_of(procedure).stale
    pure, counted = both_paths(cohort_of(procedure))
    assert summary_of(procedure).pain_worst_1m == 7
    assert_same(pure, counted)


def test_a_new_conversion_table_rebuilds_every_summary(recorded_cohort, monkeypatch):
    procedure = recorded_cohort["procedure"]
    summaries.refresh(m.Procedure.objects.all())
    monkeypatch.setattr(opioids, "CONVERSION_TABLE_VERSION", "next")
    assert summaries.stale_or_missing(m.Procedure.objects.all()) == [procedure.pk]
    aggregates.figures(cohort_of(procedure), procedure.procedure_date)
    assert "OME table next" in summary_of(procedure).derivation


def test_a_deleted_procedure_leaves_no_summary(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    summaries.refresh(m.Procedure.objects.all())
    m.AdverseEvent.objects.filter(procedure=procedure).delete()
    # Deleting the procedure deletes its summary, then its assessments and analgesics,
    # whose receivers mark (and so re-create) the summary: refresh removes that orphan.
    procedure.delete()
    summaries.refresh(m.Procedure.objects.all())
    assert not CaseSummary.objects.exists()


def test_summaries_are_left_out_of_backups(recorded_cohort):
    summaries.refresh(m.Procedure.objects.all())
    assert "audit.CaseSummary" in excluded()
    assert "audit.CaseSummary" not in table_counts()


def test_the_command_builds_missing_summaries_and_rebuilds_all_on_request(recorded_cohort):
    procedure = recorded_cohort["procedure"]
    CaseSummary.objects.all().delete()
    out = StringIO()
    call_command("summaries", stdout=out)
    assert out.getvalue().startswith("1 of 1 procedure summaries built")
    assert not summary_of(procedure).stale
    call_command("summaries", stdout=out)
    assert "0 of 1 procedure summaries built" in out.getvalue()
    CaseSummary.objects.update(pain_worst_1m=None)  # a summary that no longer matches
    call_command("summaries", "--rebuild", stdout=out)
    assert summary_of(procedure).pain_worst_1m == 3


def test_a_write_marks_its_summary_once_even_if_the_receivers_are_connected_again(
    recorded_cohort, monkeypatch
):
    """The invalidation is wired in one place (``summaries.connect_signals``, called by
    ``AuditConfig.ready``); wiring it again adds no second receiver."""
    summaries.connect_signals()
    marked = []
    monkeypatch.setattr(summaries, "mark_stale", lambda ids: marked.append(sorted(ids)))
    procedure = recorded_cohort["procedure"]
    procedure.save()
    procedure.assessments.get(timepoint="1m").save()
    assert marked == [[procedure.pk], [procedure.pk]]
