"""Issue 15, the audit's side: ODI, BPI severity and interference and EQ VAS change from
baseline with their intervals, only from assessments done within their windows; follow-ups
reported by the patient counted apart; the scores and their source in both exports.

One spinal procedure 40 days ago, its answers (hand-computed scores):

    baseline (staff)     ODI 29/45 = 64.4 %   BPI severity (8+4+6+7)/4 = 6.25   interference 46/7
                         EQ VAS 35
    1 week, day 15: outside its window (4-10 days), ODI answered: never an outcome
    1 month (patient)    ODI 12/45 = 26.7 %   BPI severity (3+1+2+2)/4 = 2.0    interference 15/7
                         EQ VAS 70
"""

import csv
import json
from datetime import timedelta

import pytest
from django.urls import reverse

from tests.audit.conftest import grant_audit
from tests.audit.test_audit_aggregates import assert_same, both_paths
from tests.factories import login
from thermablate.audit import queries
from thermablate.audit.exports.run import export
from thermablate.registry import actions
from thermablate.registry import choices as c

ODI = [name for name, _ in c.ODI_SECTIONS]
INTERFERENCE = [name for name, _ in c.BPI_INTERFERENCE]


def answers(odi, least, now, interference, vas) -> dict:
    return {
        **dict(zip(ODI, odi, strict=True)),
        "bpi_least": least,
        "bpi_now": now,
        **dict(zip(INTERFERENCE, interference, strict=True)),
        "eq5d_vas": vas,
    }


BASELINE = answers([4, 3, 3, 4, 3, 3, 3, None, 3, 3], 4, 7, [7, 6, 7, 6, 5, 8, 7], 35)
MONTH = answers([2, 1, 1, 2, 1, 1, 1, None, 2, 1], 1, 2, [2, 2, 3, 2, 1, 3, 2], 70)


@pytest.fixture
def scored(procedure, clinician):
    day = procedure.procedure_date

    def record(timepoint, on, pain, average, given, user=clinician, **extra):
        actions.record_assessment(
            procedure.assessments.get(timepoint=timepoint),
            acting_user=user,
            analgesics=[],
            assessed_on=on,
            pain_worst=pain,
            pain_average=average,
            no_analgesics=True,
            **given,
            **extra,
        )

    record("baseline", day - timedelta(days=1), 8, 6, BASELINE)
    record(
        "1w",
        day + timedelta(days=15),
        5,
        4,
        {"odi_walking": 1},
        outside_window=True,
        outside_window_reason="Seen in clinic a week late",
    )
    record("1m", day + timedelta(days=30), 3, 2, MONTH, user=None, reported_by="patient")
    return procedure


def test_the_report_gives_the_reference_figures_for_the_new_scores(scored):
    pure, counted = both_paths(queries.CohortFilter(site=scored.patient.site))
    assert_same(pure, counted)
    month = {name: rows[1] for name, rows in counted.outcomes.items()}  # 1w, 1m, 3m, ...
    assert month["odi"].timepoint == "1m" and month["odi"].pairs == 1
    assert month["odi"].mean_change.value == pytest.approx(100 * (12 - 29) / 45)
    assert month["bpi_severity"].mean_change.value == pytest.approx(2.0 - 6.25)
    assert month["bpi_interference"].mean_change.value == pytest.approx((15 - 46) / 7)
    assert month["eq5d_vas"].mean_change.value == pytest.approx(35)
    assert all(month[name].improved.count == 1 for name in ("odi", "bpi_severity", "eq5d_vas"))
    # The 1-week ODI was answered outside its window: not an outcome, not a pair.
    week = counted.outcomes["odi"][0]
    assert (week.timepoint, week.pairs, week.left_out) == ("1w", 0, 0)
    follow_up = {row.timepoint: row for row in counted.follow_up}
    assert (follow_up["1m"].done_by_patient, follow_up["baseline"].done_by_staff) == (1, 1)
    assert (follow_up["1w"].done, follow_up["1w"].done_by_patient) == (0, 0)


