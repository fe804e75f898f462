"""OPCS-4 coding suggestions for a recorded procedure (the rules live in clinical.opcs)."""

from django.conf import settings

from thermablate.clinical import opcs
from thermablate.clinical.spine import parse_levels
from thermablate.registry.models import Procedure


def for_coding(procedure: Procedure) -> opcs.ProcedureForCoding:
    lesion = procedure.lesion
    levels = procedure.levels_treated or lesion.spinal_levels
    return opcs.ProcedureForCoding(
        procedure_type=procedure.procedure_type,
        access=procedure.access or None,
        approach=procedure.approach or None,
        image_guidance=tuple(procedure.image_guidance),
        spinal_levels=tuple(parse_levels(levels)) if levels else (),
        bone_site=lesion.bone_site or None,
    )


def suggestions(procedure: Procedure) -> list[opcs.CodeSuggestion]:
    return opcs.suggest_codes(for_coding(procedure), opcs.code_table(settings.DATA_DIR))
