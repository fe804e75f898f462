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


def follow_up_completeness(
    assessments: pd.DataFrame, as_of: date
) -> list[cohort.FollowUpCompleteness]:
    today = pd.Timestamp(as_of)
    recorded = assessments.assessed_on.notna()
    done = done_in_window(assessments)
    outside = recorded & ~done
    missed = ~recorded & (assessments.window_closes < today)
    open_now = (
        ~recorded & (assessments.window_opens <= today) & (assessments.window_closes >= today)
    )
    flags = pd.DataFrame(
        {
            "timepoint": assessments.timepoint,
            "done": done,
            "outside": outside,
            "missed": missed,
            "open": open_now,
        }
    )
    counts = flags.groupby("timepoint").agg(
        scheduled=("done", "size"),
        done=("done", "sum"),
        outside=("outside", "sum"),
        missed=("missed", "sum"),
        open=("open", "sum"),
    )
    return cohort.follow_up_from_counts(
        {
            timepoint: (row["scheduled"], row["done"], row["outside"], row["missed"], row["open"])
            for timepoint, row in counts.iterrows()
        }
    )


def done_in_window(assessments: pd.DataFrame) -> pd.Series:
    """Written out here rather than taken from production (``cohort.in_window``): the
    reference's own reading of "done" -- a date recorded, and that date between the window's
    first and last days, both included."""
    recorded = assessments.assessed_on.notna()
    day = assessments.assessed_on
    return recorded & (day >= assessments.window_opens) & (day <= assessments.window_closes)


def overdue_count(assessments: pd.DataFrame, as_of: date) -> int:
    """Follow-ups (baseline excluded) whose window has closed without an assessment."""
    late = (
        assessments.assessed_on.isna()
        & (assessments.window_closes < pd.Timestamp(as_of))
        & (assessments.timepoint != "baseline")
    )
    return int(late.sum())


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
    """One row per event type (in the order given), then any event, serious and device-related."""
    in_cohort = events[events.procedure_id.isin(set(procedures.procedure_id))]

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
    """1 for each procedure with any adverse event, else 0, indexed by procedure_id."""
    with_event = set(events.procedure_id)
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
