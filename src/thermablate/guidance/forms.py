from django import forms
from django.contrib.auth import get_user_model

from thermablate.guidance.models import CredentialedOperator, Guidance, LocalApproval
from thermablate.registry.choices import Role
from thermablate.registry.forms import DateInput, NhsFormMixin


def _site_clinicians(site):
    return (
        get_user_model()
        .objects.filter(staff__site=site, staff__role=Role.CLINICIAN, is_active=True)
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


class CatalogueSearchForm(NhsFormMixin, forms.Form):
    q = forms.CharField(label="Search guidance", max_length=100, required=False)


class CodingForm(NhsFormMixin, forms.Form):
    codes = forms.CharField(
        label="OPCS-4 codes, in order",
        help_text="One code per line or separated by commas, e.g. V44.4, V55.1, Y53.4",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=400,
    )

    def code_list(self) -> list[str]:
        raw = self.cleaned_data["codes"].replace(",", "\n").splitlines()
        return [code.strip() for code in raw if code.strip()]
