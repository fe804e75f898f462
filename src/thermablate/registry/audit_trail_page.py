"""The audit trail as a governance lead reads it: entries of one site, filtered, in words.

An entry's ``changes`` is JSON written by the actions: ``{"field": {"old": x, "new": y}}`` for an
update, ``{"new": {...}}`` (a snapshot) for a creation, or details of a view, search or export
(``{"shown": ["nhs_number"], "via": "patient page"}``). Here each becomes the field's label and
its values in words: choice labels rather than codes, Yes/No, names of staff, and a link to the
patient, procedure or assessment where the reader may open it.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.timezone import is_aware, localtime

from thermablate.registry import forms as registry_forms
from thermablate.registry.csv_cells import neutralised
from thermablate.registry.models import Assessment, AuditEvent, Patient, Procedure, StaffProfile
from thermablate.web.forms import DateInput, NhsFormMixin

PER_PAGE = 100
BLANK = "–"


class AuditTrailSearchForm(NhsFormMixin, forms.Form):
    # A registry number is no identifier outside the service, so it may sit in a URL; an NHS
    # number never does (it would land in server logs and browser history).
    patient = forms.CharField(label="Registry number", max_length=12, required=False)
    user = forms.CharField(label="User name", max_length=150, required=False)
    action = forms.ChoiceField(label="Action", required=False)
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())

    def __init__(self, *args, actions: Iterable[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any")] + [(a, capfirst(a)) for a in actions]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


def site_entries(site):
    """Entries of the site's patients, by the site's staff, or about the site's staff accounts
    (a failed sign-in or a lock-out has no actor)."""
    site_users = StaffProfile.objects.filter(site=site).values("user_id")
    site_user_ids = [str(pk) for pk in site_users.values_list("user_id", flat=True)]
    return AuditEvent.objects.filter(
        Q(patient__in=Patient.objects.filter(site=site).values("pk"))
        | Q(actor_id__in=site_users)
        | Q(model="user", object_id__in=site_user_ids)
    )


def filtered(entries, data: dict):
    if data.get("patient"):
        entries = entries.filter(patient__registry_number=data["patient"].strip().upper())
    if data.get("user"):
        entries = entries.filter(actor__username=data["user"].strip())
    if data.get("action"):
        entries = entries.filter(action=data["action"])
    if data.get("date_from"):
        entries = entries.filter(at__date__gte=data["date_from"])
    if data.get("date_to"):
        entries = entries.filter(at__date__lte=data["date_to"])
    return entries.select_related("actor", "patient").order_by("-id")


# Entries in words ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    text: str
    url: str = ""


@dataclass(frozen=True)
class Change:
    label: str
    new: Value
    old: Value | None = None  # None: not an update of a previous value


@dataclass(frozen=True)
class EntryInWords:
    entry: AuditEvent
    kind: str  # what sort of record: "procedure", "ablation cycle", "user"
    registry_number: str
    patient_url: str
    subject: Value
    changes: list[Change] = field(default_factory=list)

    @property
    def changes_text(self) -> str:
        return "; ".join(
            f"{c.label}: {c.old.text} → {c.new.text}" if c.old else f"{c.label}: {c.new.text}"
            for c in self.changes
        )


def _model_named(model_name: str) -> type[models.Model] | None:
    """The model an entry is about (entries store ``_meta.model_name``); registry's first."""
    candidates = [m for m in apps.get_models() if m._meta.model_name == model_name]
    candidates.sort(key=lambda m: m._meta.app_label != "registry")
    return candidates[0] if candidates else None


