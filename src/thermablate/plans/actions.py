"""The only writers of plans: each validates, saves and writes its audit entry in one
transaction (as ``registry.actions`` do for the clinical records).

A plan's inputs are written once, by :func:`create_plan`; the background run then records its
start, progress and result or failure (``run_records.py``). Choosing a plan and linking it to a
procedure are the only later changes.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import thermablate
from thermablate.physics.scenario import ScenarioError
from thermablate.planning.devices import DeviceLibrary
from thermablate.planning.lesion_plan import (
    CannotPlan,
    LesionFacts,
    PlanOptions,
    delivered_options,
    draft_plan,
)
from thermablate.planning.scenario import scenario_from_dict
from thermablate.plans.models import ObservedZone, Plan, PlanPurpose, PlanStatus
from thermablate.plans.tasks import run_plan
from thermablate.registry.actions import record_audit
from thermablate.registry.actions.base import create_audited, update_audited
from thermablate.registry.models import Lesion, Procedure, SiteDevice

ENGINE_VERSION = thermablate.__version__

logger = logging.getLogger(__name__)


def lesion_facts(lesion: Lesion) -> LesionFacts:
    """The registry's lesion as the planning core reads it."""
    return LesionFacts(
        diagnosis=lesion.diagnosis,
        levels=tuple(lesion.level_list),
        bone_site=lesion.bone_site,
        lesion_type=lesion.lesion_type,
        size_mm=None if lesion.size_mm is None else float(lesion.size_mm),
        distance_to_neural_mm=(
            None if lesion.distance_to_neural_mm is None else float(lesion.distance_to_neural_mm)
        ),
        posterior_wall_intact=lesion.posterior_wall_intact,
    )


def device_library(site) -> DeviceLibrary:
    """The shipped library with the site's own devices."""
    return SiteDevice.library(site)


def create_plan(
    lesion: Lesion,
    options: PlanOptions,
    *,
    name: str,
    acting_user,
    purpose: str = PlanPurpose.OPTION,
    procedure: Procedure | None = None,
    notes: tuple[str, ...] = (),
) -> Plan:
    """Check the plan can be run, store it queued with its audit entry, and queue its run when
    the transaction commits. Raises ValidationError (nothing saved) when it cannot be run.

    A plan ``AS_DELIVERED`` re-simulates ``procedure`` (:func:`simulate_as_delivered`)."""
    if lesion.entered_in_error:
        raise ValidationError("This lesion is marked entered in error: it cannot be planned.")
    delivered = purpose == PlanPurpose.AS_DELIVERED
    try:
        draft = draft_plan(
            lesion_facts(lesion),
            options,
            device_library(lesion.patient.site),
            device_limits=not delivered,
        )
        # Build the whole scenario now (grid, labels, and Scenario.validate: every check of
        # the engine's own, the run-time estimate): a plan that cannot run is refused here,
        # not queued to fail.
        scenario_from_dict(draft.scenario)
    except (CannotPlan, ScenarioError) as exc:
        raise ValidationError(str(exc)) from None
    with transaction.atomic():
        plan = Plan(
            patient=lesion.patient,
            lesion=lesion,
            name=name.strip() or draft.scenario["title"][:120],
            options=options.to_dict(),
            scenario=draft.scenario,
            caveats=list(draft.caveats),
            notes=list(notes) + list(draft.notes),
            purpose=purpose,
            procedure=procedure,
            device_id=options.device_id,
            engine_version=ENGINE_VERSION,
            created_by=acting_user,
        )
        plan.full_clean()
        plan.save()
        record_audit(
            acting_user,
            "create",
            plan,
            lesion.patient,
            {
                "lesion": lesion.pk,
                "name": plan.name,
                "options": plan.options,
                "purpose": purpose,
                "procedure": procedure.pk if procedure else None,
            },  # fmt: skip
        )
        transaction.on_commit(lambda: enqueue(plan.pk))
    return plan


def enqueue(plan_id: int) -> None:
    """Queue the run of a plan on the background worker and keep the task's id."""
    result = run_plan.enqueue(plan_id)
    Plan.objects.filter(pk=plan_id).update(task_id=str(result.id))


@transaction.atomic
def requeue(plan_id: int, reason: str) -> bool:
    """Put a stalled plan back in the queue (the run will be retried); False if it is no
    longer running."""
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if plan.status != PlanStatus.RUNNING:
        return False
    plan.status = PlanStatus.QUEUED
    plan.task_id = ""
    plan.save(update_fields=["status", "task_id"])
    record_audit(
        None, "update", plan, plan.patient, {"status": ["running", "queued"], "reason": reason}
    )
    transaction.on_commit(lambda: enqueue(plan_id))
    return True


