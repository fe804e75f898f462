from django import forms

from thermablate.web.forms import NhsFormMixin


class CatalogueSearchForm(NhsFormMixin, forms.Form):
    q = forms.CharField(label="Search guidance", max_length=100, required=False)
