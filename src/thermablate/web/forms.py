"""Form and view helpers every app shares: the NHS.UK frontend look, the NHS date input, and an
action's refusal shown on its form. Imports nothing of Thermablate's, so any app may use it."""

import calendar
from datetime import date
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.utils import timezone

# ---- the NHS date input ----------------------------------------------------------------------
# service-manual.nhs.uk/design-system/components/date-input: a memorable or known date is typed
# as day, month and year in three text boxes (inputmode numeric: a phone shows its number pad,
# while "type=number" would spin, round and drop leading zeros), grouped in a fieldset whose
# legend names the date. The browser's own date picker is not used: its look, keyboard and
# screen-reader support differ between browsers, and it is hard to type a known date into.
# Messages follow the component's guidance ("... must include a month", "... must be a real
# date") and always begin with the field's name, so each one makes sense on its own.

DATE_PARTS = ("day", "month", "year")
_BOX_WIDTH = {"day": "nhsuk-input--width-2", "month": "nhsuk-input--width-2"}
_BOX_WIDTH["year"] = "nhsuk-input--width-4"
# In English whatever the server's locale (calendar.month_name follows LC_TIME).
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class DateEntry(NamedTuple):
    """A date as typed in the three boxes, before it is read: what a refused form shows back."""

    day: str
    month: str
    year: str

    @classmethod
    def of(cls, value) -> "DateEntry":
        """The boxes' contents for a value: an entry as typed, a date, an ISO string or nothing."""
        if isinstance(value, DateEntry):
            return value
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                return cls("", "", "")
        if isinstance(value, date):
            return cls(str(value.day), str(value.month), f"{value.year:04}")
        return cls("", "", "")


class DateEntryError(ValueError):
    """Why an entry is not a date, in words that follow the field's name, and which boxes are at
    fault (the page marks those, and only those)."""

    def __init__(self, message: str, parts, code: str):
        super().__init__(message)
        self.message = message
        self.parts = tuple(parts)
        self.code = code


def example_date() -> str:
    """Today in numbers, as the hint and the messages show an example ("9 7 2026")."""
    today = timezone.localdate()
    return f"{today.day} {today.month} {today.year}"


def _a_list(parts) -> str:
    if len(parts) == len(DATE_PARTS):
        return "a day, month and year"
    return " and ".join(f"a {part}" for part in parts)


def parse_date_entry(entry: DateEntry) -> date | None:
    """The date typed in the three boxes, or None when all three are empty.

    Raises DateEntryError, naming the boxes at fault. Digits of any script count (a full-width
    keyboard types U+FF10-FF19, which ``int`` reads); signs, letters and superscripts do not."""
    typed = {part: (getattr(entry, part) or "").strip() for part in DATE_PARTS}
    if not any(typed.values()):
        return None
    missing = [part for part in DATE_PARTS if not typed[part]]
    if missing:
        raise DateEntryError(f"must include {_a_list(missing)}", missing, "incomplete")
    not_numbers = [part for part in DATE_PARTS if not typed[part].isdecimal()]
    if not_numbers:
        raise DateEntryError(
            f"must be written in numbers, for example {example_date()}", not_numbers, "not_numbers"
        )
    if len(typed["year"]) != 4:
        raise DateEntryError(
            f"must include a year with 4 numbers, for example {timezone.localdate().year}",
            ["year"],
            "year_digits",
        )
    # Checked before int(): Python refuses to read more than 4,300 digits (a ValueError).
    too_long = [part for part in ("day", "month") if len(typed[part]) > 2]
    if too_long:
        raise DateEntryError("must be a real date", too_long, "invalid_date")
    day, month, year = (int(typed[part]) for part in DATE_PARTS)
    if year < 1:
        raise DateEntryError("must be a real date", ["year"], "invalid_date")
    if not 1 <= month <= 12:
        raise DateEntryError(
            "must be a real date: the month is a number from 1 to 12", ["month"], "invalid_date"
        )
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise DateEntryError(
            f"must be a real date: {_MONTH_NAMES[month - 1]} {year} has {days} days",
            ["day"],
            "invalid_date",
        )
    return date(year, month, day)


