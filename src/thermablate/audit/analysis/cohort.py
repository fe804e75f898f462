"""Who is in the audit, how complete their follow-up is, and how complete the key fields are.

Definitions (per scheduled assessment, on the date ``as_of``):

- done (in window): an assessment date is recorded within [window opens, window closes];
- out of window: an assessment date is recorded outside the window (the registry refuses one
  unless it is marked "outside the window" with a reason; one recorded before that rule is
  counted here too, by its date). Never counted as done;
- missed: no assessment date and its window closed before ``as_of``;
- due: done, out of window or missed, i.e. every assessment that was recorded or could have
  been made by now;
- open: no assessment date, window open on ``as_of`` (not yet counted as due or missed);
- completeness: done / due, with its Wilson interval (an out-of-window assessment is in the
  denominator, not the numerator).

Special arrangements are what NICE asks of clinicians before the procedure (2022 consultation
document on RF ablation for painful spinal metastases, 1.2 and 1.4; HTG670 1.3): an MDT
decision, clear written information, an understanding of the uncertainties, consent, and (to
audit everyone) a baseline assessment. A step counts only if dated on or before the procedure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from thermablate.audit.analysis.stats import Proportion, wilson_interval
from thermablate.audit.analysis.tables import TIMEPOINT_LABELS, AuditTables


@dataclass(frozen=True)
class CohortSize:
    """How many procedures, patients and operators, and the first and last procedure date."""

    procedures: int
    patients: int
    operators: int
    first_procedure: date | None
    last_procedure: date | None


@dataclass(frozen=True)
class FollowUpCompleteness:
    timepoint: str
    label: str
    scheduled: int
    due: int
    done: int
    outside_window: int
    missed: int
    open: int
    completeness: Proportion


def follow_up_from_counts(
    counts: Mapping[str, tuple[int, int, int, int, int]],
) -> list[FollowUpCompleteness]:
    """One row per time point from (scheduled, done in window, out of window, missed, open)
    counts per time point."""
    rows = []
    for timepoint, label in TIMEPOINT_LABELS.items():
        scheduled, n_done, n_outside, n_missed, n_open = (
            int(n) for n in counts.get(timepoint, (0, 0, 0, 0, 0))
        )
        due = n_done + n_outside + n_missed
        rows.append(
            FollowUpCompleteness(
                timepoint=timepoint,
                label=label,
                scheduled=scheduled,
                due=due,
                done=n_done,
                outside_window=n_outside,
                missed=n_missed,
                open=n_open,
                completeness=wilson_interval(n_done, due),
            )
        )
    return rows


def in_window(assessments: pd.DataFrame) -> pd.Series:
    """Per row of an ASSESSMENTS table: assessed within [window_opens, window_closes]. A
    missing date (NaT) compares False, so an assessment not done is not in window."""
    return (assessments.assessed_on >= assessments.window_opens) & (
        assessments.assessed_on <= assessments.window_closes
    )


@dataclass(frozen=True)
class FieldCompleteness:
    field: str
    label: str
    proportion: Proportion


def completed_baseline(tables: AuditTables) -> pd.DataFrame:
    """Each procedure with its baseline assessment's values if it was done within its window
    (NaN/NaT if not: an out-of-window baseline is not a baseline for change figures)."""
    assessments = tables.assessments
    baseline = assessments[(assessments.timepoint == "baseline") & in_window(assessments)]
    return tables.procedures[["procedure_id"]].merge(
        baseline[["procedure_id", "assessed_on", "pain_worst", "eq5d_index", "ome_mg_per_day"]],
        on="procedure_id",
        how="left",
    )


@dataclass(frozen=True)
class FieldCounts:
    """How many procedures have each key field recorded (the denominators are ``procedures``,
    except cement volume's, ``with_cement``)."""

    procedures: int
    baseline_pain: int
    baseline_eq5d: int
    baseline_analgesics: int
    device_lot: int
    with_cement: int
    cement_volume: int
    any_follow_up: int


def field_completeness(counts: FieldCounts) -> list[FieldCompleteness]:
    total = counts.procedures
    checks = [
        ("baseline_pain", "Baseline pain score", counts.baseline_pain, total),
        ("baseline_eq5d", "Baseline EQ-5D-5L", counts.baseline_eq5d, total),
        ("baseline_analgesics", "Baseline analgesics", counts.baseline_analgesics, total),
        ("device_lot", "Device lot number", counts.device_lot, total),
        (
            "cement_volume",
            "Cement volume (where cement used)",
            counts.cement_volume,
            counts.with_cement,
        ),
        ("any_follow_up", "At least one follow-up", counts.any_follow_up, total),
    ]
    return [
        FieldCompleteness(field, label, wilson_interval(int(count), int(denominator)))
        for field, label, count, denominator in checks
    ]


def key_field_flags(procedures: pd.DataFrame) -> pd.DataFrame:
    """Per procedure (the index): device lot recorded, cement used, and (where cement was
    used) its volume recorded."""
    with_cement = (procedures.cement != "none").to_numpy()
    return pd.DataFrame(
        {
            "device_lot_recorded": (procedures.device_lot.fillna("").str.strip() != "").to_numpy(),
            "with_cement": with_cement,
            "cement_volume_recorded": with_cement & procedures.cement_volume_ml.notna().to_numpy(),
        },
        index=pd.Index(procedures.procedure_id.to_numpy(), name="procedure_id"),
    )


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


@dataclass(frozen=True)
class ArrangementCounts:
    """How many of ``procedures`` had each step on or before the procedure date."""

    procedures: int
    mdt: int
    written_information: int
    nice_information: int
    uncertainties: int
    consent: int
    baseline: int


def arrangement_compliance(counts: ArrangementCounts) -> list[ArrangementCompliance]:
    def share(count: int) -> Proportion:
        return wilson_interval(int(count), counts.procedures)

    return [
        ArrangementCompliance("mdt", "MDT decision before the procedure", share(counts.mdt)),
        ArrangementCompliance(
            "written_information", "Written information given", share(counts.written_information)
        ),
        ArrangementCompliance(
            "nice_information",
            "NICE information for the public offered",
            share(counts.nice_information),
        ),
        ArrangementCompliance(
            "uncertainties", "Uncertainties discussed", share(counts.uncertainties)
        ),
        ArrangementCompliance("consent", "Consent recorded", share(counts.consent)),
        ArrangementCompliance("baseline", "Baseline assessment", share(counts.baseline)),
    ]


ARRANGEMENT_ITEMS = (
    "mdt",
    "written_information",
    "nice_information",
    "uncertainties",
    "consent",
    "baseline",
)


def arrangement_flags(tables: AuditTables) -> pd.DataFrame:
    """Per procedure (the index), whether each special arrangement (``ARRANGEMENT_ITEMS``)
    was in place on or before the procedure date."""
    procedures = tables.procedures
    mdt = _before_procedure(tables, tables.mdt, "meeting_date")
    consents = _before_procedure(tables, tables.consents, "consent_date")
    baseline = completed_baseline(tables)
    written = consents[consents.leaflet_title.fillna("").str.strip() != ""]
    with_step = {
        "mdt": mdt.procedure_id,
        "written_information": written.procedure_id,
        "nice_information": consents[consents.nice_information_offered.astype(bool)].procedure_id,
        "uncertainties": consents[consents.uncertainties_discussed.astype(bool)].procedure_id,
        "consent": consents.procedure_id,
        "baseline": baseline.loc[baseline.assessed_on.notna(), "procedure_id"],
    }
    return pd.DataFrame(
        {
            item: procedures.procedure_id.isin(set(ids)).to_numpy()
            for item, ids in with_step.items()
        },
        index=pd.Index(procedures.procedure_id.to_numpy(), name="procedure_id"),
        columns=list(ARRANGEMENT_ITEMS),
    )
