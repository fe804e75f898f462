"""The planning section of the audit: how many procedures were carried out from a plan, the
predicted against the measured ablation zone (Bland-Altman agreement), and neurological
adverse events against the neural verdict of the plan.

A procedure counts as planned when it is linked to a finished plan, or its lesion has a chosen
finished plan made on or before the procedure's day. The prediction compared with the imaging is the procedure re-simulated as
delivered when that run finished, else the plan it carried out. Only the few procedures that
have plans are read, so the section costs the same at 100,000 procedures as at 100.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from thermablate.audit.analysis.agreement import Agreement, bland_altman
from thermablate.audit.queries import CohortFilter, procedures_in
from thermablate.plans.models import ObservedZone, Plan, PlanPurpose, PlanStatus
from thermablate.registry import choices as c
from thermablate.registry.models import AdverseEvent, Procedure

NEUROLOGICAL_EVENTS = (c.AdverseEventType.NEUROLOGICAL_DEFICIT,)


@dataclass(frozen=True)
class VerdictRow:
    verdict: str
    procedures: int
    with_neurological_event: int


@dataclass(frozen=True)
class PlanningFigures:
    procedures: int
    planned: int
    measured: int
    length: Agreement
    width: Agreement
    pairs: tuple[tuple[float, float, float, float], ...]
    """(predicted length, measured length, predicted width, measured width) [mm]"""
    verdicts: tuple[VerdictRow, ...]

    @property
    def planned_share(self) -> float | None:
        return self.planned / self.procedures if self.procedures else None


def planning_figures(cohort: CohortFilter) -> PlanningFigures:
    ids = procedures_in(cohort).values("id")
    finished = Plan.objects.filter(status=PlanStatus.SUCCEEDED)
    linked = {
        p.procedure_id: p
        for p in finished.filter(procedure__in=ids, purpose=PlanPurpose.OPTION).order_by("pk")
    }
    delivered = {
        p.procedure_id: p
        for p in finished.filter(procedure__in=ids, purpose=PlanPurpose.AS_DELIVERED).order_by("pk")
    }
    chosen = {p.lesion_id: p for p in finished.filter(chosen=True, lesion__procedures__in=ids)}
    planned: dict[int, Plan] = {}
    for procedure_id, lesion_id, day in (
        Procedure.objects.filter(id__in=ids)
        .filter(lesion__plans__chosen=True)
        .values_list("id", "lesion_id", "procedure_date")
    ):
        # A chosen plan counts for the procedures done after it was made: one made later is
        # a look back, not a plan (a link made by hand is taken as the user says).
        plan = chosen.get(lesion_id)
        if plan is not None and timezone.localdate(plan.created_at) <= day:
            planned[procedure_id] = plan
    planned.update(linked)
    zones = {z.procedure_id: z for z in ObservedZone.objects.filter(procedure__in=planned)}
    pairs = []
    for procedure_id, zone in sorted(zones.items()):
        predicted = delivered.get(procedure_id, planned[procedure_id]).result["ablation_zone"]
        pairs.append(
            (predicted["axial_extent_mm"], float(zone.length_mm),
             predicted["transverse_extent_mm"], float(zone.width_mm))
        )  # fmt: skip
    neurological = set(
        AdverseEvent.objects.live()
        .filter(procedure__in=planned, event_type__in=NEUROLOGICAL_EVENTS)
        .values_list("procedure_id", flat=True)
    )
    rows: dict[str, list[int]] = {}
    for procedure_id, plan in planned.items():
        verdict = delivered.get(procedure_id, plan).safety_status
        row = rows.setdefault(verdict, [0, 0])
        row[0] += 1
        row[1] += procedure_id in neurological
    return PlanningFigures(
        procedures=procedures_in(cohort).count(),
        planned=len(planned),
        measured=len(pairs),
        length=bland_altman([(p[0], p[1]) for p in pairs]),
        width=bland_altman([(p[2], p[3]) for p in pairs]),
        pairs=tuple(pairs),
        verdicts=tuple(VerdictRow(v, n, e) for v, (n, e) in sorted(rows.items())),
    )
