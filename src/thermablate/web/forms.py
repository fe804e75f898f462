"""Form and view helpers every app shares: the NHS.UK frontend look, and an action's refusal
shown on its form. Imports nothing of Thermablate's, so any app may use it."""

from django import forms
from django.core.exceptions import ValidationError


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


def apply_errors(form, exc: ValidationError) -> None:
    """Show an action's refusal next to the field it concerns, or above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
