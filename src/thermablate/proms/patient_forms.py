"""The forms of the patient's pages: year of birth, one page of questions, the painkillers."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from thermablate.clinical import patient_medicines
from thermablate.proms import questionnaire as q

SKIP = "skip"


class YearOfBirthForm(forms.Form):
    year_of_birth = forms.IntegerField(
        label="What year were you born?",
        help_text="For example, 1956",
        error_messages={
            "required": "Enter the year you were born",
            "invalid": "Enter the year you were born as 4 numbers, for example 1956",
        },
    )

    def clean_year_of_birth(self):
        year = self.cleaned_data["year_of_birth"]
        if not 1900 <= year <= timezone.localdate().year:
            raise forms.ValidationError(
                "Enter the year you were born as 4 numbers, for example 1956"
            )
        return year


class QuestionsForm(forms.Form):
    """One page's questions: a choice of labelled answers, or a number typed in (EQ VAS)."""

    def __init__(self, page: q.Page, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        for question in page.questions:
            if page.number_input:
                self.fields[question.name] = forms.IntegerField(
                    label=question.text,
                    min_value=min(question.values),
                    max_value=max(question.values),
                    error_messages={
                        "required": "Enter a number from 0 to 100",
                        "invalid": "Enter a whole number from 0 to 100",
                        "min_value": "Enter a number from 0 to 100",
                        "max_value": "Enter a number from 0 to 100",
                    },
                )
                continue
            choices = [(str(v), question.label(v)) for v in question.values]
            if question.optional:
                choices.append((SKIP, "I prefer not to answer"))
            self.fields[question.name] = forms.ChoiceField(
                label=question.text,
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Choose an answer: {question.text}",
                    "invalid_choice": f"Choose an answer: {question.text}",
                },
            )

    def answers(self) -> dict:
        """The page's answers as the draft keeps them: numbers, or None for "prefer not to
        answer"."""
        out = {}
        for name, value in self.cleaned_data.items():
            out[name] = None if value == SKIP else int(value)
        return out


class MedicineForm(forms.Form):
    """One painkiller added to the list, as the patient knows it from the box."""

    product = forms.ChoiceField(
        label="Painkiller",
        error_messages={"required": "Choose a painkiller from the list"},
    )
    units_per_dose = forms.DecimalField(
        label="How many do you take each time?",
        help_text="Tablets, capsules or patches; for a liquid, the number of ml",
        min_value=Decimal("0.25"),
        max_digits=6,
        decimal_places=2,
        error_messages={
            "required": "Enter how many you take each time",
            "invalid": "Enter a number, for example 2",
        },
    )
    doses_per_day = forms.DecimalField(
        label="How many times a day?",
        help_text="Leave empty for a patch",
        required=False,
        max_digits=4,
        decimal_places=1,
        error_messages={"invalid": "Enter a number, for example 4"},
    )
    as_needed = forms.BooleanField(label="I take it only when I need it", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "Choose a painkiller")] + [
            (group, [(p.id, p.label) for p in products])
            for group, products in patient_medicines.groups()
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            patient_medicines.entries_for(
                data["product"],
                data["units_per_dose"],
                data.get("doses_per_day"),
                as_needed=data.get("as_needed", False),
            )
        except patient_medicines.MedicineChoiceError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, str(exc))
        return data

    def chosen(self) -> dict:
        """As the draft keeps it (numbers as text, so the draft stays JSON)."""
        data = self.cleaned_data
        per_day = data.get("doses_per_day")
        return {
            "product": data["product"],
            "units_per_dose": str(data["units_per_dose"]),
            "doses_per_day": None if per_day is None else str(per_day),
            "as_needed": data.get("as_needed", False),
        }


class TakesPainkillersForm(forms.Form):
    takes_painkillers = forms.ChoiceField(
        label="Do you take any painkillers now?",
        help_text="Include painkillers you buy yourself and ones you take only when you need them",
        choices=[("yes", "Yes"), ("no", "No")],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether you take any painkillers now"},
    )
    other_medicines = forms.CharField(
        label="Other painkillers not in the list (optional)",
        help_text="Write the name on the box, the strength, how many and how often. The team "
        "will check it.",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
