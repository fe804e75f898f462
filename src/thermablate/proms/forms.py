"""The staff's forms: a patient's contact details, and the record of their withdrawal."""

from django import forms
from django.utils import timezone

from thermablate.proms.models import ContactDetails
from thermablate.web.forms import NhsDateField, NhsFormMixin


class ContactDetailsForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = ContactDetails
        fields = ["email", "mobile", "postal_address"]
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "postal_address": forms.Textarea(attrs={"rows": 4}),
        }


class WithdrawContactForm(NhsFormMixin, forms.Form):
    on = NhsDateField(
        label="Date the patient asked not to be contacted", initial=timezone.localdate
    )
    reason = forms.CharField(
        label="How they asked",
        help_text="For example: phoned the unit; said so at clinic",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
    )
