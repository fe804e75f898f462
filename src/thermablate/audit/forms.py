"""The audit's forms: which cohort to report on, and the Yellow Card reference once submitted."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from thermablate.registry import choices as c
from thermablate.web.forms import NhsFormMixin


def _guidance_choices():
    from thermablate.guidance.governance import guidance_key_for

    keys = sorted({key for code in c.ProcedureType.values if (key := guidance_key_for(code))})
    return [("", "Any guidance")] + [(key, key) for key in keys]


class CohortForm(NhsFormMixin, forms.Form):
    procedure_type = forms.ChoiceField(
        choices=[("", "All procedures"), *c.ProcedureType.choices],
        required=False,
        label="Procedure",
    )
    guidance = forms.ChoiceField(choices=(), required=False, label="NICE guidance")
    operator = forms.TypedChoiceField(choices=(), coerce=int, required=False, empty_value=None)
    # Entered with the NHS date input, day, month and year (NhsFormMixin).
    date_from = forms.DateField(required=False, label="Procedures from")
    date_to = forms.DateField(required=False, label="Procedures to")
    # The treated lesion's staging, which stratifies outcomes (Fisher 2010; Bilsky 2010).
    sins_category = forms.ChoiceField(
        choices=[("", "Any SINS"), *c.SinsCategory.choices],
        required=False,
        label="Spinal instability (SINS)",
    )
    bilsky_grade = forms.ChoiceField(
        choices=[("", "Any grade"), *c.BilskyGrade.choices],
        required=False,
        label="Epidural compression (Bilsky grade)",
    )
    # Pain response after ablation of a level irradiated before is reported apart in the
    # literature the MDT reads; the audit lets a committee look at those procedures alone.
    prior_radiotherapy = forms.ChoiceField(
        choices=[("", "Any"), *c.PriorRadiotherapy.choices],
        required=False,
        label="Irradiated before",
    )

    def __init__(self, *args, operators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guidance"].choices = _guidance_choices()
        self.fields["operator"].choices = [("", "All operators")] + [
            (user.pk, user.get_full_name() or user.username) for user in operators
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError({"date_to": "The end of the period must come after its start."})
        return data


class YellowCardSubmittedForm(NhsFormMixin, forms.Form):
    # The event's version as the page showed it (optimistic locking): required.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    yellow_card_reported_on = forms.DateField(label="Date submitted to the MHRA")
    yellow_card_reference = forms.CharField(
        label="Yellow Card reference",
        max_length=40,
        help_text="As given by the MHRA when the report was submitted",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-20"}),
    )

    def clean_yellow_card_reported_on(self):
        value = self.cleaned_data["yellow_card_reported_on"]
        if value > timezone.localdate():
            raise ValidationError("The date cannot be in the future.")
        return value
