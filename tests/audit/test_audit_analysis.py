"""The reference path (``tests/audit/reference``, the oracle the production figures are
checked against) on a small cohort whose every figure was computed by hand (see the comments).

Four procedures on 1 Jan 2026, as of 1 Mar 2026: the 1-month window (21-42 days: 22 Jan to
12 Feb) has closed; the 3-month window (from 18 Mar) has not opened.

            baseline -> 1 month
    P1  pain 8 -> 4   EQ-5D 0.500 -> 0.600   OME 60 -> 30    operator A, lot LOT1
    P2  pain 6 -> 5   EQ-5D 0.400 -> 0.450   OME  0 ->  0    operator A
    P3  pain 0 -> 0   EQ-5D 0.800 -> 0.874   OME 40 -> 40 (an unconvertible drug at 1 month)
    P4  pain 9 -> 1-month missed                              operator B

and the scores of issue 15 (the 1-month answers of P1 reported by the patient):

            EQ VAS     ODI %      BPI severity  BPI interference
    P1      40 -> 60   50 -> 30   6.0 -> 3.0    5.0 -> 3.0
    P2      50 -> 56   40 -> 36   4.0 -> 3.0    3.0 -> 2.0
    P3      80 -> 87    0 ->  0   not asked     not asked at baseline -> 1.0
    P4      70 -> missed
"""

from datetime import date

import pandas as pd
import pytest

from tests.audit.reference import figures as reference
from tests.audit.reference.tables import ReferenceTables, empty_tables, events_frame
from thermablate.audit.analysis import outcomes
from thermablate.audit.analysis.tables import (
    ASSESSMENT_COLUMNS,
    CONSENT_COLUMNS,
    MDT_COLUMNS,
    OPERATOR_COLUMNS,
    PROCEDURE_COLUMNS,
    frame,
)

AS_OF = date(2026, 3, 1)
DAY0 = "2026-01-01"
NAN = float("nan")
EVENT_TYPES = {"cement_leakage": "Cement leakage", "infection": "Infection", "other": "Other"}


def _assessment(
    pid,
    timepoint,
    opens,
    closes,
    done,
    pain,
    eq5d_index,
    ome,
    unconvertible=0,
    scores=(),
    by="staff",
):
    """``scores``: EQ VAS, ODI, BPI severity and BPI interference (NaN where not given)."""
    in_error, not_done, follow_up_end, ended_on = False, False, "", None
    vas, odi, severity, interference = (*scores, NAN, NAN, NAN, NAN)[:4]
    return (
        pid,
        timepoint,
        opens,
        closes,
        done,
        in_error,
        not_done,
        follow_up_end,
        ended_on,
        pain,
        NAN if pain is NAN else pain,
        eq5d_index,
        ome,
        unconvertible,
        vas,
        odi,
        severity,
        interference,
        by,
    )


@pytest.fixture
def tables() -> ReferenceTables:
    procedures = frame(
        [
            # The last column, the MDT pathway rule as the database answers it: only patient
            # 1's decision to proceed (below) came before the procedure.
            (1, 1, "a", "rfa_vertebroplasty", DAY0, "LOT1", "vertebroplasty", 3.0, True),
            (2, 2, "a", "rfa_vertebroplasty", DAY0, "", "vertebroplasty", 4.0, False),
            (3, 3, "a", "rfa_kyphoplasty", DAY0, "", "kyphoplasty", None, False),
            (4, 4, "a", "rfa_spinal_metastasis", DAY0, "", "none", None, False),
        ],
        PROCEDURE_COLUMNS,
    )
    operators = frame([(1, 10, "A"), (2, 10, "A"), (3, 10, "A"), (4, 20, "B")], OPERATOR_COLUMNS)
    base = ("2025-11-20", DAY0)
    month = ("2026-01-22", "2026-02-12")
    three = ("2026-03-18", "2026-05-01")
    rows = [
        _assessment(1, "baseline", *base, "2025-12-31", 8, 0.5, 60.0, scores=(40, 50, 6, 5)),
        _assessment(
            1, "1m", *month, "2026-02-01", 4, 0.6, 30.0, scores=(60, 30, 3, 3), by="patient"
        ),
        _assessment(2, "baseline", *base, "2025-12-31", 6, 0.4, 0.0, scores=(50, 40, 4, 3)),
        _assessment(2, "1m", *month, "2026-02-01", 5, 0.45, 0.0, scores=(56, 36, 3, 2)),
        _assessment(3, "baseline", *base, "2025-12-31", 0, 0.8, 40.0, scores=(80, 0)),
        _assessment(
            3, "1m", *month, "2026-02-01", 0, 0.874, 40.0, unconvertible=1, scores=(87, 0, NAN, 1)
        ),
        _assessment(4, "baseline", *base, "2025-12-31", 9, 0.3, 20.0, scores=(70,)),
        _assessment(4, "1m", *month, None, NAN, NAN, NAN),
    ] + [_assessment(pid, "3m", *three, None, NAN, NAN, NAN) for pid in (1, 2, 3, 4)]
    assessments = frame(rows, ASSESSMENT_COLUMNS)
    events = events_frame(
        [
            (1, 1, "cement_leakage", 2, "2026-01-01", "unknown", "resolved", False, False),
            (2, 1, "infection", 3, "2026-01-10", "no", "resolved", True, False),
            (3, 4, "cement_leakage", 1, "2026-01-01", "yes", "resolved", False, False),
        ]
    )
    mdt = frame([(1, "2025-12-10", "proceed"), (2, "2026-01-05", "proceed")], MDT_COLUMNS)
    consents = frame(
        [
            (1, "2025-12-30", "Leaflet", True, True, True),
            (2, "2025-12-30", "Leaflet", False, True, False),
        ],
        CONSENT_COLUMNS,
    )
    return ReferenceTables(
        procedures=procedures,
        assessments=assessments,
        mdt=mdt,
        consents=consents,
        operators=operators,
        events=events,
    )


