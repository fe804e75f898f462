"""Registry pages. Each view authorises through ``access``, parses a form and calls one action."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from thermablate.clinical import eq5d
from thermablate.clinical.followup import Status
from thermablate.registry import access, actions, coding, extensions
from thermablate.registry import audit_trail_page as trail
from thermablate.registry.approvals import special_arrangements_checklist
from thermablate.registry.audit_trail import record_found_by, record_identifiers_shown
from thermablate.registry.data_quality_views import warn_of_findings
from thermablate.registry.fields import identifier_hash, normalise_hospital_number
from thermablate.registry.forms import (
    ADD_CYCLE,
    AdverseEventForm,
    AnalgesicFormSet,
    AssessmentForm,
    CodingForm,
    ConsentForm,
    FindPatientForm,
    LesionForm,
    MdtDecisionForm,
    PatientForm,
    ProcedureForm,
    cycle_formset,
    show_as_typed,
)
from thermablate.registry.models import (
    AdverseEvent,
    Assessment,
    AuditEvent,
    Lesion,
    MdtDecisionRecord,
    Procedure,
)
from thermablate.registry.scores import scores_for
from thermablate.registry.timeline import entered_in_error, patient_flags, patient_timeline
from thermablate.registry.validators import normalise_nhs_number
from thermablate.web.forms import apply_errors


def _refusal_status(exc: ValidationError) -> int:
    """409 when the record changed since the page was read (optimistic locking), else 200:
    the page shows the form again with the refusal either way."""
    return 409 if isinstance(exc, actions.StaleRecordError) else 200


def home(request):
    staff = access.staff_of(request.user)
    context = {"staff": staff}
    if request.user.has_perm("registry.view_assessment"):
        today = timezone.localdate()
        open_assessments = Assessment.objects.awaiting().filter(patient__site=staff.site)
        context["overdue_count"] = open_assessments.filter(window_closes__lt=today).count()
        context["due_count"] = open_assessments.filter(
            window_opens__lte=today, window_closes__gte=today
        ).count()
    return render(request, "registry/home.html", context)


@require_http_methods(["GET", "POST"])
def patient_list(request):
    """The site's patients, and the search by NHS number, hospital number or registry number.

    The search is a POST (with the CSRF token) answered in place: an identifier in a query
    string would be written to server and proxy logs, browser history and the next Referer.
    A ``?q=`` typed into the address is therefore never searched nor shown back."""
    patients = access.patients_for(request.user)
    form = FindPatientForm(request.POST if request.method == "POST" else None)
    query = ""
    if form.is_bound and not form.is_valid():
        patients = patients.none()  # a refused search shows its error, not everyone
    elif form.is_bound and form.cleaned_data["q"]:
        query = form.cleaned_data["q"].strip()
        # Identifiers are found only through their keyed hashes (exact match), and only by
        # those who may see them; each find is recorded with the identifier that found it.
        by_identifier = {
            "nhs_number": Q(nhs_number_hash=identifier_hash(normalise_nhs_number(query))),
            "mrn": Q(mrn_hash=identifier_hash(normalise_hospital_number(query))),
        }
        if access.can_see_identifiers(request.user):
            any_identifier = Q(registry_number__iexact=query)
            for by_hash in by_identifier.values():
                any_identifier |= by_hash
            found = patients.filter(any_identifier)
            for identifier, by_hash in by_identifier.items():
                record_found_by(request.user, found.filter(by_hash), identifier)
            patients = found
        else:
            patients = patients.filter(registry_number__iexact=query)
    patients = patients.annotate(procedure_count=Count("procedures"))[:200]
    context = {
        "patients": patients,
        "form": form,
        "query": query,
        "search_in_address": request.method == "GET" and "q" in request.GET,
    }
    return render(request, "registry/patient_list.html", context)


@require_http_methods(["GET", "POST"])
def patient_create(request):
    staff = access.require(request.user, "registry.add_patient")
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            patient = actions.create_patient(site=staff.site, acting_user=request.user, **fields)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Patient {patient.registry_number} registered.")
            warn_of_findings(request, patient)
            return redirect("patient_detail", patient.registry_number)
    return render(request, "registry/form_page.html", {"form": form, "title": "Register a patient"})


@require_http_methods(["GET", "POST"])
def patient_edit(request, registry_number):
    patient = access.get_patient(request.user, registry_number, "registry.change_patient")
    form = PatientForm(request.POST or None, instance=patient)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_patient(patient, acting_user=request.user, **form.pop_version())
        except ValidationError as exc:
            status = _refusal_status(exc)
            apply_errors(form, exc)
        else:
            messages.success(request, "Patient details saved.")
            warn_of_findings(request, patient)
            return redirect("patient_detail", patient.registry_number)
    record_identifiers_shown(request.user, [patient], via="edit page")  # the form shows it
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": f"Edit {patient}", "patient": patient},
        status=status,
    )


def patient_detail(request, registry_number):
    patient = access.get_patient(request.user, registry_number)
    show_identifiers = access.can_see_identifiers(request.user)
    if show_identifiers:
        record_identifiers_shown(request.user, [patient], via="patient page")
    lesions = list(patient.lesions.live())
    for lesion in lesions:
        lesion.extra_links = extensions.lesion_links(request.user, lesion)
    context = {
        "patient": patient,
        "show_identifiers": show_identifiers,
        "timeline": patient_timeline(patient),
        "flags": patient_flags(patient),
        "checklist": special_arrangements_checklist(patient),
        "lesions": lesions,
        # Pages other apps add about the patient (their contact for questionnaires).
        "patient_links": extensions.patient_links(request.user, patient),
        "in_error": entered_in_error(patient),
        "can_edit": request.user.has_perm("registry.add_procedure"),
        "can_mark": request.user.has_perm("registry.mark_entered_in_error"),
        "can_change_patient": request.user.has_perm("registry.change_patient"),
    }
    return render(request, "registry/patient_detail.html", context)


def _simple_create(
    request,
    registry_number,
    *,
    permission,
    form_class,
    action,
    title,
    needs_patient=False,
    model=None,
    with_patient_sections=False,
):
    patient = access.get_patient(request.user, registry_number, permission)
    kwargs = {"patient": patient} if needs_patient else {}
    instance = model(patient=patient) if model else None
    form = form_class(request.POST or None, instance=instance, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            record = action(patient, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{title.split(' ', 1)[1].capitalize()} saved.")
            warn_of_findings(request, record)
            return redirect("patient_detail", patient.registry_number)
    return render(
        request,
        "registry/form_page.html",
        {
            "form": form,
            "title": title,
            "patient": patient,
            # The MDT decision and consent weigh the chosen plan (registered by the plans).
            "extra_sections": extensions.patient_sections(request, patient)
            if with_patient_sections
            else [],
        },
    )


@require_http_methods(["GET", "POST"])
def lesion_create(request, registry_number):
    return _simple_create(
        request,
        registry_number,
        permission="registry.add_lesion",
        form_class=LesionForm,
        action=actions.add_lesion,
        title="Record a lesion",
        model=Lesion,
    )


@require_http_methods(["GET", "POST"])
def mdt_create(request, registry_number):
    return _simple_create(
        request,
        registry_number,
        permission="registry.add_mdtdecisionrecord",
        form_class=MdtDecisionForm,
        action=actions.record_mdt_decision,
        title="Record an MDT decision",
        needs_patient=True,
        model=MdtDecisionRecord,
        with_patient_sections=True,
    )


@require_http_methods(["GET", "POST"])
def consent_create(request, registry_number):
    return _simple_create(
        request,
        registry_number,
        permission="registry.add_consent",
        form_class=ConsentForm,
        action=actions.record_consent,
        title="Record consent",
        with_patient_sections=True,
    )


@require_http_methods(["GET", "POST"])
def adverse_event_create(request, registry_number):
    return _simple_create(
        request,
        registry_number,
        permission="registry.add_adverseevent",
        form_class=AdverseEventForm,
        action=actions.record_adverse_event,
        title="Record an adverse event",
        needs_patient=True,
        model=AdverseEvent,
    )


@require_http_methods(["GET", "POST"])
def procedure_create(request, registry_number):
    patient = access.get_patient(request.user, registry_number, "registry.add_procedure")
    data = request.POST or None
    form = ProcedureForm(data, patient=patient, instance=Procedure(patient=patient))
    cycles = cycle_formset(data)
    adding_a_cycle = ADD_CYCLE in request.POST
    if adding_a_cycle:
        show_as_typed(form)
    elif request.method == "POST" and form.is_valid() and cycles.is_valid():
        fields = dict(form.cleaned_data)
        operators = fields.pop("operators")
        override_reason = fields.pop("override_reason")
        pathway_override_reason = fields.pop("pathway_override_reason")
        cycle_rows = [row for row in cycles.cleaned_data if row]
        try:
            procedure = actions.record_governed_procedure(
                patient,
                acting_user=request.user,
                operators=operators,
                cycles=cycle_rows,
                override_reason=override_reason,
                pathway_override_reason=pathway_override_reason,
                **fields,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Procedure saved; its follow-up schedule has been created.")
            warn_of_findings(request, procedure)
            return redirect("procedure_detail", procedure.pk)
    return render(
        request,
        "registry/procedure_form.html",
        {"form": form, "cycles": cycles, "patient": patient},
    )


def procedure_detail(request, procedure_id):
    procedure = access.get_procedure(request.user, procedure_id)
    assessments = procedure.assessments.select_related("patient").prefetch_related("analgesics")
    schedule = [(a, scores_for(a)) for a in assessments]
    suggested = coding.suggestions(procedure)
    coding_form = None
    if request.user.has_perm("registry.change_procedure"):
        initial = "\n".join(
            procedure.opcs_codes or [s.code for s in suggested if s.determined and s.code]
        )
        coding_form = CodingForm(initial={"codes": initial, "version": procedure.version})
    context = {
        "procedure": procedure,
        "patient": procedure.patient,
        "schedule": schedule,
        "value_set": eq5d.describe(),
        "suggestions": suggested,
        "coding_form": coding_form,
        "governance": getattr(procedure, "governance", None),
        "extra_sections": extensions.procedure_sections(request, procedure),
    }
    return render(request, "registry/procedure_detail.html", context)


@require_http_methods(["POST"])
def procedure_coding(request, procedure_id):
    procedure = access.get_procedure(request.user, procedure_id, "registry.change_procedure")
    form = CodingForm(request.POST)
    if form.is_valid():
        try:
            actions.record_coding(
                procedure,
                acting_user=request.user,
                codes=form.code_list(),
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            refusal = exc.message_dict.get("codes") if hasattr(exc, "error_dict") else None
            for message in refusal or exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, "OPCS-4 codes saved.")
    else:
        messages.error(request, "Enter the codes to save.")
    return redirect("procedure_detail", procedure.pk)


@require_http_methods(["GET", "POST"])
def assessment_record(request, assessment_id):
    assessment = access.get_assessment(request.user, assessment_id, "registry.change_assessment")
    data = request.POST or None
    form = AssessmentForm(data, instance=assessment)
    initial = [
        {f: getattr(a, f) for f in ("drug", "dose", "unit", "route", "doses_per_day", "as_needed")}
        for a in assessment.analgesics.all()
    ]
    analgesics = AnalgesicFormSet(data, prefix="drugs", initial=initial or None)
    status = 200
    if request.method == "POST" and form.is_valid() and analgesics.is_valid():
        rows = [row for row in analgesics.cleaned_data if row]
        try:
            actions.record_assessment(
                assessment, acting_user=request.user, analgesics=rows, **form.pop_version()
            )
        except ValidationError as exc:
            status = _refusal_status(exc)
            apply_errors(form, exc)
        else:
            messages.success(request, f"{assessment.get_timepoint_display()} assessment saved.")
            warn_of_findings(request, assessment)
            return redirect("patient_detail", assessment.patient.registry_number)
    if request.method == "POST":
        # Validating a model form copies the posted values onto its instance, even when it
        # refuses them: re-read the record so the page's "saved answers" panel shows what is
        # stored, not what was just refused.
        assessment.refresh_from_db()
    return render(
        request,
        "registry/assessment_form.html",
        {
            "form": form,
            "analgesics": analgesics,
            "assessment": assessment,
            "patient": assessment.patient,
            "scores": scores_for(assessment) if assessment.is_done else None,
        },
        status=status,
    )


def follow_ups(request):
    staff = access.require(request.user, "registry.view_assessment")
    today = timezone.localdate()
    pending = (
        Assessment.objects.awaiting()
        .filter(patient__site=staff.site)
        .select_related("patient", "procedure")
        .order_by("window_closes")
    )
    overdue, due, due_soon = [], [], []
    for assessment in pending:
        state = assessment.status(today)
        if state is Status.OVERDUE:
            overdue.append(assessment)
        elif state is Status.DUE:
            due.append(assessment)
        elif state is Status.DUE_SOON:
            due_soon.append(assessment)
    return render(
        request,
        "registry/follow_ups.html",
        {"overdue": overdue, "due": due, "due_soon": due_soon, "today": today, "site": staff.site},
    )


def audit_trail(request):
    """Governance leads read the trail of their site in words, filtered and a page at a time,
    and download the filtered entries as CSV (the download itself is an export entry).

    Views of NHS numbers stay one entry per patient shown, so "who saw this patient" remains
    one query; the action filter and paging keep them from swamping the page.
    """
    staff = access.require(request.user, "registry.view_auditevent")
    scope = trail.site_entries(staff.site)
    actions_seen = scope.order_by("action").values_list("action", flat=True).distinct()
    form = trail.AuditTrailSearchForm(request.GET or None, actions=actions_seen)
    entries = trail.filtered(scope, form.cleaned_data if form.is_valid() else {})
    if form.is_bound and not form.is_valid():
        entries = entries.none()
    if request.GET.get("format") == "csv":
        return _audit_trail_csv(request, staff, form, entries)
    page = Paginator(entries, trail.PER_PAGE).get_page(request.GET.get("page"))
    describer = trail.Describer(request.user, staff.site, list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "registry/audit_trail.html",
        {
            "form": form,
            "page": page,
            "rows": [describer.describe(entry) for entry in page.object_list],
            "query": query.urlencode(),
        },
    )


def _audit_trail_csv(request, staff, form, entries):
    filters = {k: str(v) for k, v in (form.cleaned_data if form.is_bound else {}).items() if v}
    AuditEvent.objects.create(
        actor=request.user,
        action="export",
        model="auditevent",
        object_id="",
        changes={"format": "csv", "filters": filters},
    )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in trail.csv_rows(request.user, staff.site, entries)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


class _Echo:
    """A file whose write returns the line: csv.writer then yields lines to stream."""

    def write(self, line):
        return line