class DateInput(forms.Widget):
    """The NHS.UK date input's three boxes, named ``<field>_day``, ``_month`` and ``_year``.

    The fieldset, legend, hint and error message around them are drawn by
    ``includes/field.html``, which knows the field's label and errors. A post that carries the
    field's own name with an ISO date instead (the CSV import, a script) is read as before."""

    template_name = "widgets/nhs_date_input.html"
    use_fieldset = True

    def format_value(self, value) -> DateEntry:
        return DateEntry.of(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        attrs = widget["attrs"]
        classes = attrs.pop("class", "nhsuk-input").split()
        in_error = "nhsuk-input--error" in classes
        classes = [css for css in classes if css != "nhsuk-input--error"]
        # The fieldset is described by the hint and the error (field.html), not each box; only
        # the boxes at fault are invalid.
        attrs.pop("aria-describedby", None)
        attrs.pop("aria-invalid", None)
        container_id = attrs.pop("id", None)
        entry = widget["value"]
        at_fault = DATE_PARTS if in_error else ()
        if in_error:
            try:
                parse_date_entry(entry)
            except DateEntryError as exc:
                at_fault = exc.parts  # else the record refused the date as a whole
        widget["container_id"] = container_id
        widget["parts"] = [
            {
                "name": f"{name}_{part}",
                "label": part.capitalize(),
                "value": getattr(entry, part),
                "attrs": {
                    **({"id": f"{container_id}_{part}"} if container_id else {}),
                    "class": " ".join(
                        [
                            *classes,
                            "nhsuk-date-input__input",
                            _BOX_WIDTH[part],
                            *(["nhsuk-input--error"] if part in at_fault else []),
                        ]
                    ),
                    "type": "text",
                    "inputmode": "numeric",
                    **attrs,
                    **({"aria-invalid": "true"} if part in at_fault else {}),
                },
            }
            for part in DATE_PARTS
        ]
        return context

    def id_for_label(self, id_):
        # The error summary links here: to the day box, the first of the three.
        return f"{id_}_day" if id_ else None

    def _part_names(self, name: str) -> list[str]:
        return [f"{name}_{part}" for part in DATE_PARTS]

    def value_from_datadict(self, data, files, name):
        names = self._part_names(name)
        if any(part in data for part in names):
            return DateEntry(*(str(data.get(part) or "") for part in names))
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(part in data for part in self._part_names(name))


class NhsDateField(forms.DateField):
    """A date entered with the NHS date input; each refusal names the field."""

    widget = DateInput

    @classmethod
    def replacing(cls, field: forms.DateField, label: str) -> "NhsDateField":
        """The same field (required, help text, initial value, validators...) entered the NHS
        way: ``NhsFormMixin`` so turns every date of a form."""
        return cls(
            required=field.required,
            widget=field.widget if isinstance(field.widget, DateInput) else DateInput(),
            label=label,
            initial=field.initial,
            help_text=field.help_text,
            error_messages=field.error_messages,
            show_hidden_initial=field.show_hidden_initial,
            validators=field.validators,
            localize=field.localize,
            disabled=field.disabled,
            label_suffix=field.label_suffix,
        )

    def _name(self) -> str:
        return str(self.label or "The date")

    def to_python(self, value):
        if isinstance(value, DateEntry):
            try:
                return parse_date_entry(value)
            except DateEntryError as exc:
                raise ValidationError(f"{self._name()} {exc.message}", code=exc.code) from None
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                f"{self._name()} must be a real date, written as year-month-day, for example "
                f"{timezone.localdate().isoformat()}",
                code="invalid",
            ) from None

    def validate(self, value):
        default = forms.Field.default_error_messages["required"]
        if (
            value in self.empty_values
            and self.required
            and self.error_messages["required"] == default
        ):
            raise ValidationError(
                f"{self._name()} must include a day, month and year", code="required"
            )
        super().validate(value)


# ---- the NHS.UK look -------------------------------------------------------------------------

_WIDGET_CLASSES = {
    forms.Select: "nhsuk-select",
    forms.Textarea: "nhsuk-textarea",
    forms.CheckboxInput: "nhsuk-checkboxes__input",
    forms.CheckboxSelectMultiple: "nhsuk-checkboxes__input",
    forms.SelectMultiple: "nhsuk-select",
}


class NhsFormMixin:
    """Adds the NHS.UK frontend classes, and the error class to fields that have errors; every
    date is entered with the NHS date input (``NhsDateField``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in list(self.fields.items()):
            if isinstance(field, forms.DateField) and not isinstance(field, NhsDateField):
                self.fields[name] = NhsDateField.replacing(
                    field, label=field.label or pretty_name(name)
                )
            elif isinstance(field, NhsDateField) and not field.label:
                field.label = pretty_name(name)
        for field in self.fields.values():
            widget = field.widget
            css = next(
                (v for k, v in _WIDGET_CLASSES.items() if isinstance(widget, k)), "nhsuk-input"
            )
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        self._mark_fields_in_error()

    def add_error(self, field, error):
        # An action's refusal arrives after full_clean (apply_errors): its field is marked too.
        super().add_error(field, error)
        self._mark_fields_in_error()

    def _mark_fields_in_error(self):
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
                # The id field.html gives the message: the prefixed name, as in a formset row.
                widget.attrs["aria-describedby"] = f"{self.add_prefix(name)}-error"


def apply_errors(form, exc: ValidationError) -> None:
    """Show an action's refusal next to the field it concerns, or above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
