"""Dates are entered with the NHS design system's date input: day, month and year in three text
boxes with a numeric keypad, grouped in a fieldset whose legend names the date
(service-manual.nhs.uk/design-system/components/date-input, NHS.UK frontend 10.6 as vendored).
An impossible or incomplete date is refused with a message that names the field and says what
is wrong, the parts at fault are marked, and the error summary links to the day box."""

import inspect
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import login
from tests.web.test_error_summary import assert_summary_reaches_its_fields
from thermablate.registry import audit_trail_page
from thermablate.registry import forms as registry_forms
from thermablate.registry.models import Consent
from thermablate.web.forms import (
    DateEntry,
    DateEntryError,
    DateInput,
    NhsDateField,
    NhsFormMixin,
    parse_date_entry,
)

# ---- reading the three parts -------------------------------------------------------------


def test_it_reads_day_month_and_year_as_typed():
    assert parse_date_entry(DateEntry("5", "3", "2026")) == date(2026, 3, 5)
    assert parse_date_entry(DateEntry(" 05 ", "03", " 2026")) == date(2026, 3, 5)


def test_nothing_typed_is_no_date():
    assert parse_date_entry(DateEntry("", " ", "")) is None


def test_29_february_exists_only_in_a_leap_year():
    assert parse_date_entry(DateEntry("29", "2", "2024")) == date(2024, 2, 29)
    with pytest.raises(DateEntryError, match="February 2026 has 28 days"):
        parse_date_entry(DateEntry("29", "2", "2026"))


def test_it_reads_digits_typed_on_a_full_width_keyboard():
    # A Japanese or Chinese input method types U+FF10-FF19; the NHS number field accepts them.
    assert parse_date_entry(DateEntry("１５", "３", "２０２６")) == date(2026, 3, 15)


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "parts"),
    [
        ("31", "2", "2026", "must be a real date: February 2026 has 28 days", ("day",)),
        ("31", "4", "2026", "must be a real date: April 2026 has 30 days", ("day",)),
        ("0", "3", "2026", "must be a real date: March 2026 has 31 days", ("day",)),
        ("1", "13", "2026", "must be a real date: the month is a number from 1 to 12", ("month",)),
        ("1", "0", "2026", "must be a real date: the month is a number from 1 to 12", ("month",)),
        ("5", "March", "2026", "must be written in numbers", ("month",)),
        ("aa", "bb", "2026", "must be written in numbers", ("day", "month")),
        ("-1", "3", "2026", "must be written in numbers", ("day",)),
        ("5", "3", "2O26", "must be written in numbers", ("year",)),  # a letter O
        ("5", "3", "²⁰²⁶", "must be written in numbers", ("year",)),  # superscripts
        ("5", "3", "26", "must include a year with 4 numbers", ("year",)),
        ("5", "3", "20266", "must include a year with 4 numbers", ("year",)),
        ("5", "3", "0000", "must be a real date", ("year",)),
        ("5", "", "2026", "must include a month", ("month",)),
        ("", "", "2026", "must include a day and a month", ("day", "month")),
        ("5", "3", "", "must include a year", ("year",)),
        ("123", "3", "2026", "must be a real date", ("day",)),
        # Python refuses int() of more than 4,300 digits: a huge paste is refused, not a 500.
        ("9" * 5000, "3", "2026", "must be a real date", ("day",)),
    ],
)
def test_it_refuses_an_impossible_entry_saying_why(day, month, year, message, parts):
    with pytest.raises(DateEntryError) as refused:
        parse_date_entry(DateEntry(day, month, year))
    assert message in refused.value.message
    assert refused.value.parts == parts


@given(st.dates())
def test_every_date_shown_in_the_boxes_reads_back_as_itself(day):
    assert parse_date_entry(DateEntry.of(day)) == day


@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
def test_any_typing_gives_a_date_or_a_reason_and_never_fails_otherwise(day, month, year):
    try:
        read = parse_date_entry(DateEntry(day, month, year))
    except DateEntryError as refused:
        assert refused.parts and set(refused.parts) <= {"day", "month", "year"}
        assert refused.message.startswith(("must include", "must be"))
    else:
        if read is None:
            assert not (day.strip() or month.strip() or year.strip())
        else:
            assert (read.day, read.month, read.year) == (int(day), int(month), int(year))


