"""A record marked "entered in error" leaves the audit's figures, its dashboard, the Yellow
Card drafts and the exports; the mark undone, it comes back (docs/audit.md). Marks are made
through ``registry.actions`` as a user would; both paths of the report (production and the
reference) must agree throughout.

The recorded cohort (``conftest.recorded_cohort``): one procedure 40 days ago with its
baseline and 1-month assessment, an MDT decision and a consent before it, and one cement
leakage reported to the Yellow Card scheme.
"""

import csv
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.audit.conftest import grant_audit
from tests.audit.records import new_patient, new_procedure
from tests.audit.test_audit_aggregates import assert_same, both_paths
from tests.factories import login
from thermablate.audit import queries
from thermablate.audit.exports.run import export
from thermablate.audit.models import CaseSummary
from thermablate.registry import actions
from thermablate.registry.models import Assessment, Procedure

WHY = "Recorded on the wrong patient"


def figures_of(site):
    pure, counted = both_paths(queries.CohortFilter(site=site))
    assert_same(pure, counted)
    return counted


def rows_of(figures) -> dict:
    return {row.timepoint: row for row in figures.follow_up}


def any_events(figures) -> int:
    return next(e for e in figures.events if e.code == "any").events


def mark(record, user):
    return actions.mark_entered_in_error(
        type(record).objects.get(pk=record.pk), reason=WHY, acting_user=user
    )


def undo(record, user):
    return actions.undo_entered_in_error(
        type(record).objects.get(pk=record.pk), reason="It was right after all", acting_user=user
    )


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def bundle_resources(path, kind: str) -> list[dict]:
    entries = json.loads(path.read_text())["entry"]
    return [e["resource"] for e in entries if e["resource"]["resourceType"] == kind]


@pytest.fixture
def second(recorded_cohort, clinician, site_a):
    """Another patient's procedure, 50 days ago, with nothing recorded after it."""
    patient = new_patient(site_a, clinician, 1)
    return new_procedure(patient, clinician, timezone.localdate() - timedelta(days=50))


def test_a_procedure_in_error_leaves_the_figures_with_its_follow_up(
    recorded_cohort, second, clinician
):
    site = second.patient.site
    before = figures_of(site)
    assert before.size.procedures == 2
    # The second's 1-week (days 4-10) and 1-month (21-42) windows closed without one.
    assert rows_of(before)["1m"].missed == 1 and rows_of(before)["1w"].missed == 2
    assert before.overdue == 3
    mark(second, clinician)
    assert CaseSummary.objects.get(procedure=second).stale  # its save marked it
    after = figures_of(site)
    assert (after.size.procedures, after.size.patients) == (1, 1)
    assert after.overdue == 1  # its missed 1-week follow-up went with it
    assert rows_of(after)["1w"].scheduled == 1 and rows_of(after)["1m"].missed == 0
    undo(second, clinician)
    assert figures_of(site).size.procedures == 2


def test_a_procedure_in_error_takes_its_adverse_events_and_operator_cases(
    recorded_cohort, clinician
):
    procedure = recorded_cohort["procedure"]
    site = procedure.patient.site
    assert any_events(figures_of(site)) == 1
    mark(procedure, clinician)
    after = figures_of(site)
    assert (after.size.procedures, any_events(after)) == (0, 0)
    assert after.operator_funnel.points == [] and after.cusum == []
    undo(procedure, clinician)
    assert any_events(figures_of(site)) == 1


