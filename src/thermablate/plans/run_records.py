"""The background run's writes to a plan: its claim by the worker, its progress, its result or
its failure (``actor`` None in the audit trail: the worker, not a person). The people's writes
are in ``actions.py``; the run (``runner.py``) uses only these, so that queueing a run
(``actions`` -> ``tasks`` -> ``runner``) never leads back to where it started.
"""

from __future__ import annotations

import logging

from django.db import OperationalError, transaction
from django.utils import timezone

from thermablate.plans.models import Plan, PlanStatus
from thermablate.registry.actions import record_audit

logger = logging.getLogger(__name__)


def claim(plan_id: int) -> Plan | None:
    """Mark a queued plan running (one more attempt), or None if it is not queued: a run
    queued twice, or for a plan already finished, does nothing."""
    with transaction.atomic():
        plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None or plan.status != PlanStatus.QUEUED:
            return None
        now = timezone.now()
        plan.status = PlanStatus.RUNNING
        plan.attempts += 1
        plan.started_at = plan.heartbeat_at = now
        plan.progress_time_s = plan.progress_tip_c = None
        plan.save(
            update_fields=["status", "attempts", "started_at", "heartbeat_at", "progress_time_s",
                           "progress_tip_c"]
        )  # fmt: skip
        record_audit(None, "update", plan, plan.patient, {"status": ["queued", "running"],
                                                           "attempt": plan.attempts})  # fmt: skip
    return plan


def record_progress(plan_id: int, time_s: float | None, tip_c: float | None) -> None:
    """The run's heartbeat, with its simulated time and tip temperature when given (progress
    is not clinical data: no audit entry). Best effort: a write the database refuses for
    the moment (locked) is skipped, not allowed to fail the run; the next one follows within
    a second."""
    changes = {"heartbeat_at": timezone.now()}
    if time_s is not None:
        changes.update(progress_time_s=time_s, progress_tip_c=tip_c)
    try:
        Plan.objects.filter(pk=plan_id, status=PlanStatus.RUNNING).update(**changes)
    except OperationalError:
        logger.warning("plan %s: progress not written (database busy)", plan_id)


@transaction.atomic
def record_result(plan_id: int, result: dict, slices_png: bytes) -> None:
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if plan.status != PlanStatus.RUNNING:
        return  # recovered as stalled meanwhile and re-queued or failed: that run decides
    plan.status = PlanStatus.SUCCEEDED
    plan.result = result
    plan.slices_png = slices_png
    plan.finished_at = timezone.now()
    plan.failure = ""
    plan.save(update_fields=["status", "result", "slices_png", "finished_at", "failure"])
    record_audit(
        None,
        "update",
        plan,
        plan.patient,
        {"status": ["running", "succeeded"], "safety": result["safety"]["status"]},
    )


@transaction.atomic
def record_failure(plan_id: int, reason: str, *, from_status=PlanStatus.RUNNING) -> None:
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if plan.status != from_status:
        return
    plan.status = PlanStatus.FAILED
    plan.failure = reason
    plan.finished_at = timezone.now()
    plan.save(update_fields=["status", "failure", "finished_at"])
    record_audit(
        None, "update", plan, plan.patient, {"status": [from_status, "failed"], "reason": reason}
    )