def _field_of(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _humanised(key: str) -> str:
    return capfirst(str(key).replace("_", " "))


class Describer:
    """Puts a page of entries into words, with the few look-ups it needs made once."""

    def __init__(self, user, site, entries: list[AuditEvent]):
        self.user = user
        self.registry_numbers = dict(
            Patient.objects.filter(site=site).values_list("pk", "registry_number")
        )
        self.procedures = set(
            Procedure.objects.filter(patient__site=site).values_list("pk", flat=True)
        )
        ids = {e.object_id for e in entries if e.model == "assessment"}
        self.assessment_procedure = dict(
            Assessment.objects.filter(
                pk__in=[i for i in ids if i.isdigit()], patient__site=site
            ).values_list("pk", "procedure_id")
        )
        # Names of the site's staff only: a user of another site stays a number.
        self.user_names = {
            u.pk: u.get_full_name() or u.username
            for u in get_user_model().objects.filter(
                pk__in=StaffProfile.objects.filter(site=site).values("user_id")
            )
        }

    # Links only to pages the reader may open: records of their site, with the permission.
    def _patient(self, pk) -> Value:
        number = self.registry_numbers.get(_as_int(pk))
        if number is None:
            return Value("a patient of another site" if pk not in (None, "") else BLANK)
        url = ""
        if self.user.has_perm("registry.view_patient"):
            url = reverse("patient_detail", args=[number])
        return Value(number, url)

    def _procedure(self, pk) -> Value:
        pk = _as_int(pk)
        if pk in self.procedures and self.user.has_perm("registry.view_procedure"):
            return Value(f"#{pk}", reverse("procedure_detail", args=[pk]))
        return Value(f"#{pk}")

    def _assessment(self, pk) -> Value:
        procedure = self.assessment_procedure.get(_as_int(pk))
        if procedure is not None and self.user.has_perm("registry.view_procedure"):
            return Value(f"#{pk}", reverse("procedure_detail", args=[procedure]))
        return Value(f"#{pk}")

    def _record(self, model, pk) -> Value:
        if model is Patient:
            return self._patient(pk)
        if model is Procedure:
            return self._procedure(pk)
        if model is Assessment:
            return self._assessment(pk)
        if model is get_user_model():
            return Value(self.user_names.get(_as_int(pk), f"#{pk}"))
        return Value(f"#{pk}")

    def value(self, model, name, value) -> Value:
        """A stored value of field ``name`` of ``model`` in words."""
        model_field = _field_of(model, name)
        if value is None or value == "" or value == []:
            return Value(BLANK)
        if model_field is not None and model_field.is_relation and model_field.related_model:
            related = model_field.related_model
            if isinstance(value, list):
                return Value(", ".join(self._record(related, v).text for v in value))
            return self._record(related, value)
        if isinstance(model_field, models.DateField) and (when := _date_in_words(value)):
            return Value(when)
        choices = _choices_of(model_field)
        if isinstance(value, list):
            return Value(", ".join(self._word(v, choices, model) for v in value))
        if isinstance(value, dict):
            return Value(
                "; ".join(
                    f"{self._label(model, k)}: {self.value(model, k, v).text}"
                    for k, v in value.items()
                )
            )
        return Value(self._word(value, choices, model))

    def _word(self, value, choices: dict, model) -> str:
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if str(value) in choices:
            return str(choices[str(value)])
        if isinstance(value, str) and _field_of(model, value) is not None:
            return str(_field_of(model, value).verbose_name)  # "shown": ["nhs_number"]
        if isinstance(value, dict | list):
            return self.value(model, "", value).text
        return str(value)

    def _label(self, model, name: str) -> str:
        model_field = _field_of(model, name)
        if model_field is not None and hasattr(model_field, "verbose_name"):
            return capfirst(str(model_field.verbose_name))
        return _humanised(name)

    def describe(self, entry: AuditEvent) -> EntryInWords:
        model = _model_named(entry.model)
        subject = self._record(model, entry.object_id) if model else Value(entry.object_id)
        patient = self._patient(entry.patient_id) if entry.patient_id else Value("")
        return EntryInWords(
            entry=entry,
            kind=str(model._meta.verbose_name) if model else entry.model,
            registry_number=patient.text,
            patient_url=patient.url,
            subject=subject,
            changes=list(self._changes(model, entry.changes or {})),
        )

    def _changes(self, model, changes: dict) -> Iterator[Change]:
        snapshot = changes.get("new") if set(changes) == {"new"} else None
        if isinstance(snapshot, dict):
            for name, value in snapshot.items():
                yield Change(self._label(model, name), self.value(model, name, value))
            return
        for name, value in changes.items():
            if isinstance(value, dict) and value and set(value) <= {"old", "new"}:
                yield Change(
                    self._label(model, name),
                    self.value(model, name, value.get("new")),
                    self.value(model, name, value.get("old")),
                )
            else:
                yield Change(self._label(model, name), self.value(model, name, value))


def _choices_of(model_field) -> dict:
    if model_field is None:
        return {}
    choices = getattr(model_field, "flatchoices", None) or _form_choices(model_field.model).get(
        model_field.name, ()
    )
    return {str(k): v for k, v in choices}


@cache
def _form_choices(model) -> dict[str, list]:
    """Choices that only the record's form declares: a multiple choice (image guidance) is a
    JSON list on the model, its labels on the form's field."""
    found: dict[str, list] = {}
    for form_class in vars(registry_forms).values():
        meta = getattr(form_class, "_meta", None)
        is_form = isinstance(form_class, type) and issubclass(form_class, forms.BaseForm)
        if is_form and getattr(meta, "model", None) is model:
            for name, form_field in form_class.base_fields.items():
                # Relations are named through their records, not through choices.
                if isinstance(form_field, forms.ChoiceField) and not isinstance(
                    form_field, forms.ModelChoiceField
                ):
                    found.setdefault(name, list(form_field.choices))
    return found


def _date_in_words(value) -> str:
    """A stored ISO date or time as "27 Oct 2027" (local time); "" if it is not one."""
    try:
        moment = parse_datetime(str(value))
        # A bare date parses as midnight: only a value with a time part is a moment.
        if moment is not None and len(str(value)) > len("2027-10-27"):
            if is_aware(moment):
                moment = localtime(moment)
            return date_format(moment, "j M Y H:i:s")
        day = parse_date(str(value))
    except (TypeError, ValueError):
        return ""
    return date_format(day, "j M Y") if day else ""


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


# CSV ---------------------------------------------------------------------------------------------

CSV_HEADER = ("When", "Who", "Action", "Record", "Registry number", "Changes")


def csv_rows(user, site, entries) -> Iterator[list[str]]:
    """Every filtered entry, in chunks so that a long trail is never held in memory at once."""
    yield list(CSV_HEADER)
    chunk: list[AuditEvent] = []
    for entry in entries.iterator(chunk_size=500):
        chunk.append(entry)
        if len(chunk) == 500:
            yield from _csv_chunk(user, site, chunk)
            chunk = []
    yield from _csv_chunk(user, site, chunk)


def _csv_chunk(user, site, chunk):
    if not chunk:
        return
    describer = Describer(user, site, chunk)
    for entry in chunk:
        words = describer.describe(entry)
        yield [
            neutralised(cell)
            for cell in (
                entry.at.isoformat(timespec="seconds"),
                entry.actor.username if entry.actor else "system",
                entry.action,
                f"{words.kind} {words.subject.text}".strip(),
                words.registry_number,
                words.changes_text,
            )
        ]