@transaction.atomic
def choose_plan(plan: Plan, *, acting_user) -> Plan:
    """Mark ``plan`` as the chosen option of its lesion (any other chosen plan is unchosen)."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.SUCCEEDED:
        raise ValidationError("Only a plan whose run has finished can be chosen.")
    if plan.chosen:
        return plan
    for other in Plan.objects.select_for_update().filter(lesion=plan.lesion, chosen=True):
        other.chosen = False
        other.save(update_fields=["chosen"])
        record_audit(acting_user, "update", other, other.patient, {"chosen": [True, False]})
    plan.chosen = True
    plan.chosen_by = acting_user
    plan.chosen_at = timezone.now()
    plan.save(update_fields=["chosen", "chosen_by", "chosen_at"])
    record_audit(acting_user, "update", plan, plan.patient, {"chosen": [False, True]})
    return plan


@transaction.atomic
def link_to_procedure(plan: Plan, procedure: Procedure, *, acting_user) -> Plan:
    """Record that ``procedure`` carried out ``plan`` (an option of the same lesion). A
    procedure carries out one plan: linking another moves the link."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if procedure.lesion_id != plan.lesion_id:
        raise ValidationError("The procedure treated another lesion than the plan's.")
    if procedure.entered_in_error:
        raise ValidationError("This procedure is marked entered in error.")
    if plan.purpose != PlanPurpose.OPTION or plan.status != PlanStatus.SUCCEEDED:
        raise ValidationError("Only a finished plan made before the procedure can be linked.")
    for other in (
        Plan.objects.select_for_update()
        .filter(procedure=procedure, purpose=PlanPurpose.OPTION)
        .exclude(pk=plan.pk)
    ):
        other.procedure = None
        other.save(update_fields=["procedure"])
        record_audit(
            acting_user, "update", other, other.patient, {"procedure": [procedure.pk, None]}
        )
    old = plan.procedure_id
    plan.procedure = procedure
    plan.save(update_fields=["procedure"])
    record_audit(acting_user, "update", plan, plan.patient, {"procedure": [old, procedure.pk]})
    return plan


def planned_for(procedure: Procedure) -> Plan | None:
    """The option the procedure carried out: the one linked to it, or else its lesion's chosen
    plan (finished)."""
    linked = procedure.plans.filter(purpose=PlanPurpose.OPTION).first()
    if linked is not None:
        return linked
    return Plan.objects.filter(
        lesion=procedure.lesion_id, chosen=True, status=PlanStatus.SUCCEEDED
    ).first()


def simulate_as_delivered(procedure: Procedure, *, acting_user) -> Plan:
    """Queue the procedure re-simulated with its recorded cycles and active tip, on the model
    and electrode of the plan it carried out (raises ValidationError when there is none)."""
    base = planned_for(procedure)
    if base is None:
        raise ValidationError(
            "There is no plan to re-simulate: link the procedure to its plan, or choose one."
        )
    cycles = [
        {"target_temp_c": c.target_temp_c, "time_at_target_s": c.time_at_target_s,
         "power_w": c.power_w}
        for c in procedure.cycles.order_by("order")
    ]  # fmt: skip
    try:
        options, notes = delivered_options(
            PlanOptions(**base.options), cycles, float(procedure.active_tip_mm)
        )
    except CannotPlan as exc:
        raise ValidationError(str(exc)) from None
    return create_plan(
        procedure.lesion,
        options,
        name=f"As delivered on {procedure.procedure_date:%d %b %Y}",
        acting_user=acting_user,
        purpose=PlanPurpose.AS_DELIVERED,
        procedure=procedure,
        notes=notes,
    )


@transaction.atomic
def record_observed_zone(procedure: Procedure, *, acting_user, **fields) -> ObservedZone:
    """Record (or correct) the ablation zone measured on post-procedure imaging, through the
    registry's audited writers (the correction's entry holds the old and new values)."""
    if procedure.entered_in_error:
        raise ValidationError("This procedure is marked entered in error.")
    stamp = {"recorded_by": acting_user, "recorded_at": timezone.now()}
    zone = ObservedZone.objects.filter(procedure=procedure).first()
    if zone is None:
        zone = ObservedZone(procedure=procedure, **fields, **stamp)
        return create_audited(zone, acting_user=acting_user, patient=procedure.patient)
    return update_audited(
        zone, {**fields, **stamp}, acting_user=acting_user, patient=procedure.patient
    )
