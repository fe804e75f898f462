"""Scores derived from an assessment's raw answers, computed when shown (never stored), so a
better value set or conversion table applies to every past assessment at once."""

from dataclasses import dataclass

from django.utils import timezone

from thermablate.clinical import bpi, eq5d, odi, opioids
from thermablate.registry import choices as c
from thermablate.registry.models import Assessment


@dataclass(frozen=True)
class AssessmentScores:
    pain_worst: int | None
    pain_average: int | None
    eq5d_index: float | None
    eq5d_value_set: str
    ome: opioids.OmeResult | None
    eq5d_not_computed: str = ""  # why there is no index, when there is none
    eq5d_vas: int | None = None
    odi: float | None = None  # per cent, 0 = no disability
    odi_answered: int = 0  # sections answered (the ODI is scored from 8 of 10)
    bpi_severity: float | None = None
    bpi_interference: float | None = None
    bpi_answered: int = 0  # BPI items answered besides worst and average pain

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


def odi_answers(assessment: Assessment) -> list[int | None]:
    """The ten ODI section answers in ``odi.SECTIONS`` order (None: unanswered)."""
    return [getattr(assessment, name) for name, _ in c.ODI_SECTIONS]


def bpi_severity_answers(assessment: Assessment) -> list[int | None]:
    """Worst, least, average and now, in ``bpi.SEVERITY_ITEMS`` order: worst and average are
    the registry's own pain questions."""
    return [getattr(assessment, c.BPI_SEVERITY_FIELDS[item]) for item in bpi.SEVERITY_ITEMS]


def bpi_interference_answers(assessment: Assessment) -> list[int | None]:
    return [getattr(assessment, name) for name, _ in c.BPI_INTERFERENCE]


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
    odi_given = odi_answers(assessment)
    interference = bpi_interference_answers(assessment)
    bpi_own = [assessment.bpi_least, assessment.bpi_now, *interference]
    return AssessmentScores(
        pain_worst=assessment.pain_worst,
        pain_average=assessment.pain_average,
        eq5d_index=index,
        eq5d_value_set=eq5d.describe(value_set),
        ome=ome,
        eq5d_not_computed=not_computed,
        eq5d_vas=assessment.eq5d_vas,
        odi=odi.score(odi_given),
        odi_answered=sum(answer is not None for answer in odi_given),
        bpi_severity=bpi.severity(bpi_severity_answers(assessment)),
        bpi_interference=bpi.interference(interference),
        bpi_answered=sum(answer is not None for answer in bpi_own),
    )
