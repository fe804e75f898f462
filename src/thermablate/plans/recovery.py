"""Plans whose run was lost: a worker that stopped mid-run (retried once, then failed with
the reason) and a plan whose run was never queued. The worker command calls
:func:`recover_stalled` when it starts and between tasks.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from thermablate.plans import actions, run_records
from thermablate.plans.models import Plan, PlanStatus
from thermablate.plans.runner import MAX_ATTEMPTS, STALLED_AFTER_S


def recover_stalled(now=None) -> list[tuple[int, str]]:
    """Find running plans whose worker stopped (no heartbeat for ``STALLED_AFTER_S``) and
    queued plans whose run was never queued; retry or fail each. Returns (plan id, what
    happened)."""
    now = now or timezone.now()
    done = []
    stalled = Plan.objects.filter(
        status=PlanStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALLED_AFTER_S)
    )
    for plan in stalled:
        seen = f"the worker stopped during the run (last heard of at {plan.heartbeat_at:%H:%M:%S})"
        if plan.attempts < MAX_ATTEMPTS:
            if actions.requeue(plan.pk, seen):
                done.append((plan.pk, "retried"))
        else:
            run_records.record_failure(
                plan.pk, f"The run failed: {seen}, on each of {plan.attempts} attempts."
            )
            done.append((plan.pk, "failed"))
    lost = Plan.objects.filter(
        status=PlanStatus.QUEUED, task_id="", created_at__lt=now - timedelta(seconds=60)
    )
    for plan in lost:
        actions.enqueue(plan.pk)
        done.append((plan.pk, "queued"))
    return done
