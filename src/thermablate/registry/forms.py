"""Plain Django forms, styled for the NHS.UK frontend by ``NhsFormMixin``."""

from django import forms
from django.contrib.auth import get_user_model

from thermablate.guidance.models import Guidance
from thermablate.registry import choices as c
from thermablate.registry import declarations as d
from thermablate.registry.devices import device_choices
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    CredentialedOperator,
    Lesion,
    LocalApproval,
    MdtDecisionRecord,
    Patient,
    Procedure,
)
from thermablate.registry.validators import normalise_nhs_number
from thermablate.web.forms import DateInput, NhsFormMixin


class VersionedFormMixin(forms.Form):
    """Carries the record's version from the page to the save, for optimistic locking: an
    edit of an existing record must say which version it was made from, so a save from a
    stale page (or a crafted post without the version) never overwrites another's change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk:
            self.fields["version"].initial = instance.version
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = (
                "The page did not say which version of the record it showed: reload it."
            )

    def pop_version(self) -> dict:
        """The cleaned data without the version, and the version as the action's keyword."""
        data = dict(self.cleaned_data)
        version = data.pop("version", None)
        return {**data, "expected_version": version}


class PatientForm(NhsFormMixin, VersionedFormMixin, forms.ModelForm):
    # Wider than the stored 10 digits so "943 476 5919" can be typed as it is printed.
    nhs_number = forms.CharField(
        label="NHS number",
        max_length=20,
        help_text="10 digits, spaces allowed",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    class Meta:
        model = Patient
        fields = list(d.PATIENT.fields)
        widgets = {
            "nhs_number": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        }

    def clean_nhs_number(self):
        return normalise_nhs_number(self.cleaned_data["nhs_number"])


class LesionForm(NhsFormMixin, forms.ModelForm):
    posterior_wall_intact = forms.NullBooleanField(
        required=False,
        widget=forms.Select(
            choices=[("unknown", "Not known / not applicable"), ("true", "Yes"), ("false", "No")]
        ),
        label="Posterior vertebral wall intact",
    )

    class Meta:
        model = Lesion
        fields = list(d.LESION.fields)


class MdtDecisionForm(NhsFormMixin, forms.ModelForm):
    member_roles = forms.MultipleChoiceField(
        choices=c.MdtMemberRole.choices, widget=forms.CheckboxSelectMultiple, label="Roles present"
    )

    class Meta:
        model = MdtDecisionRecord
        fields = list(d.MDT_DECISION.fields)
        widgets = {"meeting_date": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesion"].queryset = patient.lesions.live()


class ConsentForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = Consent
        fields = list(d.CONSENT.fields)
        widgets = {"consent_date": DateInput()}


class ProcedureForm(NhsFormMixin, forms.ModelForm):
    image_guidance = forms.MultipleChoiceField(
        choices=c.Imaging.choices, widget=forms.CheckboxSelectMultiple
    )
    thermal_protection = forms.MultipleChoiceField(
        choices=c.ThermalProtection.choices, widget=forms.CheckboxSelectMultiple
    )
    operators = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    override_reason = forms.CharField(
        label="Reason to override credentialing",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only if an operator is not credentialed for this procedure at your site; governance will see it",
    )
    pathway_override_reason = forms.CharField(
        label="Reason to record the procedure outside the pathway",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only if there was no MDT decision to proceed before it, or, under special "
        "arrangements, no consent with written information before it; governance will see it",
    )

    class Meta:
        model = Procedure
        fields = list(d.PROCEDURE.fields)
        widgets = {"procedure_date": DateInput()}

    def __init__(
        self, *args, patient: Patient, devices: list[tuple[str, str]] | None = None, **kwargs
    ):
        """``devices``: the device choices, for a caller that has read them already (an import
        reads them once for the whole file)."""
        super().__init__(*args, **kwargs)
        self.fields["lesion"].queryset = patient.lesions.live()
        self.fields["operators"].queryset = _site_clinicians(patient.site)
        self.fields["operators"].label_from_instance = _name
        # The plans' device library, so the device used can be compared with the one planned.
        self.fields["device_id"] = forms.ChoiceField(
            label=self.fields["device_id"].label,
            help_text=self.fields["device_id"].help_text,
            choices=device_choices(patient.site) if devices is None else devices,
            required=False,
        )

    def _get_validation_exclusions(self):
        # The lesion field has just read the lesion from the patient's own live lesions; the
        # model's check would ask the database again whether it exists (a query per import row).
        return super()._get_validation_exclusions() | {"lesion"}


class AblationCycleForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = AblationCycle
        fields = list(d.ABLATION_CYCLE.fields)


AblationCycleFormSet = forms.formset_factory(
    AblationCycleForm, extra=3, min_num=1, validate_min=True
)
# The submit button that adds a cycle row (the NHS "add another" pattern, without JavaScript):
# as many cycles as the procedure had, not four at most.
ADD_CYCLE = "add_cycle"


def cycle_formset(data, **kwargs) -> AblationCycleFormSet:
    """The procedure's cycle rows as posted, with one more empty row when the user asked for it
    (the page is then shown again with what was typed, nothing saved and nothing refused)."""
    adding = data is not None and ADD_CYCLE in data
    if adding:
        data = data.copy()
        total = "cycles-TOTAL_FORMS"
        data[total] = str(int(data.get(total) or 0) + 1)
    formset = AblationCycleFormSet(data, prefix="cycles", **kwargs)
    if adding:
        for form in formset.forms:
            show_as_typed(form)
        formset._errors, formset._non_form_errors = [], formset.error_class()
    return formset


def show_as_typed(form) -> None:
    """A bound form shown again as typed, without judging it (while a cycle row is added): its
    errors are computed once, on first access, and are set here to none (Django's own cache)."""
    form._errors = forms.utils.ErrorDict()
    form.cleaned_data = {}


class AssessmentForm(NhsFormMixin, VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = Assessment
        fields = list(d.ASSESSMENT.fields)
        widgets = {"assessed_on": DateInput()}
        labels = dict(c.EQ5D_DIMENSIONS)

    # Shown once the assessment is recorded: changing it then is a correction, with a reason.
    correction_reason = forms.CharField(
        label="Reason for the correction",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail with the old and new answers.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The writer asks for the reason (after its version check, so an edit made on a stale
        # page is answered as stale, not as missing a reason the page never showed).
        if not self.instance.is_done:
            del self.fields["correction_reason"]
        for name in d.ASSESSMENT.also_required:
            self.fields[name].required = True
        for name, _ in c.EQ5D_DIMENSIONS:
            self.fields[name].help_text = "1 = no problems ... 5 = extreme problems / unable"

    # The page's optional questionnaires: the ODI for a spinal procedure, the BPI where the
    # site collects it; either also wherever answers are already stored, so that a correction
    # shows them. (All fields stay on the form: the API and the import take them everywhere.)
    @property
    def odi_fields(self) -> list:
        names = [name for name, _ in c.ODI_SECTIONS]
        return self._offered(names, self.instance.procedure.is_spinal)

    @property
    def bpi_fields(self) -> list:
        names = ["bpi_least", "bpi_now", *(name for name, _ in c.BPI_INTERFERENCE)]
        return self._offered(names, self.instance.patient.site.collect_bpi)

    def _offered(self, names: list[str], offered: bool) -> list:
        stored = any(getattr(self.instance, name) is not None for name in names)
        return [self[name] for name in names] if offered or stored else []


class AnalgesicForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = AnalgesicEntry
        fields = list(d.ANALGESIC.fields)


AnalgesicFormSet = forms.formset_factory(AnalgesicForm, extra=3)


class AdverseEventForm(NhsFormMixin, forms.ModelForm):
    symptomatic = forms.NullBooleanField(
        required=False,
        widget=forms.Select(
            choices=[
                ("unknown", "Not applicable"),
                ("true", "Symptomatic"),
                ("false", "Asymptomatic"),
            ]
        ),
        label="Symptomatic (cement leakage)",
    )

    class Meta:
        model = AdverseEvent
        fields = list(d.ADVERSE_EVENT.fields)
        widgets = {"onset_date": DateInput(), "yellow_card_reported_on": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = patient.procedures.live()


class FindPatientForm(NhsFormMixin, forms.Form):
    """The patient search. Sent as a POST so the identifier never enters a URL (see
    ``views.patient_list``); the box keeps no autofill history and is not sent to a spelling
    service, which would keep identifiers outside the registry too."""

    q = forms.CharField(
        label="NHS number, hospital number or registry number",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class CodingForm(NhsFormMixin, forms.Form):
    # The procedure's version as the page showed it (optimistic locking): required.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    codes = forms.CharField(
        label="OPCS-4 codes, in order",
        help_text="One code per line or separated by commas, e.g. V44.4, V55.1, Y53.4",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=400,
    )

    def code_list(self) -> list[str]:
        raw = self.cleaned_data["codes"].replace(",", "\n").splitlines()
        return [code.strip() for code in raw if code.strip()]


def _site_clinicians(site):
    return (
        get_user_model()
        .objects.filter(staff__site=site, staff__role=c.Role.CLINICIAN, is_active=True)
        # The writer checks each operator's site: read with them, not one query each.
        .select_related("staff")
        .order_by("last_name", "username")
    )


def _name(user) -> str:
    return user.get_full_name() or user.username


class ApprovalForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = LocalApproval
        fields = [
            "procedure_type",
            "guidance",
            "decision",
            "committee",
            "decision_date",
            "clinical_lead",
            "governance_leads_informed",
            "conditions",
            "review_date",
        ]
        widgets = {"decision_date": DateInput(), "review_date": DateInput()}

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guidance"].queryset = Guidance.objects.exclude(kind="coding")
        self.fields["clinical_lead"].queryset = _site_clinicians(site)
        self.fields["clinical_lead"].label_from_instance = _name


class SupersedeForm(ApprovalForm):
    """The committee's new decision on the procedure of an approval in force: the procedure is
    the previous approval's, and the credentials to carry over are ticked by default."""

    class Meta(ApprovalForm.Meta):
        fields = [name for name in ApprovalForm.Meta.fields if name != "procedure_type"]

    supersession_reason = forms.CharField(
        label="Why the committee made a new decision",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: the review date, or NICE's new guidance. Kept with the "
        "previous approval and in the audit trail.",
        error_messages={"required": "Give the reason for the committee's new decision."},
    )
    carry_over = forms.ModelMultipleChoiceField(
        label="Credentialed operators to carry over",
        queryset=CredentialedOperator.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each keeps their training and credential date under the new approval. "
        "Untick anyone the committee did not re-approve.",
    )

    def __init__(self, *args, previous, carriable, **kwargs):
        super().__init__(*args, site=previous.site, **kwargs)
        self.fields["carry_over"].queryset = carriable
        self.fields["carry_over"].label_from_instance = lambda credential: (
            f"{_name(credential.user)}: {credential.training}"
        )
        # Start from the decision in force; its dates are left for the new decision's own.
        self.initial.update(
            {
                "guidance": previous.guidance_id,
                "decision": previous.decision,
                "committee": previous.committee,
                "clinical_lead": previous.clinical_lead_id,
                "governance_leads_informed": previous.governance_leads_informed,
                "conditions": previous.conditions,
                "carry_over": [credential.pk for credential in carriable],
            }
        )


class CredentialForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = CredentialedOperator
        fields = ["user", "training", "credentialed_on"]
        widgets = {"credentialed_on": DateInput()}
        labels = {"user": "Operator"}

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _site_clinicians(site)
        self.fields["user"].label_from_instance = _name


def reason_field(label: str = "Reason for the correction") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit trail with the change.",
        error_messages={"required": "Give the reason for the correction."},
    )


class ApprovalCorrectionForm(ApprovalForm, VersionedFormMixin):
    """What was recorded of the committee's decision, put right with a reason (the procedure
    is not corrected: registry.actions.governance_corrections)."""

    class Meta(ApprovalForm.Meta):
        fields = [name for name in ApprovalForm.Meta.fields if name != "procedure_type"]

    reason = reason_field()

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, site=site, **kwargs)
        # The lead the committee named stays a choice after they have left the site: a
        # correction of another field must not rewrite who led the decision.
        lead = self.instance.clinical_lead_id if self.instance.pk else None
        if lead is not None:
            self.fields["clinical_lead"].queryset = (
                get_user_model().objects.filter(pk=lead) | _site_clinicians(site)
            ).distinct()


class CredentialCorrectionForm(NhsFormMixin, VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = CredentialedOperator
        fields = ["training", "credentialed_on"]
        widgets = {"credentialed_on": DateInput()}

    reason = reason_field()


class WithdrawalForm(NhsFormMixin, forms.Form):
    withdrawn_on = forms.DateField(label="Withdrawn on", widget=DateInput())
    reason = forms.CharField(
        label="Reason for the withdrawal", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
