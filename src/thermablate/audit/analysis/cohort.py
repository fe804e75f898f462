"""Who is in the audit, how complete their follow-up is, and how complete the key fields are.

Follow-up: each scheduled assessment is in exactly one state (``follow_up_states``), decided
in this order (docs/audit.md, "Follow-up completeness" and "Patient status and completeness"):

- done (in window): an assessment date is recorded, not marked "entered in error", within
  [window opens, window closes]. The only state counted as done;
- out of window: an assessment date is recorded (not in error) outside the window (the
  registry refuses one unless it is marked "outside the window" with a reason; one recorded
  before that rule is counted here too, by its date). Never counted as done;
- closed, not eligible: nothing recorded (an assessment in error counts as nothing), and the
  patient died, withdrew from follow-up or withdrew consent on or before the window's last
  day. Not due, not missed, not open: it leaves the denominator;
- lost: nothing recorded, and the patient was lost to follow-up on or before the window's last
  day. Counted as missed (the registry could not reach an eligible patient);
- could not be done: nothing recorded, and the time point was closed with a reason (on an
  assessment not marked in error) while the patient was still in follow-up. Counted as due
  and not done;
- otherwise pending, which on the date ``as_of`` is missed (window closed), open (window open)
  or not yet open.

Per time point: due = done + out of window + missed (including lost) + could not be done,
i.e. the eligible assessments that were recorded, closed or could have been made by ``as_of``;
completeness = done / due with its Wilson interval. Closed (not eligible), open and not-yet-
open assessments are not in the denominator.

Special arrangements are what NICE asks of clinicians before the procedure (2022 consultation
document on RF ablation for painful spinal metastases, 1.2 and 1.4; HTG670 1.3): an MDT
decision, clear written information, an understanding of the uncertainties, consent, and (to
audit everyone) a baseline assessment. A step counts only if dated on or before the procedure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
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


# A patient's status (registry.choices.PatientStatus) that ends their follow-up, by how the
# audit counts the time points it closes: the patient is no longer eligible (died, withdrew),
# or eligible but could not be reached (lost). tests/audit checks these against the registry.
NOT_ELIGIBLE_STATUSES = frozenset({"died", "withdrew_follow_up", "withdrew_consent"})
LOST_STATUS = "lost_to_follow_up"

# The states of ``follow_up_states``; "pending" is split by ``as_of`` into missed, open and not
# yet open where the counting happens (the database, or the reference path).
DONE, OUTSIDE, NOT_ELIGIBLE, LOST, NOT_DONE, PENDING = (
    "done",
    "outside",
    "not_eligible",
    "lost",
    "not_done",
    "pending",
)
# The states that close a time point without an assessment, as the summaries store them.
CLOSED_STATES = (NOT_ELIGIBLE, LOST, NOT_DONE)


class FollowUpCounts(NamedTuple):
    """How many of a time point's scheduled assessments are in each state on ``as_of``.

    ``missed``: window closed with nothing recorded, patient in follow-up (``lost`` apart).
    ``done_by_patient``: of the ``done``, those whose answers the patient reported."""

    scheduled: int = 0
    done: int = 0
    outside: int = 0
    missed: int = 0
    lost: int = 0
    open: int = 0
    not_eligible: int = 0
    not_done: int = 0
    done_by_patient: int = 0


@dataclass(frozen=True)
class FollowUpCompleteness:
    timepoint: str
    label: str
    scheduled: int
    due: int
    done: int
    outside_window: int
    missed: int  # including the lost ones
    lost: int
    open: int
    not_eligible: int  # closed: the patient's follow-up ended (died, withdrew)
    not_done: int  # could not be done (closed with a reason)
    completeness: Proportion
    done_by_patient: int  # of the done: reported by the patient, the rest by staff

    @property
    def done_by_staff(self) -> int:
        return self.done - self.done_by_patient


def follow_up_from_counts(counts: Mapping[str, FollowUpCounts]) -> list[FollowUpCompleteness]:
    """One row per time point from its counts (``FollowUpCounts``)."""
    rows = []
    for timepoint, label in TIMEPOINT_LABELS.items():
        n = FollowUpCounts(*(int(value) for value in counts.get(timepoint, FollowUpCounts())))
        missed = n.missed + n.lost
        due = n.done + n.outside + missed + n.not_done
        rows.append(
            FollowUpCompleteness(
                timepoint=timepoint,
                label=label,
                scheduled=n.scheduled,
                due=due,
                done=n.done,
                outside_window=n.outside,
                missed=missed,
                lost=n.lost,
                open=n.open,
                not_eligible=n.not_eligible,
                not_done=n.not_done,
                completeness=wilson_interval(n.done, due),
                done_by_patient=n.done_by_patient,
            )
        )
    return rows


def overdue(rows: list[FollowUpCompleteness]) -> int:
    """Follow-ups (baseline excluded) whose window closed with nothing recorded while the
    patient was in follow-up: what the coordinators should have chased. Lost ones are missed
    but not overdue: there is no one to chase."""
    return sum(row.missed - row.lost for row in rows if row.timepoint != "baseline")


def recorded(assessments: pd.DataFrame) -> pd.Series:
    """Per row of an ASSESSMENTS table: an assessment date is recorded and the assessment is
    not marked "entered in error" (its answers stay on the row, for the undo, but count as
    not recorded)."""
    return assessments.assessed_on.notna() & ~assessments.entered_in_error.astype(bool)


def in_window(assessments: pd.DataFrame) -> pd.Series:
    """Per row of an ASSESSMENTS table: done within its window, i.e. recorded (``recorded``)
    and dated within [window_opens, window_closes]. A missing date (NaT) compares False."""
    return recorded(assessments) & (
        (assessments.assessed_on >= assessments.window_opens)
        & (assessments.assessed_on <= assessments.window_closes)
    )


def follow_up_states(assessments: pd.DataFrame) -> pd.Series:
    """The state of each scheduled assessment (see the module's docstring), independent of
    the report's date: DONE, OUTSIDE, NOT_ELIGIBLE, LOST, NOT_DONE or PENDING."""
    done = in_window(assessments)
    outside = recorded(assessments) & ~done
    ended = assessments.follow_up_ended_on.notna() & (
        assessments.window_closes >= assessments.follow_up_ended_on
    )
    end = assessments.follow_up_end.fillna("")
    not_eligible = ended & end.isin(NOT_ELIGIBLE_STATUSES)
    lost = ended & (end == LOST_STATUS)
    # An assessment marked in error is as if never recorded: a "could not be done" on it no
    # longer closes the time point either.
    in_error = assessments.entered_in_error.astype(bool)
    not_done = assessments.not_done.fillna(False).astype(bool) & ~in_error
    states = np.select(
        [done, outside, not_eligible, lost, not_done],
        [DONE, OUTSIDE, NOT_ELIGIBLE, LOST, NOT_DONE],
        default=PENDING,
    )
    return pd.Series(states, index=assessments.index, dtype=object)


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
        ArrangementCompliance(
            "mdt", "MDT decision to proceed before the procedure", share(counts.mdt)
        ),
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
    consents = _before_procedure(tables, tables.consents, "consent_date")
    baseline = completed_baseline(tables)
    written = consents[consents.leaflet_title.fillna("").str.strip() != ""]
    with_step = {
        "mdt": procedures.loc[procedures.mdt_to_proceed.astype(bool), "procedure_id"],
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
