"""The staff's pages: a patient's contact details and their withdrawal, the call-and-letter
list of patients the messages did not reach, and the printed letter."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from thermablate.proms import access, actions, channels, letters
from thermablate.proms.forms import ContactDetailsForm, WithdrawContactForm
from thermablate.proms.models import ContactDetails, Invitation
from thermablate.registry.audit_trail import record_access
from thermablate.web.forms import apply_errors

VIEW_CONTACT = "proms.view_contactdetails"
CHANGE_CONTACT = "proms.change_contactdetails"


def _contact_shown(
    user, patient, details: ContactDetails | None, via: str, fields=actions.CONTACT_FIELDS
) -> None:
    """Contact details are personal data: every showing is in the audit trail, naming the
    ones shown."""
    if details is not None and details.pk:
        shown = [f for f in fields if getattr(details, f)]
        if shown:
            record_access(user, "view", details, patient, {"shown": shown, "via": via})


@require_http_methods(["GET", "POST"])
def contact_details(request, registry_number):
    patient = access.get_patient(request.user, registry_number)
    access.require(request.user, VIEW_CONTACT)
    details = ContactDetails.objects.filter(patient=patient).first()
    form = ContactDetailsForm(
        request.POST or None, instance=details or ContactDetails(patient=patient)
    )
    if request.method == "POST":
        access.require(request.user, CHANGE_CONTACT)
        if form.is_valid():
            try:
                actions.save_contact_details(
                    patient,
                    acting_user=request.user,
                    expected_version=details.version if details else None,
                    **{name: form.cleaned_data[name] for name in actions.CONTACT_FIELDS},
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Contact details saved.")
                return redirect("proms_contact", patient.registry_number)
    _contact_shown(request.user, patient, details, via="contact details page")
    return render(
        request,
        "proms/contact_details.html",
        {
            "title": "Contact for follow-up questionnaires",
            "patient": patient,
            "form": form,
            "details": details,
            "refusal": actions.contact_refusal(patient),
            "email_problem": channels.email_unavailable(),
            "sms_problem": channels.sms_unavailable(),
            "can_change": request.user.has_perm(CHANGE_CONTACT),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def withdraw_contact(request, registry_number):
    patient = access.get_patient(request.user, registry_number)
    access.require(request.user, CHANGE_CONTACT)
    form = WithdrawContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_contact(patient, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Recorded: no more questionnaires or reminders will be sent.")
            return redirect("proms_contact", patient.registry_number)
    return render(
        request,
        "registry/form_page.html",
        {
            "form": form,
            "title": "Record that the patient does not want to be contacted",
            "patient": patient,
        },
        status=400 if form.errors else 200,
    )


def call_list(request):
    staff = access.require(request.user, VIEW_CONTACT)
    invitations = list(
        Invitation.objects.filter(
            assessment__patient__site=staff.site,
            call_list_since__isnull=False,
            completed_at=None,
            stopped_at=None,
        )
        .select_related("assessment__patient", "assessment__procedure")
        .prefetch_related("messages")
        .order_by("assessment__window_closes")
    )
    details = {
        d.patient_id: d
        for d in ContactDetails.objects.filter(
            patient__in=[i.assessment.patient for i in invitations]
        )
    }
    rows = []
    for invitation in invitations:
        patient = invitation.assessment.patient
        contact = details.get(patient.pk)
        _contact_shown(
            request.user, patient, contact, via="call-and-letter list", fields=("mobile",)
        )
        rows.append({"invitation": invitation, "contact": contact})
    return render(
        request,
        "proms/call_list.html",
        {"title": "Call and letter list", "rows": rows, "today": timezone.localdate()},
    )


@require_POST
def letter(request, invitation_id):
    """The printed letter: the patient's address, a fresh link and its QR code. Printing is
    logged as a message and in the audit trail."""
    invitation = access.get_invitation(request.user, invitation_id, CHANGE_CONTACT)
    if not invitation.is_open:
        messages.error(request, "This questionnaire is closed: no letter is needed.")
        return redirect("proms_call_list")
    pdf = letters.letter_pdf(invitation, acting_user=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="letter-{invitation.assessment.patient.registry_number}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def unlock(request, invitation_id):
    """Links locked by wrong years of birth, unlocked by staff who spoke to the patient."""
    invitation = access.get_invitation(request.user, invitation_id, CHANGE_CONTACT)
    actions.unlock(invitation, acting_user=request.user)
    messages.success(request, "The questionnaire's links work again.")
    return redirect("procedure_detail", invitation.assessment.procedure_id)
