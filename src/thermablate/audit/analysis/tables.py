"""The column contract of the tables a case summary is derived from (built by ``audit.queries``)
and of the operator table the monitoring charts take.

Dates are pandas datetime64 columns (day precision); missing values are NaN / NaT / None.
One row per:

PROCEDURES  procedure: procedure_id, patient_id, site (site code), procedure_type,
            procedure_date, device_lot (str, "" if unknown), cement ("none" or a type),
            cement_volume_ml (float or NaN)
OPERATORS   (procedure, operator) pair: procedure_id, operator_id, operator_name
ASSESSMENTS scheduled assessment: procedure_id, timepoint ("baseline", "1w", "1m", "3m",
            "6m", "12m"), window_opens, window_closes, assessed_on (NaT if not done),
            entered_in_error (bool: the assessment is marked "entered in error"; its answers
            stay in the row but count as not recorded), not_done (bool: closed as "could not
            be done", with a reason), follow_up_end (the patient's status if it ended their
            follow-up: "died", "withdrew_follow_up", "withdrew_consent", "lost_to_follow_up";
            "" while in follow-up), follow_up_ended_on (its date, NaT while in follow-up),
            pain_worst, pain_average (NRS 0-10 or NaN), eq5d_index (NaN if not answered),
            ome_mg_per_day (NaN if no analgesic answer), ome_not_convertible (int: entries the
            conversion table could not convert), eq5d_vas (0-100), odi (per cent), bpi_severity,
            bpi_interference (0-10; each NaN if not answered or too few answers to score),
            reported_by ("staff" or "patient": who gave the answers)
MDT         MDT decision (not marked entered in error): patient_id, meeting_date, decision
CONSENTS    consent (not marked entered in error): patient_id, consent_date, leaflet_title,
            nice_information_offered, uncertainties_discussed, registry_audit_consent
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

PROCEDURE_COLUMNS = (
    "procedure_id",
    "patient_id",
    "site",
    "procedure_type",
    "procedure_date",
    "device_lot",
    "cement",
    "cement_volume_ml",
    # Whether the pathway's MDT rules hold: a decision to proceed, the latest about the lesion
    # on or before the procedure (registry.data_quality.MDT_PATHWAY_RULES).
    "mdt_to_proceed",
)
OPERATOR_COLUMNS = ("procedure_id", "operator_id", "operator_name")
ASSESSMENT_COLUMNS = (
    "procedure_id",
    "timepoint",
    "window_opens",
    "window_closes",
    "assessed_on",
    "entered_in_error",
    "not_done",
    "follow_up_end",
    "follow_up_ended_on",
    "pain_worst",
    "pain_average",
    "eq5d_index",
    "ome_mg_per_day",
    "ome_not_convertible",
    "eq5d_vas",
    "odi",
    "bpi_severity",
    "bpi_interference",
    "reported_by",
)
MDT_COLUMNS = ("patient_id", "meeting_date", "decision")
CONSENT_COLUMNS = (
    "patient_id",
    "consent_date",
    "leaflet_title",
    "nice_information_offered",
    "uncertainties_discussed",
    "registry_audit_consent",
)

DATE_COLUMNS = {
    "procedure_date",
    "window_opens",
    "window_closes",
    "assessed_on",
    "follow_up_ended_on",
    "meeting_date",
    "consent_date",
}

FOLLOW_UP_TIMEPOINTS = ("1w", "1m", "3m", "6m", "12m")
TIMEPOINT_LABELS = {
    "baseline": "Baseline",
    "1w": "1 week",
    "1m": "1 month",
    "3m": "3 months",
    "6m": "6 months",
    "12m": "12 months",
}


def frame(rows, columns: tuple[str, ...]) -> pd.DataFrame:
    """A table from row tuples in ``columns`` order, with the date columns parsed."""
    table = pd.DataFrame.from_records(list(rows), columns=list(columns))
    for column in columns:
        if column in DATE_COLUMNS:
            table[column] = pd.to_datetime(table[column])
    return table


@dataclass(frozen=True)
class AuditTables:
    """The records one or more case summaries are derived from (``audit.summaries.build``)."""

    procedures: pd.DataFrame
    assessments: pd.DataFrame
    mdt: pd.DataFrame
    consents: pd.DataFrame