# ---- the form field ------------------------------------------------------------------------


def _messages(field, value) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        field.clean(value)
    return refused.value.messages


def test_the_field_names_itself_in_every_message():
    field = NhsDateField(label="Procedure date")
    assert _messages(field, DateEntry("31", "2", "2026")) == [
        "Procedure date must be a real date: February 2026 has 28 days"
    ]
    assert _messages(field, DateEntry("5", "3", "26"))[0].startswith(
        "Procedure date must include a year with 4 numbers, for example "
    )
    assert _messages(field, DateEntry("x", "3", "2026"))[0].startswith(
        "Procedure date must be written in numbers, for example "
    )
    assert _messages(field, DateEntry("", "", "")) == [
        "Procedure date must include a day, month and year"
    ]
    assert NhsDateField(label="Review date", required=False).clean(DateEntry("", "", "")) is None


def test_the_example_in_a_message_is_a_real_date_in_numbers():
    message = _messages(NhsDateField(label="Onset date"), DateEntry("a", "b", "c"))[0]
    day, month, year = message.rsplit("for example ", 1)[1].split()
    assert parse_date_entry(DateEntry(day, month, year)) == timezone.localdate()


def test_an_iso_date_from_a_script_or_the_csv_import_is_still_understood():
    # The importer and older clients post the field's own name with YYYY-MM-DD.
    field = NhsDateField(label="Consent date")
    assert field.clean("2026-03-05") == date(2026, 3, 5)
    assert _messages(field, "2026-02-31") == [
        "Consent date must be a real date, written as year-month-day, for example "
        + timezone.localdate().isoformat()
    ]


class _SeenForm(NhsFormMixin, forms.Form):
    seen_on = forms.DateField(label="Seen on")
    unlabelled_date = forms.DateField(required=False)


def test_every_date_of_an_nhs_styled_form_becomes_the_date_input():
    form = _SeenForm({"seen_on_day": "31", "seen_on_month": "2", "seen_on_year": "2026"})
    assert isinstance(form.fields["seen_on"], NhsDateField)
    assert isinstance(form.fields["seen_on"].widget, DateInput)
    assert form.errors["seen_on"] == ["Seen on must be a real date: February 2026 has 28 days"]
    unnamed = _SeenForm({"seen_on": "2026-01-01", "unlabelled_date_day": "x"})
    assert unnamed.errors["unlabelled_date"][0].startswith("Unlabelled date must include")


def _form_kwargs(form_class, patient, site, approval) -> dict:
    wanted = inspect.signature(form_class.__init__).parameters
    given = {
        "patient": patient,
        "site": site,
        "previous": approval,  # the approval a new decision supersedes
        "carriable": approval.operators.all(),
    }
    return {k: v for k, v in given.items() if k in wanted}


def test_every_date_field_of_the_registry_forms_uses_the_nhs_date_input(
    patient, site_a, approved_site
):
    form_classes = [
        cls
        for _, cls in inspect.getmembers(registry_forms, inspect.isclass)
        if issubclass(cls, NhsFormMixin) and issubclass(cls, forms.BaseForm)
    ] + [audit_trail_page.AuditTrailSearchForm]
    dates_seen = 0
    for form_class in form_classes:
        form = form_class(**_form_kwargs(form_class, patient, site_a, approved_site[0]))
        for name, field in form.fields.items():
            if isinstance(field, forms.DateField):
                dates_seen += 1
                assert isinstance(field, NhsDateField), f"{form_class.__name__}.{name}"
                assert isinstance(field.widget, DateInput), f"{form_class.__name__}.{name}"
    assert dates_seen >= 10  # meeting, consent, procedure, assessment, onset, Yellow Card, ...


