"""An assessment recorded outside its time point's window (marked so, with a reason) is counted
out of window by the report (production and reference paths alike), its answers are not used
as outcomes, and the exports carry the mark."""

import csv
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.audit.reference import analyse, load_tables
from tests.audit.test_audit_aggregates import assert_same
from thermablate.audit import aggregates, queries
from thermablate.audit.exports.run import export
from thermablate.registry import actions

REASON = "Seen early: admitted for radiotherapy"


@pytest.fixture
def early_week(recorded_cohort, clinician):
    """The recorded cohort's 1-week follow-up, taken at day 20 (its window is days 4-10)."""
    procedure = recorded_cohort["procedure"]
    week = procedure.assessments.get(timepoint="1w")
    actions.record_assessment(
        week,
        acting_user=clinician,
        analgesics=[],
        assessed_on=procedure.procedure_date + timedelta(days=20),
        pain_worst=1,
        pain_average=1,
        no_analgesics=True,
        outside_window=True,
        outside_window_reason=REASON,
    )
    return week


def test_both_paths_count_it_out_of_window_and_not_as_done(early_week, recorded_cohort):
    cohort = queries.CohortFilter(site=recorded_cohort["patient"].site)
    as_of = timezone.localdate()
    pure = analyse(load_tables(cohort), as_of, queries.EVENT_TYPES)
    counted = aggregates.figures(cohort, as_of)
    assert_same(pure, counted)
    week = next(row for row in counted.follow_up if row.timepoint == "1w")
    assert (week.scheduled, week.done, week.outside_window, week.missed, week.due) == (
        1,
        0,
        1,
        0,
        1,
    )
    assert week.completeness.count == 0
    month = next(row for row in counted.follow_up if row.timepoint == "1m")
    assert (month.done, month.outside_window) == (1, 0)
    # Its pain (1/10, baseline 8) is no 1-week outcome: no pair, and not "done, left out".
    pain = next(o for o in counted.outcomes["pain_worst"] if o.timepoint == "1w")
    assert (pain.pairs, pain.left_out) == (0, 0)


def test_the_report_page_shows_the_out_of_window_column(early_week, recorded_cohort):
    from django.template.loader import render_to_string

    cohort = queries.CohortFilter(site=recorded_cohort["patient"].site)
    figures = aggregates.figures(cohort, timezone.localdate())
    html = render_to_string("audit/_figures.html", {"figures": figures, "charts": {}})
    assert "Out of window" in html
    week_row = html.split('data-timepoint="1w"')[1].split("</tr>")[0]
    assert "<td>0</td><td>1</td><td>0</td>" in week_row  # done, out of window, missed


def test_the_csv_carries_the_mark_per_time_point(tmp_path, early_week):
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    with out.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["1w_outside_window"], row["1w_day"]) == ("True", "20")
    assert row["1m_outside_window"] == "False"
    assert REASON not in out.read_text()  # free text stays in the registry


def test_the_fhir_answers_carry_the_mark(tmp_path, early_week):
    out = tmp_path / "bundle.json"
    export(export_format="fhir", out=out, pseudonymised=True)
    responses = [
        entry["resource"]
        for entry in json.loads(out.read_text())["entry"]
        if entry["resource"]["resourceType"] == "QuestionnaireResponse"
    ]

    def marked(response):
        return any(item["linkId"] == "outside_window" for item in response["item"])

    timepoints = {
        next(i["answer"][0]["valueString"] for i in r["item"] if i["linkId"] == "timepoint"): r
        for r in responses
    }
    assert marked(timepoints["1w"]) and not marked(timepoints["1m"])
