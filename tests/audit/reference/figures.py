"""Every figure of the governance report, computed with pandas from the reference tables.

The definitions are production's (``thermablate.audit.analysis``: the docstrings of
``cohort``, ``outcomes`` and ``safety``); what differs is the route. Production counts in the
database over one summary row per procedure; here every count is taken over the raw rows,
and the figures are made with the same pure constructors (``follow_up_from_counts``,
``field_completeness``, ``outcomes_from_wide``, ``rates_from_counts``, ...), so that a
difference between the two paths can only come from what is counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from tests.audit.reference.tables import ReferenceTables
from thermablate.audit.analysis import cohort, outcomes, safety
from thermablate.audit.analysis.summary import AuditFigures, monitoring
from thermablate.audit.analysis.tables import FOLLOW_UP_TIMEPOINTS


def cohort_size(tables: ReferenceTables) -> cohort.CohortSize:
    procedures = tables.procedures
    dates = procedures.procedure_date
    return cohort.CohortSize(
        procedures=len(procedures),
        patients=int(procedures.patient_id.nunique()),
        operators=int(tables.operators.operator_id.nunique()),
        first_procedure=dates.min().date() if len(dates) else None,
        last_procedure=dates.max().date() if len(dates) else None,
    )


# The reference's own reading of the patient statuses (registry.choices.PatientStatus), kept
# apart from production's (analysis.cohort): the follow-up of a patient who died or withdrew
# ends their eligibility; one lost to follow-up stays eligible and unreached.
ENDS_ELIGIBILITY = ("died", "withdrew_follow_up", "withdrew_consent")
LOST = "lost_to_follow_up"


def follow_up_flags(assessments: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per scheduled assessment, one flag per state on ``as_of`` (docs/audit.md, "Follow-up
    completeness"): done, outside, not_eligible, lost, not_done, missed, open, later. Written
    out here, row by row in vectorised form, rather than taken from production
    (``cohort.follow_up_states``): exactly one flag is set in each row."""
    today = pd.Timestamp(as_of)
    done = done_in_window(assessments)
    outside = recorded(assessments) & ~done
    nothing = ~recorded(assessments)
    # The window's last day is on or after the day the patient's follow-up ended.
    ended = assessments.follow_up_ended_on.notna() & (
        assessments.follow_up_ended_on <= assessments.window_closes
    )
    not_eligible = nothing & ended & assessments.follow_up_end.isin(ENDS_ELIGIBILITY)
    lost = nothing & ended & (assessments.follow_up_end == LOST)
    # A "could not be done" on an assessment marked in error is as if never recorded.
    in_error = assessments.entered_in_error.astype(bool)
    not_done = nothing & ~not_eligible & ~lost & assessments.not_done.astype(bool) & ~in_error
    pending = nothing & ~not_eligible & ~lost & ~not_done
    return pd.DataFrame(
        {
            "timepoint": assessments.timepoint,
            "done": done,
            "outside": outside,
            "not_eligible": not_eligible,
            "lost": lost,
            "not_done": not_done,
            "missed": pending & (assessments.window_closes < today),
            "open": pending
            & (assessments.window_opens <= today)
            & (assessments.window_closes >= today),
            "later": pending & (assessments.window_opens > today),
        }
    )


def follow_up_completeness(
    assessments: pd.DataFrame, as_of: date
) -> list[cohort.FollowUpCompleteness]:
    flags = follow_up_flags(assessments, as_of)
    flags["done_by_patient"] = flags.done & (assessments.reported_by == "patient")
    kinds = [kind for kind in cohort.FollowUpCounts._fields if kind != "scheduled"]
    counts = flags.groupby("timepoint").agg(
        scheduled=("done", "size"), **{kind: (kind, "sum") for kind in kinds}
    )
    return cohort.follow_up_from_counts(
        {
            timepoint: cohort.FollowUpCounts(
                scheduled=row["scheduled"], **{kind: row[kind] for kind in kinds}
            )
            for timepoint, row in counts.iterrows()
        }
    )


def recorded(assessments: pd.DataFrame) -> pd.Series:
    """An assessment date is recorded and the assessment is not marked entered in error."""
    return assessments.assessed_on.notna() & ~assessments.entered_in_error.astype(bool)


def done_in_window(assessments: pd.DataFrame) -> pd.Series:
    """Written out here rather than taken from production (``cohort.in_window``): the
    reference's own reading of "done" -- a date recorded on an assessment not in error, and
    that date between the window's first and last days, both included."""
    day = assessments.assessed_on
    return (
        recorded(assessments)
        & (day >= assessments.window_opens)
        & (day <= assessments.window_closes)
    )


def overdue_count(assessments: pd.DataFrame, as_of: date) -> int:
    """Follow-ups (baseline excluded) whose window has closed with nothing recorded while the
    patient was in follow-up and the time point not closed."""
    flags = follow_up_flags(assessments, as_of)
    return int((flags.missed & (flags.timepoint != "baseline")).sum())


