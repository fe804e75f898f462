"""Pages that put records right: correct with a reason, mark "entered in error" and undo it,
record a patient's status, close a time point that could not be done.

Who may do what (docs/corrections.md): the site's clinicians and coordinators correct the
clinical records they may change (``change_<record>``) and mark them in error or undo the mark
(``registry.mark_entered_in_error``); the patient's status needs ``change_patient``. Every
write goes through ``registry.actions.corrections`` with the acting user and the reason.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from thermablate.registry import access, actions
from thermablate.registry import choices as c
from thermablate.registry.data_quality_views import warn_of_findings
from thermablate.registry.forms import (
    ADD_CYCLE,
    AdverseEventForm,
    ConsentForm,
    LesionForm,
    MdtDecisionForm,
    ProcedureForm,
    VersionedFormMixin,
    cycle_formset,
    reason_field,
    show_as_typed,
)
from thermablate.registry.models import (
    AdverseEvent,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Procedure,
)
from thermablate.web.forms import DateInput, NhsFormMixin, apply_errors


@dataclass(frozen=True)
class Kind:
    """A kind of record as these pages name it in their URLs."""

    model: type
    noun: str
    form_class: type | None = None  # corrected with this form (None: its own page)
    form_needs_patient: bool = False

    @property
    def change_permission(self) -> str:
        return f"registry.change_{self.model._meta.model_name}"


KINDS = {
    "lesion": Kind(Lesion, "lesion", LesionForm),
    "mdtdecisionrecord": Kind(MdtDecisionRecord, "MDT decision", MdtDecisionForm, True),
    "consent": Kind(Consent, "consent", ConsentForm),
    "adverseevent": Kind(AdverseEvent, "adverse event", AdverseEventForm, True),
    "procedure": Kind(Procedure, "procedure"),
    "assessment": Kind(Assessment, "assessment"),
}


def _kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise Http404("No such kind of record.") from None


class ReasonForm(NhsFormMixin, VersionedFormMixin, forms.Form):
    reason = reason_field("Reason")

    def __init__(self, *args, instance=None, label="Reason", **kwargs):
        self.instance = instance  # VersionedFormMixin reads the version from it
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label


def _correction_form(kind: Kind):
    """The record's own form, plus the version it was read at and the reason."""
    return type(
        f"Correct{kind.form_class.__name__}",
        (kind.form_class, VersionedFormMixin),
        {"reason": reason_field()},
    )


def _back(record) -> str:
    if isinstance(record, Procedure):
        return redirect("procedure_detail", record.pk)
    return redirect("patient_detail", record.patient.registry_number)


def _refused(exc: ValidationError) -> int:
    return 409 if isinstance(exc, actions.StaleRecordError) else 200


@require_http_methods(["GET", "POST"])
def correct(request, kind_name: str, pk: int):
    kind = _kind(kind_name)
    if kind.form_class is None:
        raise Http404("This record is corrected on its own page.")
    record = access.get_record(request.user, kind.model, pk, kind.change_permission)
    form_class = _correction_form(kind)
    extra = {"patient": record.patient} if kind.form_needs_patient else {}
    form = form_class(request.POST or None, instance=record, **extra)
    status = 200
    if request.method == "POST" and form.is_valid():
        fields = form.pop_version()
        try:
            actions.correct_record(
                record,
                reason=fields.pop("reason"),
                expected_version=fields.pop("expected_version"),
                fields=fields,
                acting_user=request.user,
            )
        except ValidationError as exc:
            status = _refused(exc)
            apply_errors(form, exc)
        else:
            messages.success(request, f"The {kind.noun} was corrected.")
            warn_of_findings(request, record)
            return _back(record)
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": f"Correct the {kind.noun}", "patient": record.patient},
        status=status,
    )


class ProcedureCorrectionForm(ProcedureForm, VersionedFormMixin):
    reason = reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Overrides are decided when the procedure is recorded; a correction that leaves it
        # outside the pathway shows as a data-quality finding (warned of on save).
        del self.fields["override_reason"]
        del self.fields["pathway_override_reason"]