def test_a_correction_of_the_patients_answers_reaches_the_report(scored, coordinator):
    month = scored.assessments.get(timepoint="1m")
    actions.record_assessment(
        month,
        acting_user=coordinator,
        analgesics=[],
        expected_version=month.version,
        correction_reason="EQ VAS misread from the form",
        eq5d_vas=60,
    )
    pure, figures = both_paths(queries.CohortFilter(site=scored.patient.site))
    assert_same(pure, figures)
    assert figures.outcomes["eq5d_vas"][1].mean_change.value == pytest.approx(25)
    # Still the patient's answers, corrected: counted as reported by the patient.
    assert {row.timepoint: row for row in figures.follow_up}["1m"].done_by_patient == 1


def test_the_dashboard_shows_the_change_in_each_score_and_who_reported(client, governance, scored):
    login(client, grant_audit(governance))
    page = client.get(reverse("audit_dashboard")).content.decode()
    for column, label in (
        ("odi", "Oswestry Disability Index (%)"),
        ("bpi_severity", "BPI pain severity (0-10)"),
        ("bpi_interference", "BPI pain interference (0-10)"),
        ("eq5d_vas", "EQ VAS (health today, 0-100)"),
    ):
        assert f'id="measure-{column}"' in page and label in page
    assert "fall of &gt;= 10 points or &gt;= 30 % (Ostelo et al. 2008)" in page
    assert 'data-column="by-patient">1<' in page  # the 1-month follow-up
    report = client.get(reverse("audit_report"), {"format": "html"}).content.decode()
    assert 'id="measure-odi"' in report and "Ostelo" in report and "Pickard" in report


def test_the_csv_carries_the_scores_and_who_reported_them(tmp_path, scored):
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    with out.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["baseline_reported_by"], row["1m_reported_by"]) == ("staff", "patient")
    assert (row["baseline_odi"], row["1m_odi"]) == ("64.4", "26.7")
    assert (row["baseline_bpi_severity"], row["1m_bpi_severity"]) == ("6.25", "2.0")
    assert (row["baseline_bpi_interference"], row["1m_bpi_interference"]) == ("6.57", "2.14")
    assert (row["baseline_eq5d_vas"], row["1m_eq5d_vas"]) == ("35", "70")
    # The out-of-window week keeps its answers in the export, marked: one section, not scored.
    assert (row["1w_outside_window"], row["1w_odi"]) == ("True", "")


def test_the_fhir_bundle_carries_the_answers_scores_and_the_patient_as_source(tmp_path, scored):
    out = tmp_path / "bundle.json"
    export(export_format="fhir", out=out, pseudonymised=True)
    resources = {e["resource"]["id"]: e["resource"] for e in json.loads(out.read_text())["entry"]}
    [month_id] = [key for key in resources if key.endswith("-1m-answers")]
    [baseline_id] = [key for key in resources if key.endswith("-baseline-answers")]
    month, baseline = resources[month_id], resources[baseline_id]
    assert month["source"] == month["subject"] and "source" not in baseline
    items = {item["linkId"]: item for item in month["item"]}
    assert items["reported_by"]["answer"][0]["valueString"] == "patient"
    assert items["eq5d_vas"]["answer"][0]["valueInteger"] == 70
    odi = [answer["linkId"] for answer in items["odi"]["item"]]
    assert odi == [name for name in ODI if name != "odi_sex_life"]  # unanswered: left out
    assert len(items["bpi"]["item"]) == 9
    prefix = month_id.removesuffix("-answers")
    assert resources[f"{prefix}-odi"]["valueQuantity"]["value"] == pytest.approx(26.67)
    assert resources[f"{prefix}-bpi-severity"]["valueQuantity"]["value"] == 2.0
    assert resources[f"{prefix}-eq-vas"]["valueInteger"] == 70
    assert "Fairbank" in resources[f"{prefix}-odi"]["method"]["text"]