# ---- the page ------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The elements of a page by id, with their attributes, and the text of each label/legend."""

    def __init__(self):
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.elements: list[tuple[str, dict]] = []
        self.label_for: dict[str, str] = {}
        self.legends: list[str] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None, str | None]] = []  # (tag, label-for, id)
        self._text: dict[int, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.elements.append((tag, attrs))
        if "id" in attrs:
            self.by_id[attrs["id"]] = {"tag": tag, **attrs}
        if tag not in ("input", "br", "img", "meta", "link"):
            self._open.append((tag, attrs.get("for"), attrs.get("id")))
            self._text[len(self._open)] = []

    def handle_endtag(self, tag):
        if not self._open:
            return
        depth = len(self._open)
        opened, label_for, element_id = self._open.pop()
        text = " ".join("".join(self._text.pop(depth, [])).split())
        if self._open:
            self._text[len(self._open)].append(" " + text + " ")
        if opened == "label" and label_for:
            self.label_for[label_for] = text
        if opened == "legend":
            self.legends.append(text)
        if element_id:
            self.text_by_id[element_id] = text

    def handle_data(self, data):
        if self._open:
            self._text[len(self._open)].append(data)


def _read(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


CONSENT = {
    "leaflet_title": "RF ablation of spinal metastases",
    "leaflet_version": "3",
    "nice_information_offered": "on",
    "uncertainties_discussed": "on",
    "registry_audit_consent": "on",
}


def _consent_post(client, patient, day, month, year):
    return client.post(
        reverse("consent_create", args=[patient.registry_number]),
        {
            **CONSENT,
            "consent_date_day": day,
            "consent_date_month": month,
            "consent_date_year": year,
        },
    )


def test_the_page_renders_the_nhs_date_input(client, clinician, patient):
    login(client, clinician)
    page = _read(client.get(reverse("consent_create", args=[patient.registry_number])))
    fieldset = next(a for tag, a in page.elements if tag == "fieldset" and "consent_date" in str(a))
    assert fieldset["role"] == "group"
    assert "Consent date" in page.legends
    hint_id = fieldset["aria-describedby"]
    assert page.text_by_id[hint_id].startswith("For example, ")
    assert page.by_id["id_consent_date"]["class"] == "nhsuk-date-input"
    widths = {"day": "nhsuk-input--width-2", "month": "nhsuk-input--width-2"}
    widths["year"] = "nhsuk-input--width-4"
    for part, label in (("day", "Day"), ("month", "Month"), ("year", "Year")):
        box = page.by_id[f"id_consent_date_{part}"]
        assert box["tag"] == "input" and box["type"] == "text"
        assert box["inputmode"] == "numeric"
        assert box["name"] == f"consent_date_{part}"
        assert {"nhsuk-input", "nhsuk-date-input__input", widths[part]} <= set(box["class"].split())
        assert "nhsuk-input--error" not in box["class"]
        assert page.label_for[box["id"]] == label
    assert not any(a.get("type") == "date" for tag, a in page.elements if tag == "input")


def test_an_impossible_date_is_refused_naming_the_field(client, clinician, patient):
    login(client, clinician)
    response = _consent_post(client, patient, "31", "2", "2026")
    assert response.status_code == 200
    assert not Consent.objects.exists()
    page = _read(response)
    message = "Consent date must be a real date: February 2026 has 28 days"
    assert message in page.text_by_id["consent_date-error"]
    fieldset = next(a for tag, a in page.elements if tag == "fieldset" and "consent_date" in str(a))
    assert "consent_date-error" in fieldset["aria-describedby"].split()
    group = next(
        a
        for tag, a in page.elements
        if "nhsuk-form-group--error" in a.get("class", "") and tag == "div"
    )
    assert group  # the whole date's group is marked
    # Only the day is wrong: only the day box is marked; what was typed is shown back.
    assert "nhsuk-input--error" in page.by_id["id_consent_date_day"]["class"]
    assert "nhsuk-input--error" not in page.by_id["id_consent_date_month"]["class"]
    assert [page.by_id[f"id_consent_date_{p}"]["value"] for p in ("day", "month", "year")] == [
        "31",
        "2",
        "2026",
    ]
    summary = assert_summary_reaches_its_fields(response)
    assert ("#id_consent_date_day", message) in summary.links


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "marked"),
    [
        ("5", "March", "2026", "Consent date must be written in numbers", {"month"}),
        ("5", "3", "26", "Consent date must include a year with 4 numbers", {"year"}),
        ("5", "", "2026", "Consent date must include a month", {"month"}),
        ("", "", "", "Consent date must include a day, month and year", {"day", "month", "year"}),
    ],
)
def test_each_kind_of_bad_entry_marks_the_parts_at_fault(
    client, clinician, patient, day, month, year, message, marked
):
    login(client, clinician)
    response = _consent_post(client, patient, day, month, year)
    assert not Consent.objects.exists()
    page = _read(response)
    assert message in page.text_by_id["consent_date-error"]
    for part in ("day", "month", "year"):
        box = page.by_id[f"id_consent_date_{part}"]
        assert ("nhsuk-input--error" in box["class"]) == (part in marked), part
        assert (box.get("aria-invalid") == "true") == (part in marked), part
    [(href, text)] = assert_summary_reaches_its_fields(response).links
    assert href == "#id_consent_date_day" and text.startswith(message)


