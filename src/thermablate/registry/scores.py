"""Scores derived from an assessment's raw answers, computed when shown (never stored), so a
better value set or conversion table applies to every past assessment at once."""

from dataclasses import dataclass

from thermablate.clinical import eq5d, opioids
from thermablate.registry.models import Assessment


@dataclass(frozen=True)
class AssessmentScores:
    pain_worst: int | None
    pain_average: int | None
    eq5d_index: float | None
    eq5d_value_set: str
    ome: opioids.OmeResult | None

    @property
    def ome_text(self) -> str:
        return self.ome.summary() if self.ome else ""


def analgesic_entries(assessment: Assessment) -> list[opioids.AnalgesicEntry]:
    return [
        opioids.AnalgesicEntry(
            drug=entry.drug,
            dose=float(entry.dose),
            unit=entry.unit,
            route=entry.route,
            doses_per_day=float(entry.doses_per_day) if entry.doses_per_day is not None else None,
        )
        for entry in assessment.analgesics.all()
    ]


def scores_for(assessment: Assessment, value_set: str = eq5d.DEFAULT_VALUE_SET) -> AssessmentScores:
    profile = assessment.eq5d_profile
    ome = None
    if assessment.is_done:
        entries = analgesic_entries(assessment)
        ome = opioids.ome_breakdown(entries) if entries or assessment.no_analgesics else None
    return AssessmentScores(
        pain_worst=assessment.pain_worst,
        pain_average=assessment.pain_average,
        eq5d_index=round(eq5d.index(profile, value_set), 3) if profile else None,
        eq5d_value_set=eq5d.describe(value_set),
        ome=ome,
    )
