"""A patient's plans on the registry's pages: timeline entries and the "Plan ablation" link on
each lesion (registered with ``registry.extensions``)."""

from django.urls import reverse
from django.utils import timezone

from thermablate.registry import extensions
from thermablate.registry.timeline import TimelineEntry


def plan_entries(patient) -> list[TimelineEntry]:
    from thermablate.plans.models import Plan

    entries = []
    for plan in Plan.objects.filter(patient=patient).select_related("lesion"):
        detail = plan.get_status_display()
        if plan.safety_status:
            detail = f"neural safety: {plan.safety_status}"
        if plan.chosen:
            detail = f"chosen; {detail}"
        entries.append(
            TimelineEntry(
                timezone.localdate(plan.created_at),
                "plan",
                f"Plan: {plan.name}",
                f"{plan.lesion.location}; {detail}",
                reverse("plan_detail", args=[plan.pk]),
            )
        )
    return entries


def lesion_links(user, lesion) -> list[tuple[str, str]]:
    links = []
    if user.has_perm("plans.view_plan") and lesion.plans.exists():
        links.append(("Plans", reverse("lesion_plans", args=[lesion.pk])))
    if user.has_perm("plans.add_plan"):
        links.append(("Plan ablation", reverse("plan_new", args=[lesion.pk])))
    return links


def register() -> None:
    extensions.register_timeline_source(plan_entries)
    extensions.register_lesion_links(lesion_links)
