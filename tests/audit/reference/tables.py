"""The tables the reference path takes: those a case summary is derived from
(``analysis.tables.AuditTables``, whose contract applies) plus the operators and the adverse
events, which production counts in the database instead.

EVENTS  adverse event: event_id, procedure_id, event_type, severity (CTCAE grade 1-5),
        onset_date, device_related, outcome, yellow_card_reported (bool), entered_in_error
        (bool: marked "entered in error"; the reference path leaves it out of every count)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from thermablate.audit.analysis import tables as t

EVENT_COLUMNS = (
    "event_id",
    "procedure_id",
    "event_type",
    "severity",
    "onset_date",
    "device_related",
    "outcome",
    "yellow_card_reported",
    "entered_in_error",
)


def events_frame(rows) -> pd.DataFrame:
    """The EVENTS table from row tuples in ``EVENT_COLUMNS`` order, onset dates parsed."""
    events = t.frame(rows, EVENT_COLUMNS)
    events["onset_date"] = pd.to_datetime(events.onset_date)
    events["entered_in_error"] = events.entered_in_error.astype(bool)
    return events


@dataclass(frozen=True)
class ReferenceTables(t.AuditTables):
    operators: pd.DataFrame
    events: pd.DataFrame


def empty_tables() -> ReferenceTables:
    return ReferenceTables(
        procedures=t.frame([], t.PROCEDURE_COLUMNS),
        assessments=t.frame([], t.ASSESSMENT_COLUMNS),
        mdt=t.frame([], t.MDT_COLUMNS),
        consents=t.frame([], t.CONSENT_COLUMNS),
        operators=t.frame([], t.OPERATOR_COLUMNS),
        events=events_frame([]),
    )