@require_http_methods(["GET", "POST"])
def correct_procedure(request, pk: int):
    procedure = access.get_procedure(request.user, pk, "registry.change_procedure")
    data = request.POST or None
    initial = [
        {
            "target_temp_c": c.target_temp_c,
            "time_at_target_s": c.time_at_target_s,
            "power_w": c.power_w,
        }
        for c in procedure.cycles.order_by("order")
    ]
    form = ProcedureCorrectionForm(data, patient=procedure.patient, instance=procedure)
    cycles = cycle_formset(data, initial=initial)
    status = 200
    if ADD_CYCLE in request.POST:
        show_as_typed(form)
    elif request.method == "POST" and form.is_valid() and cycles.is_valid():
        fields = form.pop_version()
        try:
            actions.correct_procedure(
                procedure,
                acting_user=request.user,
                reason=fields.pop("reason"),
                operators=fields.pop("operators"),
                cycles=[row for row in cycles.cleaned_data if row],
                **fields,
            )
        except ValidationError as exc:
            status = _refused(exc)
            apply_errors(form, exc)
        else:
            messages.success(request, "The procedure was corrected.")
            warn_of_findings(request, procedure)
            return redirect("procedure_detail", procedure.pk)
    return render(
        request,
        "registry/procedure_form.html",
        {
            "form": form,
            "cycles": cycles,
            "patient": procedure.patient,
            "title": "Correct the procedure",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def mark_in_error(request, kind_name: str, pk: int):
    return _mark(request, _kind(kind_name), pk, undo=False)


@require_http_methods(["GET", "POST"])
def undo_in_error(request, kind_name: str, pk: int):
    return _mark(request, _kind(kind_name), pk, undo=True)


def _mark(request, kind: Kind, pk: int, *, undo: bool):
    record = access.get_record(request.user, kind.model, pk, access.MARK_IN_ERROR_PERMISSION)
    label = "Why is the mark undone?" if undo else "Why was this entered in error?"
    form = ReasonForm(request.POST or None, instance=record, label=label)
    status = 200
    if request.method == "POST" and form.is_valid():
        action = actions.undo_entered_in_error if undo else actions.mark_entered_in_error
        try:
            action(
                record,
                reason=form.cleaned_data["reason"],
                acting_user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            status = _refused(exc)
            apply_errors(form, exc)
        else:
            done = "is back in the record" if undo else 'was marked "entered in error"'
            messages.success(request, f"The {kind.noun} {done}.")
            return redirect("patient_detail", record.patient.registry_number)
    title = (
        f'Undo "entered in error" for the {kind.noun}'
        if undo
        else f'Mark the {kind.noun} "entered in error"'
    )
    return render(
        request,
        "registry/record_mark.html",
        {"form": form, "title": title, "record": record, "patient": record.patient, "undo": undo},
        status=status,
    )


class PatientStatusForm(NhsFormMixin, VersionedFormMixin, forms.Form):
    status = forms.ChoiceField(label="Status", choices=c.PatientStatus.choices)
    status_date = forms.DateField(label="Date", required=False, widget=DateInput())
    death_related = forms.ChoiceField(
        label="Was the death related to the procedure?",
        choices=[("", "Not applicable"), *c.DeathRelated.choices],
        required=False,
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label="Reason (when returning the patient to follow-up)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, instance, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.update(
                status=instance.status,
                status_date=instance.status_date,
                death_related=instance.death_related,
                notes=instance.status_notes,
            )


@require_http_methods(["GET", "POST"])
def patient_status(request, registry_number: str):
    patient = access.get_patient(request.user, registry_number, "registry.change_patient")
    form = PatientStatusForm(request.POST or None, instance=patient)
    status = 200
    if request.method == "POST" and form.is_valid():
        fields = form.pop_version()
        try:
            actions.record_patient_status(patient, acting_user=request.user, **fields)
        except ValidationError as exc:
            status = _refused(exc)
            apply_errors(form, exc)
        else:
            messages.success(request, f"Status recorded: {patient.get_status_display()}.")
            return redirect("patient_detail", patient.registry_number)
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": "Record the patient's status", "patient": patient},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def assessment_not_done(request, pk: int):
    assessment = access.get_assessment(request.user, pk, "registry.change_assessment")
    reopen = bool(assessment.not_done_reason)
    form = ReasonForm(
        request.POST or None,
        instance=assessment,
        label="Why is it open again?" if reopen else "Why could it not be done?",
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_not_done(
                assessment,
                reason=form.cleaned_data["reason"],
                reopen=reopen,
                acting_user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            status = _refused(exc)
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"{assessment.get_timepoint_display()} assessment {'reopened' if reopen else 'closed'}.",
            )
            return redirect("patient_detail", assessment.patient.registry_number)
    title = f"{'Reopen' if reopen else 'Could not be done'}: {assessment.get_timepoint_display()} assessment"
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": title, "patient": assessment.patient},
        status=status,
    )
