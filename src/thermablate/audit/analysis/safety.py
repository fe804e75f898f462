"""The key safety outcomes (HTG670 3.3: cement leakage, infection, thermal damage to adjacent
structures including neurological damage) and every other adverse event type recorded.

Rate = procedures with at least one event of the type / procedures in the cohort, with its
Wilson interval (``stats.wilson_interval``). Counts are events (a procedure may have two).

Evidence rates: HTG670 (2023, seed 002) and the 2022 consultation document (seed 004) name the
key safety outcomes but state no rates; the figures are in NICE's interventional procedures
overview, which is not among Thermablate's sources. So ``EVIDENCE_RATES`` is empty and every
report says so, rather than quoting a number we cannot cite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from thermablate.audit.analysis.stats import Proportion, wilson_interval

KEY_SAFETY_OUTCOMES = ("cement_leakage", "infection", "thermal_injury", "neurological_deficit")
EVIDENCE_RATES: Mapping[str, str] = {}
EVIDENCE_NOTE = (
    "HTG670 and the 2022 consultation document name these safety outcomes but state no rates; "
    "no published comparison figure is shown."
)
SERIOUS_GRADE = 3  # CTCAE v5.0 grade 3 or worse: severe, hospitalisation or worse


@dataclass(frozen=True)
class EventRate:
    code: str
    label: str
    events: int
    rate: Proportion
    key_outcome: bool
    evidence: str


def event_rates(
    procedures: pd.DataFrame, events: pd.DataFrame, event_types: Mapping[str, str]
) -> list[EventRate]:
    """One row per event type (in the order given), then any event, serious and device-related."""
    total = len(procedures)
    in_cohort = events[events.procedure_id.isin(set(procedures.procedure_id))]

    def row(code: str, label: str, subset: pd.DataFrame, key: bool = False) -> EventRate:
        return EventRate(
            code=code,
            label=label,
            events=len(subset),
            rate=wilson_interval(int(subset.procedure_id.nunique()), total),
            key_outcome=key,
            evidence=EVIDENCE_RATES.get(code, ""),
        )

    rows = [
        row(code, label, in_cohort[in_cohort.event_type == code], code in KEY_SAFETY_OUTCOMES)
        for code, label in event_types.items()
    ]
    rows.append(row("any", "Any adverse event", in_cohort))
    rows.append(
        row(
            "serious",
            f"CTCAE grade {SERIOUS_GRADE} or worse",
            in_cohort[in_cohort.severity >= SERIOUS_GRADE],
        )
    )
    rows.append(
        row("device_related", "Related to the device", in_cohort[in_cohort.device_related == "yes"])
    )
    return rows


def complications_by_procedure(procedures: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """1 for each procedure with any adverse event, else 0, indexed by procedure_id."""
    with_event = set(events.procedure_id)
    return pd.Series(
        procedures.procedure_id.isin(with_event).astype(int).to_numpy(),
        index=procedures.procedure_id.to_numpy(),
    )
