"""The report's figures, counted by the database from the per-procedure summaries.

Reading every assessment and analgesic entry of the cohort into pandas would, at 100,000
procedures, mean 600,000 assessments and a million analgesic entries. Here the report reads
one summary row per procedure (``audit.summaries``, brought up to date first), and the
database counts:

- cohort size, key fields, special arrangements, follow-up completeness per time point
  (scheduled, done in window and of those reported by the patient, out of window, missed,
  lost, open on ``as_of``, closed as not eligible, could not be done), baseline completeness and unconvertible analgesics: one
  aggregate over the summaries (selected by their own site, type, date and "entered in
  error" mark);
- paired outcomes: one narrow row per procedure with an assessment done within its window
  (its worst pain, EQ-5D-5L index, OME, unconvertible-entry count, EQ VAS, ODI and BPI scores
  at each time point),
  through ``outcomes.outcomes_from_wide``;
- adverse events per type, any, serious and device-related: two small aggregates (events
  marked "entered in error" left out; those of a procedure in error are not in the cohort);
- CUSUM and funnel: one narrow row per (procedure, operator), through
  ``analysis.summary.monitoring``.

This is the only production path to these figures. The tests hold a reference path that
computes every figure with pandas from the registry's own tables (``tests/audit/reference``)
and check that both give the same figures for the same cohort.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast

from thermablate.audit import queries, summaries
from thermablate.audit.analysis import cohort, outcomes, safety
from thermablate.audit.analysis import tables as t
from thermablate.audit.analysis.summary import AuditFigures, monitoring
from thermablate.registry.models import AdverseEvent, Procedure

TIMEPOINTS = tuple(t.TIMEPOINT_LABELS)


def figures(
    cohort_filter: queries.CohortFilter,
    as_of: date,
    event_types: Mapping[str, str] = queries.EVENT_TYPES,
) -> AuditFigures:
    """Every figure of the governance report for the cohort, on the date ``as_of``."""
    in_cohort = queries.summaries_in(cohort_filter).order_by()
    summaries.refresh(queries.procedures_in(cohort_filter), in_cohort)
    ids = in_cohort.values("procedure_id")
    counts = _summary_counts(in_cohort, as_of)
    wide = outcome_table(in_cohort)
    followed_up = wide[[("ome_not_convertible", tp) for tp in t.FOLLOW_UP_TIMEPOINTS]].notna()
    baseline = wide.xs("baseline", axis=1, level="timepoint")
    with_event = set(_events_of(ids).values_list("procedure_id", flat=True).distinct())
    procedures, operators, complications = _operator_cases(ids, with_event)
    charts, operator_funnel = monitoring(procedures, operators, complications)
    total = counts["procedures"]
    follow_up = cohort.follow_up_from_counts(
        {
            tp: cohort.FollowUpCounts(
                **{kind: counts[f"{kind}_{tp}"] for kind in cohort.FollowUpCounts._fields}
            )
            for tp in TIMEPOINTS
        }
    )
    return AuditFigures(
        as_of=as_of,
        size=cohort.CohortSize(
            procedures=total,
            patients=counts["patients"],
            operators=int(operators.operator_id.nunique()),
            first_procedure=counts["first_procedure"],
            last_procedure=counts["last_procedure"],
        ),
        follow_up=follow_up,
        overdue=cohort.overdue(follow_up),
        fields=cohort.field_completeness(
            cohort.FieldCounts(
                procedures=total,
                baseline_pain=counts["pain_baseline"],
                baseline_eq5d=counts["eq5d_baseline"],
                baseline_analgesics=int(baseline["ome_mg_per_day"].notna().sum()),
                device_lot=counts["device_lot"],
                with_cement=counts["with_cement"],
                cement_volume=counts["cement_volume"],
                any_follow_up=int(followed_up.any(axis=1).sum()),
            )
        ),
        arrangements=cohort.arrangement_compliance(
            cohort.ArrangementCounts(
                procedures=total, **{item: counts[item] for item in cohort.ARRANGEMENT_ITEMS}
            )
        ),
        outcomes=outcomes.outcomes_from_wide(wide),
        unconvertible_analgesics=counts["unconvertible"],
        events=safety.rates_from_counts(_event_counts(ids, total, event_types), event_types),
        cusum=charts,
        operator_funnel=operator_funnel,
    )


def _summary_counts(in_cohort, as_of: date) -> dict:
    """Cohort size, key fields, arrangements, follow-up status per time point on ``as_of``,
    baseline completeness and unconvertible entries: one query over the cohort's summaries."""

    def count(condition: Q) -> Count:
        # COUNT(CASE ...) rather than COUNT(...) FILTER: twice as fast on SQLite.
        return Count(Case(When(condition, then=Value(1))))

    columns = {
        "procedures": Count("procedure_id"),
        "patients": Count("patient_id", distinct=True),
        "first_procedure": Min("procedure_date"),
        "last_procedure": Max("procedure_date"),
        "device_lot": count(Q(device_lot_recorded=True)),
        "with_cement": count(Q(with_cement=True)),
        "cement_volume": count(Q(cement_volume_recorded=True)),
    }
    columns.update(
        {item: count(Q(**{field: True})) for item, field in summaries.ARRANGEMENT_FIELDS.items()}
    )
    columns["baseline"] = count(Q(done_baseline=True))
    columns["pain_baseline"] = Count("pain_worst_baseline")
    columns["eq5d_baseline"] = Count("eq5d_index_baseline")
    for tp in TIMEPOINTS:
        # Pending: nothing recorded and not closed (cohort.follow_up_states), so missed, open
        # or not yet open by the report's date.
        pending = Q(**{f"done_{tp}": False, f"outside_{tp}": False, f"closed_{tp}": ""})
        columns[f"scheduled_{tp}"] = Count(f"opens_{tp}")
        columns[f"done_{tp}"] = count(Q(**{f"done_{tp}": True}))
        columns[f"done_by_patient_{tp}"] = count(
            Q(**{f"done_{tp}": True, f"patient_reported_{tp}": True})
        )
        columns[f"outside_{tp}"] = count(Q(**{f"outside_{tp}": True}))
        columns[f"missed_{tp}"] = count(pending & Q(**{f"closes_{tp}__lt": as_of}))
        columns[f"open_{tp}"] = count(
            pending & Q(**{f"opens_{tp}__lte": as_of, f"closes_{tp}__gte": as_of})
        )
        for state, kind in (
            (cohort.LOST, "lost"),
            (cohort.NOT_ELIGIBLE, "not_eligible"),
            (cohort.NOT_DONE, "not_done"),
        ):
            columns[f"{kind}_{tp}"] = count(Q(**{f"closed_{tp}": state}))
        columns[f"unconvertible_{tp}"] = Sum(f"ome_not_convertible_{tp}")
    # "n_" keeps the aliases apart from the summary's field names.
    totals = in_cohort.aggregate(**{f"n_{name}": value for name, value in columns.items()})
    counts = {name[2:]: value for name, value in totals.items()}
    counts["unconvertible"] = sum(counts.pop(f"unconvertible_{tp}") or 0 for tp in TIMEPOINTS)
    return counts


