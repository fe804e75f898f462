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


@dataclass(frozen=True)
class EventCounts:
    """Events and procedures with at least one event: per type, then any, serious, device."""

    procedures: int  # in the cohort: the rates' denominator
    by_type: Mapping[str, tuple[int, int]]  # code -> (events, procedures with one)
    any: tuple[int, int]
    serious: tuple[int, int]
    device_related: tuple[int, int]


def rates_from_counts(counts: EventCounts, event_types: Mapping[str, str]) -> list[EventRate]:
    """One row per event type (in the order given), then any event, serious and device-related."""

    def row(code: str, label: str, events_and_procedures, key: bool = False) -> EventRate:
        events, procedures = events_and_procedures
        return EventRate(
            code=code,
            label=label,
            events=int(events),
            rate=wilson_interval(int(procedures), counts.procedures),
            key_outcome=key,
            evidence=EVIDENCE_RATES.get(code, ""),
        )

    rows = [
        row(code, label, counts.by_type.get(code, (0, 0)), code in KEY_SAFETY_OUTCOMES)
        for code, label in event_types.items()
    ]
    rows.append(row("any", "Any adverse event", counts.any))
    rows.append(row("serious", f"CTCAE grade {SERIOUS_GRADE} or worse", counts.serious))
    rows.append(row("device_related", "Related to the device", counts.device_related))
    return rows
