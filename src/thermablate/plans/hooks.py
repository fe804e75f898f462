"""A patient's plans on the registry's pages (registered with ``registry.extensions``):
timeline entries, the "Plan ablation" link on each lesion, the plan and the measured zone on
the procedure page, and the chosen plan's summary on the MDT decision and consent pages."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from thermablate.registry import extensions
from thermablate.registry.timeline import TimelineEntry


def plan_entries(patient) -> list[TimelineEntry]:
    from thermablate.plans.models import Plan

    entries = []
    for plan in Plan.objects.filter(patient=patient, purpose="option").select_related("lesion"):
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


def procedure_section(request, procedure) -> str:
    """The plan the procedure carried out, its re-simulation as delivered and the zone
    measured on imaging, side by side."""
    from thermablate.plans.actions import planned_for
    from thermablate.plans.models import ObservedZone, PlanPurpose, PlanStatus

    user = request.user
    if not user.has_perm("plans.view_plan"):
        return ""
    planned = planned_for(procedure)
    delivered = procedure.plans.filter(purpose=PlanPurpose.AS_DELIVERED).order_by("-pk").first()
    observed = ObservedZone.objects.filter(procedure=procedure).first()
    predicted = None
    for plan in (delivered, planned):
        if plan is not None and plan.status == PlanStatus.SUCCEEDED:
            predicted = plan
            break
    return render_to_string(
        "plans/_procedure_section.html",
        {
            "procedure": procedure,
            "planned": planned,
            "linked": planned is not None and planned.procedure_id == procedure.pk,
            "delivered": delivered,
            "observed": observed,
            "predicted": predicted,
            "difference": _difference(predicted, observed),
            "can_plan": user.has_perm("plans.add_plan"),
            "can_record_zone": user.has_perm("plans.add_observedzone"),
        },
        request=request,
    )


def _difference(predicted, observed) -> dict | None:
    """Measured minus predicted zone length and width (mm), the audit's agreement."""
    if predicted is None or observed is None:
        return None
    zone = predicted.result["ablation_zone"]
    return {
        "length_mm": float(observed.length_mm) - zone["axial_extent_mm"],
        "width_mm": float(observed.width_mm) - zone["transverse_extent_mm"],
    }


def patient_section(request, patient) -> str:
    """The chosen plans of the patient's lesions, for the MDT decision and the consent
    discussion (the verdict, what the model leaves out, the uncertainties)."""
    from thermablate.plans.models import Plan

    if not request.user.has_perm("plans.view_plan"):
        return ""
    chosen = list(Plan.objects.filter(patient=patient, chosen=True).select_related("lesion"))
    if not chosen:
        return ""
    return render_to_string(
        "plans/_chosen_plans.html",
        {"plans": chosen},
        request=request,
    )


def register() -> None:
    extensions.register_timeline_source(plan_entries)
    extensions.register_lesion_links(lesion_links)
    extensions.register_procedure_section(procedure_section)
    extensions.register_patient_section(patient_section)
