"""A patient's status (died, withdrew, lost to follow-up) and "could not be done" in the
follow-up completeness figures, and withdrawn consent to registry use in the exports
(docs/audit.md, "Patient status and completeness" and "Exports").

The recorded cohort (``conftest.recorded_cohort``): one procedure 40 days ago, its baseline
done the day before, its 1-month assessment on day 30; the 1-week window (days 4-10) closed
without one; the 3-, 6- and 12-month windows have not opened.
"""

import csv
import json
from datetime import timedelta
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from tests.audit.conftest import grant_audit
from tests.audit.records import new_patient, new_procedure
from tests.audit.reference import analyse, load_tables
from tests.audit.reference import figures as reference
from tests.audit.test_audit_aggregates import assert_same
from tests.factories import login
from thermablate.audit import aggregates, queries
from thermablate.audit.analysis import cohort
from thermablate.audit.analysis.tables import ASSESSMENT_COLUMNS, frame
from thermablate.audit.exports.pseudonyms import date_shift_days
from thermablate.audit.exports.run import export
from thermablate.audit.models import CaseSummary
from thermablate.registry import actions
from thermablate.registry import choices as c
from thermablate.registry.models import FOLLOW_UP_ENDED, AuditEvent

LATER = ("3m", "6m", "12m")


def both_paths(site, as_of=None):
    """The figures by production and by the reference path, which must agree."""
    as_of = as_of or timezone.localdate()
    cohort_filter = queries.CohortFilter(site=site)
    counted = aggregates.figures(cohort_filter, as_of)
    assert_same(analyse(load_tables(cohort_filter), as_of, queries.EVENT_TYPES), counted)
    return counted


def rows_of(figures) -> dict:
    return {row.timepoint: row for row in figures.follow_up}


def set_status(patient, user, status, day: int, **extra):
    """Record the patient's status through the action, dated ``day`` days after the
    procedure of the recorded cohort (40 days ago)."""
    when = timezone.localdate() - timedelta(days=40 - day)
    if status == c.PatientStatus.DIED:
        extra.setdefault("death_related", c.DeathRelated.NO)
    return actions.record_patient_status(
        patient, acting_user=user, status=status, status_date=when, **extra
    )


# --- The definitions, on a table written by hand ------------------------------------------


def _row(timepoint, closes, assessed_on=None, in_error=False, not_done=False, end="", on=None):
    # Procedure on 1 Jan 2026; every window opens on 1 Jan for simplicity of the hand count.
    return (1, timepoint, "2026-01-01", closes, assessed_on, in_error, not_done, end, on)


HAND = [
    # (row, state): each state of cohort.follow_up_states, decided by hand.
    (_row("1w", "2026-01-11", assessed_on="2026-01-05"), "done"),
    (_row("1m", "2026-02-12", assessed_on="2026-03-01"), "outside"),
    # In error: answers on the row, counted as nothing (and the window closed: pending).
    (_row("1m", "2026-02-12", assessed_on="2026-01-30", in_error=True), "pending"),
    # Died on the window's last day: not eligible; the day after: the window had closed.
    (_row("3m", "2026-05-01", end="died", on="2026-05-01"), "not_eligible"),
    (_row("3m", "2026-05-01", end="died", on="2026-05-02"), "pending"),
    (_row("6m", "2026-07-31", end="withdrew_follow_up", on="2026-03-01"), "not_eligible"),
    (_row("6m", "2026-07-31", end="withdrew_consent", on="2026-03-01"), "not_eligible"),
    (_row("6m", "2026-07-31", end="lost_to_follow_up", on="2026-03-01"), "lost"),
    # Done before the death: done, whatever happened after.
    (_row("6m", "2026-07-31", assessed_on="2026-07-01", end="died", on="2026-07-10"), "done"),
    # The status comes first: a time point closed as "could not be done" of a patient who
    # then died is not eligible; one of a patient in follow-up is "could not be done".
    (_row("12m", "2027-01-31", not_done=True, end="died", on="2026-08-01"), "not_eligible"),
    (_row("12m", "2027-01-31", not_done=True), "not_done"),
    # A "could not be done" marked in error is as if never recorded.
    (_row("12m", "2027-01-31", not_done=True, in_error=True), "pending"),
]


