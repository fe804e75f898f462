"""Plain Django forms, styled for the NHS.UK frontend by ``NhsFormMixin``."""

from django import forms

from thermablate.registry import choices as c
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
)
from thermablate.registry.validators import normalise_nhs_number


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


_WIDGET_CLASSES = {
    forms.Select: "nhsuk-select",
    forms.Textarea: "nhsuk-textarea",
    forms.CheckboxInput: "nhsuk-checkboxes__input",
    forms.CheckboxSelectMultiple: "nhsuk-checkboxes__input",
    forms.SelectMultiple: "nhsuk-select",
}


class NhsFormMixin:
    """Adds the NHS.UK frontend classes, and the error class to fields that have errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = next(
                (v for k, v in _WIDGET_CLASSES.items() if isinstance(widget, k)), "nhsuk-input"
            )
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                suffix = "--error"
                base = (
                    widget.attrs.get("class", "").split()[0]
                    if widget.attrs.get("class")
                    else "nhsuk-input"
                )
                if base + suffix not in widget.attrs["class"]:
                    widget.attrs["class"] += f" {base}{suffix}"
                widget.attrs["aria-describedby"] = f"{name}-error"


class VersionedFormMixin(forms.Form):
    """Carries the record's version from the page to the save, for optimistic locking."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.fields["version"].initial = self.instance.version

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
        fields = ["nhs_number", "year_of_birth", "sex"]
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
        fields = [
            "spinal_levels",
            "bone_site",
            "diagnosis",
            "primary_tumour",
            "lesion_type",
            "size_mm",
            "posterior_wall_intact",
            "distance_to_neural_mm",
            "pain_at_site",
        ]


class MdtDecisionForm(NhsFormMixin, forms.ModelForm):
    member_roles = forms.MultipleChoiceField(
        choices=c.MdtMemberRole.choices, widget=forms.CheckboxSelectMultiple, label="Roles present"
    )

    class Meta:
        model = MdtDecisionRecord
        fields = ["meeting_date", "lesion", "member_roles", "decision", "reasons"]
        widgets = {"meeting_date": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lesion"].queryset = patient.lesions.all()


class ConsentForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = Consent
        fields = [
            "consent_date",
            "leaflet_title",
            "leaflet_version",
            "nice_information_offered",
            "uncertainties_discussed",
            "registry_audit_consent",
            "notes",
        ]
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

    class Meta:
        model = Procedure
        fields = [
            "lesion",
            "procedure_date",
            "operators",
            "procedure_type",
            "setting",
            "anaesthesia",
            "approach",
            "access",
            "image_guidance",
            "device_manufacturer",
            "device_model",
            "device_lot",
            "polarity",
            "active_tip_mm",
            "biopsy_taken",
            "cement",
            "cement_volume_ml",
            "thermal_protection",
            "levels_treated",
            "duration_min",
            "post_imaging",
            "notes",
        ]
        widgets = {"procedure_date": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["lesion"].queryset = patient.lesions.all()
        self.fields["operators"].queryset = (
            get_user_model()
            .objects.filter(staff__site=patient.site, staff__role=c.Role.CLINICIAN, is_active=True)
            .order_by("last_name", "username")
        )
        self.fields["operators"].label_from_instance = lambda u: u.get_full_name() or u.username


class AblationCycleForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = AblationCycle
        fields = ["target_temp_c", "time_at_target_s", "power_w"]


AblationCycleFormSet = forms.formset_factory(
    AblationCycleForm, extra=3, min_num=1, validate_min=True
)


class AssessmentForm(NhsFormMixin, VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = Assessment
        fields = [
            "assessed_on",
            "pain_worst",
            "pain_average",
            *(name for name, _ in c.EQ5D_DIMENSIONS),
            "no_analgesics",
            "notes",
        ]
        widgets = {"assessed_on": DateInput()}
        labels = dict(c.EQ5D_DIMENSIONS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"].required = True
        for name, _ in c.EQ5D_DIMENSIONS:
            self.fields[name].help_text = "1 = no problems ... 5 = extreme problems / unable"


class AnalgesicForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = AnalgesicEntry
        fields = ["drug", "dose", "unit", "route", "doses_per_day", "as_needed"]


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
        fields = [
            "procedure",
            "event_type",
            "symptomatic",
            "onset_date",
            "severity",
            "device_related",
            "outcome",
            "description",
            "yellow_card_reported_on",
            "yellow_card_reference",
        ]
        widgets = {"onset_date": DateInput(), "yellow_card_reported_on": DateInput()}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = patient.procedures.all()


class FindPatientForm(NhsFormMixin, forms.Form):
    q = forms.CharField(label="NHS number or registry number", max_length=20, required=False)
