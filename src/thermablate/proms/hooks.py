"""What this app adds to the registry's pages, through the registry's extension points (the
registry never imports this app)."""

from django.template.loader import render_to_string

from thermablate.proms import actions
from thermablate.proms.models import Invitation
from thermablate.registry import extensions


def procedure_section(request, procedure) -> str:
    """The procedure page's "Patient questionnaires": each time point's invitation, its
    messages (when, how, with what outcome; never their content) and any painkillers the
    patient wrote in for staff to resolve."""
    # The message log and what the patient wrote in are for those who contact patients.
    if not request.user.has_perm("proms.view_invitation"):
        return ""
    invitations = (
        Invitation.objects.filter(assessment__procedure=procedure)
        .select_related("assessment")
        .prefetch_related("messages")
        .order_by("assessment__due_date")
    )
    return render_to_string(
        "proms/_procedure_section.html",
        {
            "invitations": invitations,
            "patient": procedure.patient,
            "refusal": actions.contact_refusal(procedure.patient),
            "can_contact": request.user.has_perm("proms.view_contactdetails"),
            "can_unlock": request.user.has_perm("proms.change_contactdetails"),
        },
        request=request,
    )


def patient_links(user, patient) -> list[tuple[str, str]]:
    from django.urls import reverse

    if not user.has_perm("proms.view_contactdetails"):
        return []
    return [
        ("Contact for questionnaires", reverse("proms_contact", args=[patient.registry_number]))
    ]


def register() -> None:
    extensions.register_procedure_section(procedure_section)
    extensions.register_patient_links(patient_links)
