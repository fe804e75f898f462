"""Read a cohort's reference tables from the registry's own tables (one query per table)."""

from __future__ import annotations

import dataclasses

from tests.audit.reference.tables import ReferenceTables, events_frame
from thermablate.audit import queries
from thermablate.audit.analysis import tables as t
from thermablate.registry.models import AdverseEvent, Procedure


def load_tables(cohort: queries.CohortFilter) -> ReferenceTables:
    procedures = queries.procedures_in(cohort).order_by()
    # The records the summaries are derived from are read as production reads them: the
    # reference checks what is counted from them, not the EQ-5D and OME scoring (tested in
    # tests/clinical and test_audit_queries.py).
    records = queries.tables_for(procedures)
    ids = procedures.values("id")
    operator_rows = queries.fetch(
        Procedure.operators.through.objects.filter(procedure__in=ids).order_by(),
        ("procedure_id", "user_id", "user__first_name", "user__last_name", "user__username"),
    )
    operators = t.frame(
        [
            (procedure, user, queries.operator_name(first, last, username))
            for procedure, user, first, last, username in operator_rows
        ],
        t.OPERATOR_COLUMNS,
    )
    # Every event of the cohort's procedures, those in error too: the reference leaves them
    # out itself (figures.event_rates), so that production's own filter is checked.
    event_rows = queries.fetch(
        AdverseEvent.objects.filter(procedure__in=ids).order_by(),
        (
            "id",
            "procedure_id",
            "event_type",
            "severity",
            "onset_date",
            "device_related",
            "outcome",
            "yellow_card_reported_on",
            "entered_in_error",
        ),
    )
    return ReferenceTables(
        **{field.name: getattr(records, field.name) for field in dataclasses.fields(records)},
        operators=operators,
        events=events_frame(
            [(*row[:-2], row[-2] is not None, bool(row[-1])) for row in event_rows]
        ),
    )
