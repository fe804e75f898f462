"""Audit pages: the governance dashboard, its reports, the appraisal report and Yellow Card drafts.

Every view first authorises through ``registry.access`` and sees only the user's own site. The
dashboard and reports show aggregates, never patient identifiers.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from thermablate.audit import reports
from thermablate.audit.forms import CohortForm, YellowCardSubmittedForm
from thermablate.audit.queries import CohortFilter, procedures_in
from thermablate.audit.yellow_card import draft_for
from thermablate.registry import access, actions
from thermablate.registry import choices as c
from thermablate.registry.models import AdverseEvent

DASHBOARD = "audit.view_dashboard"
ANY_APPRAISAL = "audit.view_any_appraisal"


def _site_operators(site):
    return (
        get_user_model()
        # Operators of a procedure that counts (not marked entered in error).
        .objects.filter(staff__site=site, procedures_performed__entered_in_error=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _cohort(request, staff) -> tuple[CohortForm, CohortFilter]:
    form = CohortForm(request.GET or None, operators=_site_operators(staff.site))
    data = form.cleaned_data if form.is_valid() else {}
    cohort = CohortFilter(
        site=staff.site,
        procedure_type=data.get("procedure_type") or None,
        guidance=data.get("guidance") or None,
        operator_id=data.get("operator"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        sins_category=data.get("sins_category") or None,
        bilsky_grade=data.get("bilsky_grade") or None,
        prior_radiotherapy=data.get("prior_radiotherapy") or None,
    )
    return form, cohort


# A report is a self-contained document: its own styles and inline SVG charts, no scripts.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _file_response(content, content_type: str, filename: str, inline: bool) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Security-Policy"] = REPORT_CSP
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def dashboard(request):
    staff = access.require(request.user, DASHBOARD)
    form, cohort = _cohort(request, staff)
    context = reports.governance_context(cohort)
    # The events that count: not in error, of a procedure that counts (procedures_in).
    events = (
        AdverseEvent.objects.live()
        .filter(procedure__in=procedures_in(cohort).values("id"))
        .select_related("procedure")
        .order_by("-onset_date")
    )
    context.update(
        {
            "form": form,
            "query": request.GET.urlencode(),
            "adverse_events": events[:100],
            "can_draft_yellow_card": request.user.has_perm("registry.view_adverseevent"),
            "appraisal_operators": _site_operators(staff.site)
            if request.user.has_perm(ANY_APPRAISAL)
            else _site_operators(staff.site).filter(pk=request.user.pk),
        }
    )
    return render(request, "audit/dashboard.html", context)


def governance_report(request):
    staff = access.require(request.user, DASHBOARD)
    _, cohort = _cohort(request, staff)
    context = reports.governance_context(cohort)
    stem = f"governance-report-{staff.site.code}-{context['generated_at']:%Y%m%d}"
    if request.GET.get("format") == "pdf":
        pdf = reports.render_pdf("audit/report.html", context)
        return _file_response(pdf, "application/pdf", f"{stem}.pdf", inline=False)
    return _file_response(
        reports.render_html("audit/report.html", context), "text/html", f"{stem}.html", inline=True
    )


def appraisal_report(request, operator_id):
    staff = access.require(request.user, DASHBOARD)
    if operator_id != request.user.pk and not request.user.has_perm(ANY_APPRAISAL):
        raise PermissionDenied("You may see only your own appraisal report.")
    operator = _site_operators(staff.site).filter(pk=operator_id).first()
    if operator is None:
        raise Http404("No operator with procedures at your site.")
    _, cohort = _cohort(request, staff)
    name = operator.get_full_name() or operator.username
    context = reports.appraisal_context(cohort, operator.pk, name)
    stem = f"appraisal-{operator.username}-{context['generated_at']:%Y%m%d}"
    if request.GET.get("format") == "pdf":
        pdf = reports.render_pdf("audit/appraisal.html", context)
        return _file_response(pdf, "application/pdf", f"{stem}.pdf", inline=False)
    return _file_response(
        reports.render_html("audit/appraisal.html", context),
        "text/html",
        f"{stem}.html",
        inline=True,
    )


def _get_event(user, event_id: int, permission: str) -> AdverseEvent:
    """The site's adverse event, if it counts: an event marked "entered in error", or one of
    a procedure in error, never happened as far as a Yellow Card report goes."""
    staff = access.require(user, permission)
    try:
        event = AdverseEvent.objects.select_related("procedure", "patient__site").get(
            pk=event_id, patient__site=staff.site
        )
    except AdverseEvent.DoesNotExist:
        raise Http404("No such adverse event at your site.") from None
    if event.entered_in_error or event.procedure.entered_in_error:
        raise Http404("This adverse event is marked entered in error: it has no Yellow Card draft.")
    return event


@require_http_methods(["GET", "POST"])
def yellow_card_draft(request, event_id):
    permission = (
        "registry.change_adverseevent" if request.method == "POST" else "registry.view_adverseevent"
    )
    event = _get_event(request.user, event_id, permission)
    initial = {
        "yellow_card_reported_on": event.yellow_card_reported_on,
        "yellow_card_reference": event.yellow_card_reference,
        "version": event.version,
    }
    form = YellowCardSubmittedForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            fields = dict(form.cleaned_data)
            actions.update_adverse_event(
                event,
                acting_user=request.user,
                expected_version=fields.pop("version"),
                **fields,
            )
        except ValidationError as exc:
            event.refresh_from_db()
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, f"Yellow Card reference {event.yellow_card_reference} recorded."
            )
            return redirect(reverse("yellow_card_draft", args=[event.pk]))
    return render(
        request,
        "audit/yellow_card.html",
        {
            "draft": draft_for(event),
            "event": event,
            "patient": event.patient,
            "form": form,
            "can_record": request.user.has_perm("registry.change_adverseevent"),
            "severities": c.Severity,
        },
    )