def test_it_counts_the_cohort(tables):
    size = reference.cohort_size(tables)
    assert (size.procedures, size.patients, size.operators) == (4, 4, 2)


def test_it_counts_follow_ups_due_done_and_missed(tables):
    rows = {
        row.timepoint: row for row in reference.follow_up_completeness(tables.assessments, AS_OF)
    }
    month = rows["1m"]
    assert (month.scheduled, month.due, month.done, month.missed) == (4, 4, 3, 1)
    assert month.completeness.share == pytest.approx(0.75)
    three = rows["3m"]
    assert (three.scheduled, three.due, three.done, three.missed, three.open) == (4, 0, 0, 0, 0)
    assert three.completeness.share is None
    assert reference.overdue_count(tables.assessments, AS_OF) == 1


def test_it_measures_completeness_of_the_key_fields(tables):
    fields = {row.field: row.proportion for row in reference.data_completeness(tables)}
    assert (fields["baseline_pain"].count, fields["baseline_pain"].total) == (4, 4)
    assert (fields["device_lot"].count, fields["device_lot"].total) == (1, 4)
    # Cement in P1-P3; P3 has no volume.
    assert (fields["cement_volume"].count, fields["cement_volume"].total) == (2, 3)
    assert (fields["any_follow_up"].count, fields["any_follow_up"].total) == (3, 4)


def test_it_counts_only_steps_dated_before_the_procedure(tables):
    items = {row.item: row.proportion for row in reference.special_arrangements(tables)}
    assert items["mdt"].count == 1  # patient 2's MDT met after the procedure
    assert items["consent"].count == 2
    assert items["written_information"].count == 2
    assert items["nice_information"].count == 1
    assert items["baseline"].count == 4
    assert all(p.total == 4 for p in items.values())


def test_it_computes_the_paired_change_in_pain(tables):
    result = reference.outcome_at(tables.assessments, outcomes.PAIN, "1m")
    # Changes -4, -1, 0: mean -5/3, SD 2.0817, t(2) = 4.3027 -> +/- 5.1714.
    assert result.pairs == 3
    assert result.mean_change.value == pytest.approx(-5 / 3)
    assert result.mean_change.low == pytest.approx(-5 / 3 - 5.1714, abs=1e-3)
    assert result.mean_change.high == pytest.approx(-5 / 3 + 5.1714, abs=1e-3)
    assert result.median_change.value == -1 and result.median_change.low is None
    # P1 improved (4 points), P2 did not (1 point, 17 %), P3 not evaluable (baseline 0).
    assert (result.improved.count, result.improved.total) == (1, 2)


def test_it_leaves_out_pairs_with_an_unconvertible_analgesic(tables):
    result = reference.outcome_at(tables.assessments, outcomes.OME, "1m")
    # P3 is left out; P1 60 -> 30, P2 0 -> 0: mean change -15; only P1 was on opioids.
    assert (result.pairs, result.left_out) == (2, 1)
    assert result.mean_change.value == pytest.approx(-15)
    assert (result.improved.count, result.improved.total) == (1, 1)
    assert reference.unconvertible_analgesic_count(tables.assessments) == 1


def test_it_counts_an_eq5d_rise_of_the_minimal_important_difference(tables):
    result = reference.outcome_at(tables.assessments, outcomes.EQ5D, "1m")
    # +0.100, +0.050, +0.074: P1 and P3 reach 0.074.
    assert result.mean_change.value == pytest.approx((0.1 + 0.05 + 0.074) / 3)
    assert (result.improved.count, result.improved.total) == (2, 3)


def test_it_counts_an_eq_vas_rise_of_seven_points(tables):
    result = reference.outcome_at(tables.assessments, outcomes.EQ_VAS, "1m")
    # +20, +6, +7: mean 11; P1 and P3 reach 7 (Pickard et al. 2007), P2 does not.
    assert result.pairs == 3 and result.mean_change.value == pytest.approx(11)
    assert (result.improved.count, result.improved.total) == (2, 3)


