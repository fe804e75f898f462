"""Records for the audit's tests, made through the registry's actions as a user would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.factories import VALID_NHS_NUMBERS, procedure_fields
from thermablate.registry import actions
from thermablate.registry.models import Assessment, Patient, Procedure

LESION = {
    "spinal_levels": "L2",
    "diagnosis": "spinal_metastasis",
    "primary_tumour": "breast",
    "lesion_type": "lytic",
    "size_mm": Decimal("25"),
    "posterior_wall_intact": True,
    "distance_to_neural_mm": Decimal("6"),
    "pain_at_site": 8,
}
CYCLE = {"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}


def new_patient(site, user, number: int) -> Patient:
    """A patient of ``site`` with the ``number``-th valid NHS number (0-4)."""
    return actions.create_patient(
        site=site,
        acting_user=user,
        nhs_number=VALID_NHS_NUMBERS[number],
        year_of_birth=1955 + number,
        sex="female" if number % 2 else "male",
    )


def new_procedure(patient: Patient, user, procedure_date: date) -> Procedure:
    """A procedure on a new lesion of the patient, dated ``procedure_date``, with its
    follow-up schedule; ``user`` is its operator."""
    lesion = actions.add_lesion(patient, acting_user=user, **LESION)
    return actions.record_procedure(
        patient,
        acting_user=user,
        operators=[user],
        cycles=[CYCLE],
        **procedure_fields(lesion, procedure_date=procedure_date),
    )


def record(
    assessment: Assessment, user, on: date, *, pain: int = 4, reason: str = ""
) -> Assessment:
    """Record the assessment on ``on`` with a worst pain of ``pain``, no analgesics; marked
    outside its window, with a reason, when ``on`` is outside it (the registry asks)."""
    outside = not (assessment.window_opens <= on <= assessment.window_closes)
    fields = {}
    if assessment.is_done:
        fields["correction_reason"] = reason or "Answers re-read from the paper form"
    return actions.record_assessment(
        assessment,
        acting_user=user,
        analgesics=[],
        assessed_on=on,
        pain_worst=pain,
        pain_average=max(0, pain - 1),
        no_analgesics=True,
        outside_window=outside,
        outside_window_reason="Seen when the patient came in" if outside else "",
        **fields,
    )
