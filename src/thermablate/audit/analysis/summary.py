"""All the figures of a governance or appraisal report (``AuditFigures``, counted by
``audit.aggregates``), and the monitoring charts computed from the operators' cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from thermablate.audit.analysis import cohort, cusum, funnel, outcomes, safety


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


def monitoring(
    procedures: pd.DataFrame, operators: pd.DataFrame, complications: pd.Series
) -> tuple[list[cusum.CusumChart], funnel.Funnel]:
    """The CUSUM chart of each operator and the funnel plot of their complication rates.

    ``procedures`` needs procedure_id and procedure_date, ``operators`` the OPERATORS columns;
    ``complications`` is 1 or 0 per procedure, indexed by procedure_id.
    """
    per_operator = operators.assign(
        complication=complications.reindex(operators.procedure_id).to_numpy()
    ).groupby("operator_name", sort=True)["complication"]
    counts = per_operator.agg(["size", "sum"])
    return (
        cusum.cusum_by_operator(procedures, operators, complications),
        funnel.funnel(list(counts.index), counts["size"].tolist(), counts["sum"].tolist()),
    )