def test_it_counts_an_odi_fall_of_ten_points_or_thirty_per_cent(tables):
    result = reference.outcome_at(tables.assessments, outcomes.ODI, "1m")
    # -20, -4, 0: mean -8. P1 fell 20 points; P2 4 points (10 %): not; P3 at 0 cannot fall.
    assert result.pairs == 3 and result.mean_change.value == pytest.approx(-8)
    assert result.baseline_mean == pytest.approx(30) and result.follow_up_mean == pytest.approx(22)
    assert (result.improved.count, result.improved.total) == (1, 2)


def test_it_pairs_the_bpi_scores_where_both_were_answered(tables):
    severity = reference.outcome_at(tables.assessments, outcomes.BPI_SEVERITY, "1m")
    # P1 -3 (50 %): improved; P2 -1 (25 %): not. P3's 1-month BPI has no baseline: left out.
    assert (severity.pairs, severity.left_out) == (2, 1)
    assert severity.mean_change.value == pytest.approx(-2)
    assert (severity.improved.count, severity.improved.total) == (1, 2)
    interference = reference.outcome_at(tables.assessments, outcomes.BPI_INTERFERENCE, "1m")
    # P1 -2, P2 -1: both reach IMMPACT's 1 point.
    assert interference.pairs == 2 and interference.mean_change.value == pytest.approx(-1.5)
    assert (interference.improved.count, interference.improved.total) == (2, 2)


@pytest.mark.parametrize(
    ("measure", "baseline", "follow_up", "improved"),
    [
        (outcomes.ODI, 30.0, 20.0, True),  # 10 points
        (outcomes.ODI, 20.0, 14.5, False),  # 5.5 points, 27.5 %
        (outcomes.ODI, 20.0, 14.0, True),  # 6 points, 30 %
        (outcomes.BPI_SEVERITY, 2.5, 1.75, True),  # 0.75 points, 30 %
        (outcomes.BPI_SEVERITY, 7.0, 5.25, False),  # 1.75 points, 25 %
        (outcomes.BPI_INTERFERENCE, 3.0, 2.0, True),
        (outcomes.BPI_INTERFERENCE, 3.0, 15 / 7, False),  # 0.86 points
        (outcomes.EQ_VAS, 50.0, 57.0, True),
        (outcomes.EQ_VAS, 50.0, 56.0, False),
    ],
)
def test_the_important_changes_are_reached_at_their_thresholds(
    measure, baseline, follow_up, improved
):
    pairs = pd.DataFrame({"baseline": [baseline], "follow_up": [follow_up]})
    share = outcomes.improved_share(measure, pairs)
    assert (share.count, share.total) == (int(improved), 1)


def test_it_counts_follow_ups_reported_by_the_patient(tables):
    rows = {
        row.timepoint: row for row in reference.follow_up_completeness(tables.assessments, AS_OF)
    }
    assert (rows["1m"].done, rows["1m"].done_by_patient, rows["1m"].done_by_staff) == (3, 1, 2)
    assert (rows["baseline"].done_by_patient, rows["baseline"].done_by_staff) == (0, 4)


def test_it_rates_adverse_events_per_procedure(tables):
    rows = {
        row.code: row
        for row in reference.event_rates(tables.procedures, tables.events, EVENT_TYPES)
    }
    assert (rows["cement_leakage"].events, rows["cement_leakage"].rate.count) == (2, 2)
    assert rows["cement_leakage"].key_outcome and not rows["other"].key_outcome
    assert (rows["any"].events, rows["any"].rate.count, rows["any"].rate.total) == (3, 2, 4)
    assert rows["serious"].rate.count == 1
    assert rows["device_related"].rate.count == 1
    assert rows["cement_leakage"].evidence == ""  # the seeds state no rates


def test_it_builds_cusum_and_funnel_per_operator(tables):
    figures = reference.analyse(tables, AS_OF, EVENT_TYPES)
    charts = {chart.unit: chart for chart in figures.cusum}
    # A: P1 (complication), P2, P3 -> 0.598, 0.502, 0.407; B: P4 (complication) -> 0.598.
    assert charts["A"].values.tolist() == pytest.approx([0.597837, 0.502527, 0.407217], abs=1e-6)
    assert charts["B"].values.tolist() == pytest.approx([0.597837], abs=1e-6)
    points = {p.unit: (p.cases, p.events) for p in figures.operator_funnel.points}
    assert points == {"A": (3, 1), "B": (1, 1)}
    assert figures.operator_funnel.target == pytest.approx(0.5)


def test_it_handles_an_empty_cohort():
    figures = reference.analyse(empty_tables(), AS_OF, EVENT_TYPES)
    assert figures.size.procedures == 0
    assert all(row.pairs == 0 for rows in figures.outcomes.values() for row in rows)
    assert figures.cusum == []
    assert figures.events[0].rate.share is None