def _hand_table() -> pd.DataFrame:
    rows = [(*row[:9], *[float("nan")] * 4, 0, *[float("nan")] * 4, "staff") for row, _ in HAND]
    table = frame(rows, ASSESSMENT_COLUMNS)
    table["procedure_id"] = range(len(rows))
    return table


def test_each_time_point_is_in_the_state_the_definitions_give():
    table = _hand_table()
    assert cohort.follow_up_states(table).tolist() == [state for _, state in HAND]


def test_the_reference_reads_the_states_the_same_way_on_a_report_date():
    table = _hand_table()
    flags = reference.follow_up_flags(table, pd.Timestamp("2026-03-15").date())
    assert (flags.drop(columns="timepoint").sum(axis=1) == 1).all()  # exactly one state each
    states = flags.drop(columns="timepoint").idxmax(axis=1).tolist()
    by_date = {"missed", "open", "later"}
    expected = [state for _, state in HAND]
    assert [s if s not in by_date else "pending" for s in states] == expected
    # Every window opened on 1 Jan: on 15 Mar the pending 1-month one (closed 12 Feb) is
    # missed, the 3-month and 12-month ones open.
    assert (states[2], states[4], states[11]) == ("missed", "open", "open")
    later = reference.follow_up_flags(table, pd.Timestamp("2025-12-01").date())
    assert later.later.sum() == 3  # the three pending ones, before any window opened


def test_the_audit_reads_the_statuses_the_registry_has():
    registry = set(c.PatientStatus.values) - {c.PatientStatus.ALIVE}
    assert set(FOLLOW_UP_ENDED) == registry
    assert cohort.NOT_ELIGIBLE_STATUSES | {cohort.LOST_STATUS} == registry
    assert set(reference.ENDS_ELIGIBILITY) | {reference.LOST} == registry


# --- Through the registry's actions -------------------------------------------------------


def test_follow_ups_after_a_death_are_closed_not_overdue(recorded_cohort, clinician):
    patient = recorded_cohort["patient"]
    before = rows_of(both_paths(patient.site))
    assert [before[tp].not_eligible for tp in LATER] == [0, 0, 0]
    set_status(patient, clinician, c.PatientStatus.DIED, day=30)
    figures = both_paths(patient.site)
    rows = rows_of(figures)
    for tp in LATER:
        row = rows[tp]
        assert (row.scheduled, row.not_eligible, row.missed, row.open, row.due) == (1, 1, 0, 0, 0)
        assert row.completeness.share is None  # nothing eligible: no denominator
    # The 1-week window closed (day 10) before the death (day 30): missed while in follow-up.
    assert (rows["1w"].missed, rows["1w"].not_eligible) == (1, 0)
    assert (rows["1m"].done, rows["1m"].not_eligible) == (1, 0)  # done before the death
    assert figures.overdue == 1


