"""All the figures of a governance or appraisal report, computed from the tables in one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from thermablate.audit.analysis import cohort, cusum, funnel, outcomes, safety
from thermablate.audit.analysis.tables import AuditTables


@dataclass(frozen=True)
class AuditFigures:
    as_of: date
    size: cohort.CohortSize
    follow_up: list[cohort.FollowUpCompleteness]
    overdue: int
    fields: list[cohort.FieldCompleteness]
    arrangements: list[cohort.ArrangementCompliance]
    outcomes: dict[str, list[outcomes.OutcomeAtTimepoint]]
    unconvertible_analgesics: int
    events: list[safety.EventRate]
    cusum: list[cusum.CusumChart]
    operator_funnel: funnel.Funnel


def analyse(tables: AuditTables, as_of: date, event_types: Mapping[str, str]) -> AuditFigures:
    complications = safety.complications_by_procedure(tables.procedures, tables.events)
    per_operator = tables.operators.assign(
        complication=complications.reindex(tables.operators.procedure_id).to_numpy()
    ).groupby("operator_name", sort=True)["complication"]
    counts = per_operator.agg(["size", "sum"])
    return AuditFigures(
        as_of=as_of,
        size=cohort.cohort_size(tables),
        follow_up=cohort.follow_up_completeness(tables.assessments, as_of),
        overdue=cohort.overdue_count(tables.assessments, as_of),
        fields=cohort.data_completeness(tables),
        arrangements=cohort.special_arrangements(tables),
        outcomes=outcomes.outcomes(tables.assessments),
        unconvertible_analgesics=outcomes.unconvertible_analgesic_count(tables.assessments),
        events=safety.event_rates(tables.procedures, tables.events, event_types),
        cusum=cusum.cusum_by_operator(tables.procedures, tables.operators, complications),
        operator_funnel=funnel.funnel(
            list(counts.index), counts["size"].tolist(), counts["sum"].tolist()
        ),
    )