def outcome_table(in_cohort) -> pd.DataFrame:
    """The cohort's wide outcome table (layout at ``outcomes.WIDE_VALUES``) from its summaries.

    One row per procedure with a completed assessment: each value of ``outcomes.WIDE_VALUES``
    at each time point, NULL (NaN) where not done.
    """
    columns = [(name, tp) for tp in TIMEPOINTS for name in outcomes.WIDE_VALUES]
    any_done = Q()
    for tp in TIMEPOINTS:
        any_done |= Q(**{f"done_{tp}": True})
    rows = queries.fetch(
        in_cohort.filter(any_done),
        ("procedure_id", *(f"{name}_{tp}" for name, tp in columns)),
        binary=True,
    )
    data = np.array(rows, dtype=float).reshape(len(rows), len(columns) + 1)
    return pd.DataFrame(
        data[:, 1:],
        index=pd.Index(data[:, 0].astype(np.int64), name="procedure_id"),
        columns=pd.MultiIndex.from_tuples(columns, names=[None, "timepoint"]),
    )


def _events_of(ids):
    """The adverse events of the cohort's procedures (``ids``: those that count) that count:
    an event marked "entered in error" never happened, as far as the audit goes."""
    return AdverseEvent.objects.live().filter(procedure__in=ids).order_by()


def _event_counts(ids, total: int, event_types: Mapping[str, str]) -> safety.EventCounts:
    events = _events_of(ids)
    by_type = {
        row["event_type"]: (row["events"], row["procedures"])
        for row in events.values("event_type").annotate(
            events=Count("id"), procedures=Count("procedure_id", distinct=True)
        )
    }
    serious = Q(severity__gte=safety.SERIOUS_GRADE)
    device = Q(device_related="yes")
    overall = events.aggregate(
        events=Count("id"),
        procedures=Count("procedure_id", distinct=True),
        serious_events=Count("id", filter=serious),
        serious_procedures=Count("procedure_id", distinct=True, filter=serious),
        device_events=Count("id", filter=device),
        device_procedures=Count("procedure_id", distinct=True, filter=device),
    )
    return safety.EventCounts(
        procedures=total,
        by_type=by_type,
        any=(overall["events"], overall["procedures"]),
        serious=(overall["serious_events"], overall["serious_procedures"]),
        device_related=(overall["device_events"], overall["device_procedures"]),
    )


def _operator_cases(ids, with_event: set[int]) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The tables ``summary.monitoring`` takes: each (procedure, operator) pair, the
    procedures' dates and whether each procedure had any adverse event (``with_event``)."""
    through = Procedure.operators.through.objects.filter(procedure__in=ids).order_by()
    day = "procedure__procedure_date"
    if connection.vendor == "sqlite":
        # SQLite keeps dates as ISO text: fetched as text, NumPy parses them in C, where
        # Django's converter would make 100,000 date objects (psycopg makes them in C,
        # from binary).
        through, day = through.annotate(day=Cast(day, CharField())), "day"
    rows = queries.fetch(through, ("procedure_id", "user_id", day), binary=True)
    if not rows:
        return (
            t.frame([], ("procedure_id", "procedure_date")),
            t.frame([], t.OPERATOR_COLUMNS),
            pd.Series([], dtype=int),
        )
    procedure_ids, user_ids, days = (np.array(column) for column in zip(*rows, strict=True))
    names = {
        pk: queries.operator_name(first, last, username)
        for pk, first, last, username in get_user_model()
        .objects.filter(pk__in=set(user_ids.tolist()))
        .values_list("pk", "first_name", "last_name", "username")
    }
    operators = pd.DataFrame(
        {
            "procedure_id": procedure_ids,
            "operator_id": user_ids,
            "operator_name": pd.Series(user_ids).map(names).to_numpy(),
        }
    )
    procedures = pd.DataFrame(
        {
            "procedure_id": procedure_ids,
            "procedure_date": pd.to_datetime(days.astype("datetime64[D]")),
        }
    ).drop_duplicates("procedure_id")
    unique = procedures.procedure_id.to_numpy()
    flags = np.isin(unique, np.fromiter(with_event, dtype=np.int64, count=len(with_event)))
    return procedures, operators, pd.Series(flags.astype(int), index=unique)