def test_recording_a_status_marks_the_summaries_stale(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    both_paths(procedure.patient.site)
    assert not CaseSummary.objects.get(procedure=procedure).stale
    set_status(procedure.patient, clinician, c.PatientStatus.WITHDREW_FOLLOW_UP, day=35)
    summary = CaseSummary.objects.get(procedure=procedure)
    assert summary.stale  # update_audited saves the patient: its post_save receiver ran
    rows = rows_of(both_paths(procedure.patient.site))
    assert [rows[tp].not_eligible for tp in LATER] == [1, 1, 1]
    summary.refresh_from_db()
    assert (summary.closed_3m, summary.closed_1m, summary.closed_1w) == ("not_eligible", "", "")


def test_returning_the_patient_to_follow_up_reopens_the_time_points(recorded_cohort, clinician):
    patient = recorded_cohort["patient"]
    set_status(patient, clinician, c.PatientStatus.DIED, day=30)
    assert rows_of(both_paths(patient.site))["3m"].not_eligible == 1
    patient.refresh_from_db()
    actions.record_patient_status(
        patient,
        acting_user=clinician,
        status=c.PatientStatus.ALIVE,
        reason="Recorded against the wrong patient",
    )
    row = rows_of(both_paths(patient.site))["3m"]
    assert (row.not_eligible, row.open, row.due) == (0, 0, 0)  # not yet open, as before


def test_a_patient_lost_to_follow_up_counts_as_missed_not_overdue(recorded_cohort, clinician):
    patient = recorded_cohort["patient"]
    set_status(patient, clinician, c.PatientStatus.LOST_TO_FOLLOW_UP, day=20)
    figures = both_paths(patient.site)
    rows = rows_of(figures)
    for tp in LATER:
        row = rows[tp]
        assert (row.missed, row.lost, row.not_eligible, row.open, row.due) == (1, 1, 0, 0, 1)
        assert (row.completeness.count, row.completeness.total) == (0, 1)
    assert rows["1m"].done == 1  # done on day 30, after the patient was recorded lost
    assert figures.overdue == 1  # the 1-week one; there is no one to chase for the rest
    html = render_to_string("audit/_figures.html", {"figures": figures, "charts": {}})
    assert "<td>1 (1 lost)</td>" in html.split('data-timepoint="3m"')[1].split("</tr>")[0]


def test_a_time_point_that_could_not_be_done_is_due_and_not_done(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    week = procedure.assessments.get(timepoint="1w")
    actions.record_not_done(week, reason="In hospital elsewhere that week", acting_user=clinician)
    figures = both_paths(procedure.patient.site)
    week_row = rows_of(figures)["1w"]
    assert (week_row.not_done, week_row.missed, week_row.due, week_row.done) == (1, 0, 1, 0)
    assert week_row.completeness.share == 0
    assert figures.overdue == 0  # closed, with its reason: nothing to chase
    html = render_to_string("audit/_figures.html", {"figures": figures, "charts": {}})
    row_html = html.split('data-timepoint="1w"')[1].split("</tr>")[0]
    assert '<td data-column="not-done">1</td>' in row_html
    assert "Could not be done" in html and "Closed: not eligible" in html


def test_a_grade_5_event_closes_the_follow_up_from_its_onset(recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    actions.record_adverse_event(
        procedure.patient,
        acting_user=clinician,
        procedure=procedure,
        event_type="other",
        symptomatic=True,
        onset_date=procedure.procedure_date + timedelta(days=35),
        severity=5,
        device_related="unknown",
        outcome="fatal",
        description="Died of a pulmonary embolism.",
    )
    rows = rows_of(both_paths(procedure.patient.site))
    assert [rows[tp].not_eligible for tp in LATER] == [1, 1, 1]


def test_the_dashboard_shows_the_closed_columns(client, governance, recorded_cohort, clinician):
    set_status(recorded_cohort["patient"], clinician, c.PatientStatus.DIED, day=30)
    login(client, grant_audit(governance))
    page = client.get(reverse("audit_dashboard")).content.decode()
    row = page.split('data-timepoint="6m"')[1].split("</tr>")[0]
    assert '<td data-column="not-eligible">1</td>' in row
    assert 'id="kpi-overdue">1<' in page


# --- Exports: a death is in them; a withdrawal of consent takes the patient out -----------


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_death_is_in_both_exports(tmp_path, recorded_cohort, clinician):
    patient = recorded_cohort["patient"]
    set_status(patient, clinician, c.PatientStatus.DIED, day=30, death_related="no")
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    [row] = read_csv(out)
    assert (row["patient_status"], row["patient_status_day"], row["death_related"]) == (
        "died",
        "30",
        "no",
    )
    died_on = recorded_cohort["procedure"].procedure_date + timedelta(days=30)
    for pseudonymised, shown in (
        (False, died_on),
        (True, died_on + timedelta(days=date_shift_days(patient.registry_number))),
    ):
        bundle = tmp_path / f"bundle-{pseudonymised}.json"
        export(export_format="fhir", out=bundle, pseudonymised=pseudonymised)
        [person] = [
            e["resource"]
            for e in json.loads(bundle.read_text())["entry"]
            if e["resource"]["resourceType"] == "Patient"
        ]
        assert person["deceasedDateTime"] == shown.isoformat()
        get_fhir_model_class("Patient").model_validate(person)


def test_a_time_point_that_could_not_be_done_is_marked_in_the_csv(
    tmp_path, recorded_cohort, clinician
):
    week = recorded_cohort["procedure"].assessments.get(timepoint="1w")
    reason = "Too unwell to answer the questions"
    actions.record_not_done(week, reason=reason, acting_user=clinician)
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    [row] = read_csv(out)
    assert (row["1w_not_done"], row["1m_not_done"], row["3m_not_done"]) == ("True", "False", "")
    assert reason not in out.read_text()  # free text stays in the registry


@pytest.fixture
def withdrawn(recorded_cohort, clinician, site_a):
    """The recorded cohort's patient withdrew consent to registry use on day 35; a second
    patient, in follow-up, has a procedure 20 days ago."""
    other = new_patient(site_a, clinician, 1)
    new_procedure(other, clinician, timezone.localdate() - timedelta(days=20))
    set_status(
        recorded_cohort["patient"],
        clinician,
        c.PatientStatus.WITHDREW_CONSENT,
        day=35,
        notes="Letter of 3 March: no longer wishes her data used by the registry",
    )
    return {"withdrawn": recorded_cohort["patient"], "other": other}


def test_withdrawn_consent_keeps_the_patient_in_the_local_audit(withdrawn):
    figures = both_paths(withdrawn["withdrawn"].site)
    assert (figures.size.procedures, figures.size.patients) == (2, 2)
    rows = rows_of(figures)
    assert rows["1m"].done == 1  # the withdrawn patient's 1-month answers still count locally
    assert rows["3m"].not_eligible == 1  # and their follow-up after the withdrawal is closed
    assert next(e for e in figures.events if e.code == "any").events == 1


@pytest.mark.parametrize("export_format", ["csv", "fhir"])
@pytest.mark.parametrize("pseudonymised", [True, False])
def test_withdrawn_consent_takes_the_patient_out_of_every_export(
    tmp_path, withdrawn, governance, export_format, pseudonymised
):
    out = tmp_path / f"export.{export_format}"
    written = export(
        export_format=export_format,
        out=out,
        pseudonymised=pseudonymised,
        acting_user=governance,
    )
    assert (written.patients, written.procedures) == (1, 1)
    assert written.left_out == {"withdrew_consent": 1}
    assert written.describe_left_out() == "1 patient left out: withdrew consent to registry use"
    text = out.read_text()
    gone, kept = withdrawn["withdrawn"], withdrawn["other"]
    if pseudonymised:
        from thermablate.audit.exports.pseudonyms import pseudonym

        assert pseudonym(gone.registry_number) not in text
        assert pseudonym(kept.registry_number) in text
    else:
        assert gone.registry_number not in text and gone.nhs_number not in text
        assert kept.registry_number in text
    assert "cement_leakage" not in text  # the withdrawn patient's adverse event
    entry = AuditEvent.objects.filter(action="export").latest("id")
    assert entry.changes["left_out"] == {"withdrew_consent": 1}
    assert entry.changes["patients"] == 1


def test_the_export_command_says_who_was_left_out_and_why(tmp_path, withdrawn, governance):
    out = StringIO()
    call_command(
        "export",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "audit.csv"),
        "--pseudonymised",
        "--user",
        governance.username,
        stdout=out,
    )
    assert "Wrote 1 procedures of 1 patients" in out.getvalue()
    assert "1 patient left out: withdrew consent to registry use." in out.getvalue()


def test_an_export_says_nobody_was_left_out_when_nobody_was(tmp_path, recorded_cohort):
    written = export(export_format="csv", out=tmp_path / "audit.csv", pseudonymised=True)
    assert written.left_out == {} and written.describe_left_out() == ""
    entry = AuditEvent.objects.filter(action="export").latest("id")
    assert entry.changes["left_out"] == {}


def test_returning_consent_brings_the_patient_back_into_the_exports(tmp_path, withdrawn, clinician):
    patient = withdrawn["withdrawn"]
    patient.refresh_from_db()
    actions.record_patient_status(
        patient,
        acting_user=clinician,
        status=c.PatientStatus.ALIVE,
        reason="Consent given again in clinic",
    )
    written = export(export_format="csv", out=tmp_path / "audit.csv", pseudonymised=True)
    assert (written.patients, written.left_out) == (2, {})