def test_a_refusal_by_the_record_marks_the_whole_date(client, clinician, patient):
    # The model's own rule (no future dates) refuses a real date: all three boxes are marked.
    login(client, clinician)
    future = timezone.localdate() + timedelta(days=400)
    response = _consent_post(client, patient, str(future.day), str(future.month), str(future.year))
    assert not Consent.objects.exists()
    page = _read(response)
    assert "future" in page.text_by_id["consent_date-error"]
    for part in ("day", "month", "year"):
        assert "nhsuk-input--error" in page.by_id[f"id_consent_date_{part}"]["class"]
    [(href, text)] = assert_summary_reaches_its_fields(response).links
    assert href == "#id_consent_date_day" and text.startswith("Consent date")


def test_a_real_date_in_three_parts_is_saved(client, clinician, patient):
    login(client, clinician)
    day = timezone.localdate() - timedelta(days=3)
    response = _consent_post(client, patient, f"{day.day:02}", str(day.month), str(day.year))
    assert response.status_code == 302
    assert Consent.objects.get().consent_date == day


def test_a_stored_date_is_shown_in_its_three_parts(clinician, procedure):
    form = registry_forms.ProcedureForm(instance=procedure, patient=procedure.patient)
    html = str(form["procedure_date"])
    stored = procedure.procedure_date
    for part, value in (("day", stored.day), ("month", stored.month), ("year", stored.year)):
        assert f'name="procedure_date_{part}"' in html
        assert f'value="{value}"' in html


def _form_pages(procedure, approval):
    rn = procedure.patient.registry_number
    return [
        reverse("mdt_create", args=[rn]),
        reverse("consent_create", args=[rn]),
        reverse("procedure_create", args=[rn]),
        reverse("adverse_event_create", args=[rn]),
        reverse("assessment_record", args=[procedure.assessments.get(timepoint="1m").pk]),
        reverse("approval_create"),
        reverse("approval_detail", args=[approval.pk]),
        reverse("approval_withdraw", args=[approval.pk]),
        reverse("audit_trail"),
    ]


def test_no_page_of_the_registry_asks_for_a_date_in_one_box(
    client, clinician, governance, procedure, approved_site
):
    date_inputs = 0
    for path in _form_pages(procedure, approved_site[0]):
        governance_page = path.startswith(("/governance/", "/audit-trail/"))
        login(client, governance if governance_page else clinician)
        response = client.get(path)
        assert response.status_code == 200, path
        page = _read(response)
        assert not any(a.get("type") == "date" for tag, a in page.elements if tag == "input"), path
        for _tag, attrs in page.elements:
            if "nhsuk-date-input" in attrs.get("class", "").split():
                date_inputs += 1
                container = attrs["id"]
                for part in ("day", "month", "year"):
                    assert f"{container}_{part}" in page.label_for, path
    assert date_inputs >= 10