def test_an_assessment_in_error_counts_as_not_recorded(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    site = procedure.patient.site
    month = procedure.assessments.get(timepoint="1m")
    assert rows_of(figures_of(site))["1m"].done == 1
    mark(month, clinician)
    month.refresh_from_db()
    assert month.pain_worst == 3  # its answers stay on the row, for the undo
    figures = figures_of(site)
    row = rows_of(figures)["1m"]
    # Day 40 of a 21-42 window: open again, as if never recorded; its pain is no outcome.
    assert (row.done, row.outside_window, row.open, row.due) == (0, 0, 1, 0)
    pain = next(o for o in figures.outcomes["pain_worst"] if o.timepoint == "1m")
    assert (pain.pairs, pain.left_out) == (0, 0)
    summary = CaseSummary.objects.get(procedure=procedure)
    assert (summary.done_1m, summary.pain_worst_1m) == (False, None)
    undo(month, clinician)
    assert rows_of(figures_of(site))["1m"].done == 1


def test_a_baseline_in_error_is_no_baseline(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    mark(procedure.assessments.get(timepoint="baseline"), clinician)
    figures = figures_of(procedure.patient.site)
    arrangements = {row.item: row.proportion.count for row in figures.arrangements}
    fields = {row.field: row.proportion.count for row in figures.fields}
    assert arrangements["baseline"] == 0 and fields["baseline_pain"] == 0
    assert figures.unconvertible_analgesics == 0  # the kratom was on the baseline


def test_an_adverse_event_in_error_leaves_the_safety_figures(recorded_cohort, clinician):
    site = recorded_cohort["patient"].site
    mark(recorded_cohort["event"], clinician)
    figures = figures_of(site)
    assert any_events(figures) == 0
    leakage = next(e for e in figures.events if e.code == "cement_leakage")
    assert (leakage.events, leakage.rate.count) == (0, 0)
    undo(recorded_cohort["event"], clinician)
    assert any_events(figures_of(site)) == 1


@pytest.mark.parametrize("step", ["mdt", "consent"])
def test_a_step_in_error_is_not_an_arrangement(recorded_cohort, clinician, step):
    patient = recorded_cohort["patient"]
    record = (patient.mdt_decisions if step == "mdt" else patient.consents).get()
    assert {r.item: r.proportion.count for r in figures_of(patient.site).arrangements}[step] == 1
    mark(record, clinician)
    assert CaseSummary.objects.get(procedure=recorded_cohort["procedure"]).stale
    assert {r.item: r.proportion.count for r in figures_of(patient.site).arrangements}[step] == 0
    undo(record, clinician)
    assert {r.item: r.proportion.count for r in figures_of(patient.site).arrangements}[step] == 1


def test_the_dashboard_lists_no_event_in_error_and_drafts_no_yellow_card(
    client, governance, recorded_cohort, clinician
):
    event = recorded_cohort["event"]
    login(client, grant_audit(governance))
    draft = reverse("yellow_card_draft", args=[event.pk])
    assert client.get(draft).status_code == 200
    listed = client.get(reverse("audit_dashboard")).content.decode()
    assert "Cement leakage" in listed.split('id="adverse-event-list"')[1]
    mark(event, clinician)
    assert client.get(draft).status_code == 404
    page = client.get(reverse("audit_dashboard")).content.decode()
    assert "None recorded." in page.split('id="adverse-event-list"')[1]
    assert 'id="kpi-procedures">1<' in page
    undo(event, clinician)
    assert client.get(draft).status_code == 200


def test_an_event_of_a_procedure_in_error_has_no_yellow_card_draft(
    client, governance, recorded_cohort, clinician
):
    login(client, grant_audit(governance))
    mark(recorded_cohort["procedure"], clinician)
    draft = reverse("yellow_card_draft", args=[recorded_cohort["event"].pk])
    assert client.get(draft).status_code == 404
    assert 'id="kpi-procedures">0<' in client.get(reverse("audit_dashboard")).content.decode()


def test_records_in_error_leave_the_csv(tmp_path, recorded_cohort, second, clinician):
    procedure = recorded_cohort["procedure"]
    mark(procedure.assessments.get(timepoint="1m"), clinician)
    mark(recorded_cohort["event"], clinician)
    mark(recorded_cohort["patient"].consents.get(), clinician)
    mark(second, clinician)  # the second patient's only procedure: the patient goes too
    out = tmp_path / "audit.csv"
    written = export(export_format="csv", out=out, pseudonymised=True)
    assert (written.patients, written.procedures) == (1, 1)
    [row] = read_csv(out)
    assert (row["1m_day"], row["1m_pain_worst"], row["baseline_day"]) == ("", "", "-1")
    assert (row["adverse_events"], row["adverse_event_types"]) == ("0", "")
    assert (row["consent_day"], row["registry_audit_consent"]) == ("", "False")
    assert row["mdt_decision_day"] == "-10"


def test_records_in_error_leave_the_fhir_bundle(tmp_path, recorded_cohort, second, clinician):
    procedure = recorded_cohort["procedure"]
    mark(procedure.assessments.get(timepoint="1m"), clinician)
    mark(recorded_cohort["event"], clinician)
    mark(second, clinician)
    out = tmp_path / "bundle.json"
    export(export_format="fhir", out=out, pseudonymised=False)
    assert len(bundle_resources(out, "Patient")) == 1
    assert len(bundle_resources(out, "Procedure")) == 1
    assert bundle_resources(out, "AdverseEvent") == []
    [answers] = bundle_resources(out, "QuestionnaireResponse")  # the baseline only
    timepoint = next(i for i in answers["item"] if i["linkId"] == "timepoint")
    assert timepoint["answer"][0]["valueString"] == "baseline"
    undo(second, clinician)
    export(export_format="fhir", out=out, pseudonymised=False)
    assert len(bundle_resources(out, "Procedure")) == 2


def test_a_procedure_in_error_has_its_summary_kept_but_never_selected(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    figures_of(procedure.patient.site)
    mark(procedure, clinician)
    figures_of(procedure.patient.site)
    summary = CaseSummary.objects.get(procedure=procedure)
    assert summary.entered_in_error and not summary.stale
    cohort = queries.CohortFilter(site=procedure.patient.site)
    assert not queries.summaries_in(cohort).exists()
    assert not queries.procedures_in(cohort).exists()
    assert Procedure.objects.filter(pk=procedure.pk).exists()  # nothing deleted
    assert Assessment.objects.filter(procedure=procedure).count() == 6