def data_completeness(tables: ReferenceTables) -> list[cohort.FieldCompleteness]:
    """Share of procedures with each key field of the audit recorded."""
    procedures = tables.procedures
    baseline = cohort.completed_baseline(tables)
    key_fields = cohort.key_field_flags(procedures).sum()
    assessments = tables.assessments
    followed = set(
        assessments.loc[
            done_in_window(assessments) & (assessments.timepoint != "baseline"),
            "procedure_id",
        ]
    )
    return cohort.field_completeness(
        cohort.FieldCounts(
            procedures=len(procedures),
            baseline_pain=int(baseline.pain_worst.notna().sum()),
            baseline_eq5d=int(baseline.eq5d_index.notna().sum()),
            baseline_analgesics=int(baseline.ome_mg_per_day.notna().sum()),
            device_lot=int(key_fields["device_lot_recorded"]),
            with_cement=int(key_fields["with_cement"]),
            cement_volume=int(key_fields["cement_volume_recorded"]),
            any_follow_up=int(procedures.procedure_id.isin(followed).sum()),
        )
    )


def special_arrangements(tables: ReferenceTables) -> list[cohort.ArrangementCompliance]:
    counts = cohort.arrangement_flags(tables).sum()
    return cohort.arrangement_compliance(
        cohort.ArrangementCounts(
            procedures=len(tables.procedures),
            **{item: int(counts[item]) for item in cohort.ARRANGEMENT_ITEMS},
        )
    )


def wide_table(assessments: pd.DataFrame) -> pd.DataFrame:
    """The wide outcome table (layout at ``outcomes.WIDE_VALUES``) pivoted from the
    assessments done within their windows (out-of-window answers are not outcomes)."""
    done = assessments[done_in_window(assessments)]
    return done.pivot_table(
        index="procedure_id",
        columns="timepoint",
        values=list(outcomes.WIDE_VALUES),
        aggfunc="first",
        dropna=False,
    )


def outcome_at(
    assessments: pd.DataFrame, measure: outcomes.Measure, timepoint: str
) -> outcomes.OutcomeAtTimepoint:
    every = outcomes.outcomes_from_wide(wide_table(assessments))[measure.column]
    return every[FOLLOW_UP_TIMEPOINTS.index(timepoint)]


def unconvertible_analgesic_count(assessments: pd.DataFrame) -> int:
    """Analgesic entries (of assessments done within their windows) the OME table could not
    convert."""
    done = done_in_window(assessments)
    return int(assessments.loc[done, "ome_not_convertible"].fillna(0).sum())


def event_rates(
    procedures: pd.DataFrame, events: pd.DataFrame, event_types: Mapping[str, str]
) -> list[safety.EventRate]:
    """One row per event type (in the order given), then any event, serious and device-related.
    Events marked entered in error are not counted."""
    in_cohort = events[
        events.procedure_id.isin(set(procedures.procedure_id)) & ~events.entered_in_error
    ]

    def tally(subset: pd.DataFrame) -> tuple[int, int]:
        return len(subset), int(subset.procedure_id.nunique())

    return safety.rates_from_counts(
        safety.EventCounts(
            procedures=len(procedures),
            by_type={code: tally(in_cohort[in_cohort.event_type == code]) for code in event_types},
            any=tally(in_cohort),
            serious=tally(in_cohort[in_cohort.severity >= safety.SERIOUS_GRADE]),
            device_related=tally(in_cohort[in_cohort.device_related == "yes"]),
        ),
        event_types,
    )


def complications_by_procedure(procedures: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """1 for each procedure with any adverse event (not in error), else 0, indexed by
    procedure_id."""
    with_event = set(events.procedure_id[~events.entered_in_error])
    return pd.Series(
        procedures.procedure_id.isin(with_event).astype(int).to_numpy(),
        index=procedures.procedure_id.to_numpy(),
    )


def analyse(tables: ReferenceTables, as_of: date, event_types: Mapping[str, str]) -> AuditFigures:
    complications = complications_by_procedure(tables.procedures, tables.events)
    charts, operator_funnel = monitoring(tables.procedures, tables.operators, complications)
    return AuditFigures(
        as_of=as_of,
        size=cohort_size(tables),
        follow_up=follow_up_completeness(tables.assessments, as_of),
        overdue=overdue_count(tables.assessments, as_of),
        fields=data_completeness(tables),
        arrangements=special_arrangements(tables),
        outcomes=outcomes.outcomes_from_wide(wide_table(tables.assessments)),
        unconvertible_analgesics=unconvertible_analgesic_count(tables.assessments),
        events=event_rates(tables.procedures, tables.events, event_types),
        cusum=charts,
        operator_funnel=operator_funnel,
    )
