"""Who is in the audit, how complete their follow-up is, and how complete the key fields are.

Definitions (per scheduled assessment, on the date ``as_of``):

- done: an assessment date is recorded (whenever it was made);
- missed: not done and its window closed before ``as_of``;
- due: done or missed, i.e. every assessment that could have been made by now;
- open: not done, window open on ``as_of`` (not yet counted as due or missed);
- completeness: done / due, with its Wilson interval.

Special arrangements are what NICE asks of clinicians before the procedure (2022 consultation
document on RF ablation for painful spinal metastases, 1.2 and 1.4; HTG670 1.3): an MDT
decision, clear written information, an understanding of the uncertainties, consent, and (to
audit everyone) a baseline assessment. A step counts only if dated on or before the procedure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from thermablate.audit.analysis.stats import Proportion, wilson_interval
from thermablate.audit.analysis.tables import TIMEPOINT_LABELS, AuditTables


@dataclass(frozen=True)
class CohortSize:
    procedures: int
    patients: int
    operators: int
    first_procedure: date | None
    last_procedure: date | None


def cohort_size(tables: AuditTables) -> CohortSize:
    procedures = tables.procedures
    dates = procedures.procedure_date
    return CohortSize(
        procedures=len(procedures),
        patients=int(procedures.patient_id.nunique()),
        operators=int(tables.operators.operator_id.nunique()),
        first_procedure=dates.min().date() if len(dates) else None,
        last_procedure=dates.max().date() if len(dates) else None,
    )


@dataclass(frozen=True)
class FollowUpCompleteness:
    timepoint: str
    label: str
    scheduled: int
    due: int
    done: int
    missed: int
    open: int
    completeness: Proportion


def follow_up_completeness(assessments: pd.DataFrame, as_of: date) -> list[FollowUpCompleteness]:
    today = pd.Timestamp(as_of)
    done = assessments.assessed_on.notna()
    missed = ~done & (assessments.window_closes < today)
    open_now = ~done & (assessments.window_opens <= today) & (assessments.window_closes >= today)
    flags = pd.DataFrame(
        {"timepoint": assessments.timepoint, "done": done, "missed": missed, "open": open_now}
    )
    counts = flags.groupby("timepoint").agg(
        scheduled=("done", "size"),
        done=("done", "sum"),
        missed=("missed", "sum"),
        open=("open", "sum"),
    )
    rows = []
    for timepoint, label in TIMEPOINT_LABELS.items():
        if timepoint not in counts.index:
            rows.append(
                FollowUpCompleteness(timepoint, label, 0, 0, 0, 0, 0, wilson_interval(0, 0))
            )
            continue
        row = counts.loc[timepoint]
        n_done, n_missed = int(row["done"]), int(row["missed"])
        rows.append(
            FollowUpCompleteness(
                timepoint=timepoint,
                label=label,
                scheduled=int(row["scheduled"]),
                due=n_done + n_missed,
                done=n_done,
                missed=n_missed,
                open=int(row["open"]),
                completeness=wilson_interval(n_done, n_done + n_missed),
            )
        )
    return rows


def overdue_count(assessments: pd.DataFrame, as_of: date) -> int:
    """Follow-ups (baseline excluded) whose window has closed without an assessment."""
    late = (
        assessments.assessed_on.isna()
        & (assessments.window_closes < pd.Timestamp(as_of))
        & (assessments.timepoint != "baseline")
    )
    return int(late.sum())


@dataclass(frozen=True)
class FieldCompleteness:
    field: str
    label: str
    proportion: Proportion


def _baseline(tables: AuditTables) -> pd.DataFrame:
    baseline = tables.assessments[tables.assessments.timepoint == "baseline"]
    return tables.procedures[["procedure_id"]].merge(
        baseline[["procedure_id", "assessed_on", "pain_worst", "eq5d_index", "ome_mg_per_day"]],
        on="procedure_id",
        how="left",
    )


def data_completeness(tables: AuditTables) -> list[FieldCompleteness]:
    """Share of procedures with each key field of the audit recorded."""
    procedures = tables.procedures
    total = len(procedures)
    baseline = _baseline(tables)
    with_cement = procedures[procedures.cement != "none"]
    followed = set(
        tables.assessments.loc[
            tables.assessments.assessed_on.notna() & (tables.assessments.timepoint != "baseline"),
            "procedure_id",
        ]
    )
    checks = [
        ("baseline_pain", "Baseline pain score", int(baseline.pain_worst.notna().sum()), total),
        ("baseline_eq5d", "Baseline EQ-5D-5L", int(baseline.eq5d_index.notna().sum()), total),
        (
            "baseline_analgesics",
            "Baseline analgesics",
            int(baseline.ome_mg_per_day.notna().sum()),
            total,
        ),
        (
            "device_lot",
            "Device lot number",
            int((procedures.device_lot.fillna("").str.strip() != "").sum()),
            total,
        ),
        (
            "cement_volume",
            "Cement volume (where cement used)",
            int(with_cement.cement_volume_ml.notna().sum()),
            len(with_cement),
        ),
        (
            "any_follow_up",
            "At least one follow-up",
            int(procedures.procedure_id.isin(followed).sum()),
            total,
        ),
    ]
    return [
        FieldCompleteness(field, label, wilson_interval(count, denominator))
        for field, label, count, denominator in checks
    ]


@dataclass(frozen=True)
class ArrangementCompliance:
    item: str
    label: str
    proportion: Proportion


def _before_procedure(tables: AuditTables, steps: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """Each procedure joined to the patient's steps dated on or before the procedure."""
    joined = tables.procedures[["procedure_id", "patient_id", "procedure_date"]].merge(
        steps, on="patient_id", how="inner"
    )
    return joined[joined[date_column] <= joined.procedure_date]


def special_arrangements(tables: AuditTables) -> list[ArrangementCompliance]:
    procedures = tables.procedures
    total = len(procedures)
    mdt = _before_procedure(tables, tables.mdt, "meeting_date")
    consents = _before_procedure(tables, tables.consents, "consent_date")
    baseline = _baseline(tables)

    def share(ids) -> Proportion:
        return wilson_interval(int(procedures.procedure_id.isin(set(ids)).sum()), total)

    written = consents[consents.leaflet_title.fillna("").str.strip() != ""]
    return [
        ArrangementCompliance("mdt", "MDT decision before the procedure", share(mdt.procedure_id)),
        ArrangementCompliance(
            "written_information", "Written information given", share(written.procedure_id)
        ),
        ArrangementCompliance(
            "nice_information",
            "NICE information for the public offered",
            share(consents[consents.nice_information_offered.astype(bool)].procedure_id),
        ),
        ArrangementCompliance(
            "uncertainties",
            "Uncertainties discussed",
            share(consents[consents.uncertainties_discussed.astype(bool)].procedure_id),
        ),
        ArrangementCompliance("consent", "Consent recorded", share(consents.procedure_id)),
        ArrangementCompliance(
            "baseline",
            "Baseline assessment",
            share(baseline.loc[baseline.assessed_on.notna(), "procedure_id"]),
        ),
    ]
