"""Scores derived from an assessment's raw answers, computed when shown (never stored), so a
better value set or conversion table applies to every past assessment at once."""

from dataclasses import dataclass

from django.utils import timezone

from thermablate.clinical import eq5d, opioids
from thermablate.registry.models import Assessment


@dataclass(frozen=True)
class AssessmentScores:
    pain_worst: int | None
    pain_average: int | None
    eq5d_index: float | None
    eq5d_value_set: str
    ome: opioids.OmeResult | None
    eq5d_not_computed: str = ""  # why there is no index, when there is none

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


def eq5d_index(assessment: Assessment, value_set: str = eq5d.DEFAULT_VALUE_SET) -> float:
    """The assessment's EQ-5D-5L index; value sets that depend on age and sex (the DSU
    mapping) get the patient's age at the assessment and sex. ValueError if it cannot be
    computed (answers incomplete, a respondent the value set does not cover)."""
    profile = assessment.eq5d_profile
    if profile is None:
        raise ValueError("answers incomplete")
    patient = assessment.patient
    on = assessment.assessed_on or timezone.localdate()
    return eq5d.index(
        profile,
        value_set,
        age=eq5d.approximate_age(patient.year_of_birth, on),
        sex=patient.sex,
    )


def scores_for(assessment: Assessment, value_set: str = eq5d.DEFAULT_VALUE_SET) -> AssessmentScores:
    ome = None
    if assessment.is_done:
        entries = analgesic_entries(assessment)
        ome = opioids.ome_breakdown(entries) if entries or assessment.no_analgesics else None
    index, not_computed = None, ""
    try:
        index = round(eq5d_index(assessment, value_set), 3)
    except ValueError as exc:
        not_computed = str(exc)
    return AssessmentScores(
        pain_worst=assessment.pain_worst,
        pain_average=assessment.pain_average,
        eq5d_index=index,
        eq5d_value_set=eq5d.describe(value_set),
        ome=ome,
        eq5d_not_computed=not_computed,
    )
