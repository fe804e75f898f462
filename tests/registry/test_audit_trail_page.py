"""The audit trail page as a governance lead reads it: entries in words, a page at a time,
filtered, and downloadable as CSV, for their own site only."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import login, make_user
from thermablate.registry import actions
from thermablate.registry.audit_trail import record_identifiers_shown
from thermablate.registry.csv_cells import neutralised
from thermablate.registry.models import AuditEvent


def _trail(client, **query):
    response = client.get(reverse("audit_trail"), query)
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> int:
    return page.count("data-entry=")


def _record_month(procedure, clinician, **answers):
    month = procedure.assessments.get(timepoint="1m")
    fields = {
        "assessed_on": procedure.procedure_date + timedelta(days=30),
        "pain_worst": 6,
        "pain_average": 5,
        "no_analgesics": True,
        "notes": "",
    }
    fields.update(answers)
    actions.record_assessment(month, acting_user=clinician, analgesics=[], **fields)
    return month


def test_it_shows_labels_and_values_in_words(client, governance, clinician, procedure):
    _record_month(procedure, clinician)
    login(client, governance)
    page = _trail(client)
    # A snapshot of the new procedure: choice labels, Yes/No, not codes or Python dicts.
    assert "RF ablation plus percutaneous vertebroplasty" in page
    assert "rfa_vertebroplasty" not in page
    assert "Fluoroscopy" in page
    assert "{&#x27;" not in page and "{'" not in page and "&#x27;old&#x27;" not in page
    assert ": Yes</li>" in page
    # An update: the field's label and its old and new values.
    assert "Worst pain in the last 24 hours (0-10)</span>: – → 6" in page
    # Internal ids become links to pages the reader may open.
    assert f'href="{reverse("procedure_detail", args=[procedure.pk])}"' in page
    assert f'href="{reverse("patient_detail", args=[procedure.patient.registry_number])}"' in page
    assert procedure.patient.nhs_number not in page


def test_it_pages_instead_of_cutting_the_trail_off(client, governance, clinician, patient):
    for _ in range(230):
        record_identifiers_shown(clinician, [patient], via="patient page")
    total = (
        AuditEvent.objects.filter(patient=patient).count()
        + AuditEvent.objects.filter(patient__isnull=True, actor__in=[clinician, governance]).count()
    )
    login(client, governance)
    first = _trail(client)
    assert _rows(first) == 100
    assert 'id="trail-next"' in first and 'id="trail-previous"' not in first
    last_page_number = (total + 99) // 100
    last = _trail(client, page=last_page_number)
    assert 0 < _rows(last) <= 100 and 'id="trail-next"' not in last
    seen = sum(_rows(_trail(client, page=n)) for n in range(1, last_page_number + 1))
    assert seen >= 230


def test_page_links_keep_the_filters(client, governance, clinician, patient):
    for _ in range(120):
        record_identifiers_shown(clinician, [patient], via="patient page")
    login(client, governance)
    page = _trail(client, action="view")
    assert "action=view&amp;page=2" in page
    assert _rows(_trail(client, action="view", page=2)) == 20


def test_it_filters_by_patient_user_action_and_dates(
    client, governance, clinician, coordinator, procedure, today
):
    _record_month(procedure, clinician)
    record_identifiers_shown(coordinator, [procedure.patient], via="patient page")
    login(client, governance)
    views = _trail(client, action="view")
    assert _rows(views) == AuditEvent.objects.filter(action="view").count() == 1
    assert coordinator.username in views
    by_user = _trail(client, user=coordinator.username)
    assert _rows(by_user) == AuditEvent.objects.filter(actor=coordinator).count()
    by_patient = _trail(client, patient=procedure.patient.registry_number.lower())
    assert _rows(by_patient) == AuditEvent.objects.filter(patient=procedure.patient).count()
    assert _rows(_trail(client, date_from=(today + timedelta(days=1)).isoformat())) == 0
    assert _rows(_trail(client, date_to=today.isoformat())) > 0


def test_a_backwards_date_range_is_refused_with_an_error_summary(client, governance, procedure):
    login(client, governance)
    page = _trail(client, date_from="2026-02-01", date_to="2026-01-01")
    assert "nhsuk-error-summary" in page and "start date is after the end date" in page
    assert _rows(page) == 0


def test_the_csv_has_every_filtered_entry_and_is_itself_recorded(
    client, governance, clinician, patient
):
    for _ in range(150):
        record_identifiers_shown(clinician, [patient], via="patient page")
    login(client, governance)
    response = client.get(reverse("audit_trail"), {"action": "view", "format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["When", "Who", "Action", "Record", "Registry number", "Changes"]
    assert len(rows) == 1 + 150  # every page, not only the first hundred
    assert {row[2] for row in rows[1:]} == {"view"}
    assert rows[1][4] == patient.registry_number and "NHS number" in rows[1][5]
    export = AuditEvent.objects.get(action="export", model="auditevent")
    assert export.actor == governance and export.changes["filters"] == {"action": "view"}


def test_csv_cells_cannot_run_as_formulas(client, governance, site_a, patient):
    user = make_user(site_a, "clinician", "@SUM(1+1)")
    record_identifiers_shown(user, [patient], via="patient page")
    login(client, governance)
    response = client.get(reverse("audit_trail"), {"user": user.username, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == "'@SUM(1+1)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("-2", "'-2"), ("\tx", "'\tx"), ("plain", "plain"), (None, "")],
)
def test_neutralised(value, cell):
    assert neutralised(value) == cell


def test_the_page_and_its_csv_stay_within_the_site(
    client, governance, clinician, outsider, procedure
):
    other = actions.create_patient(
        site=outsider.staff.site,
        acting_user=outsider,
        nhs_number="9434765870",
        year_of_birth=1970,
        sex="male",
    )
    record_identifiers_shown(outsider, [other], via="patient page")
    login(client, governance)
    assert other.registry_number not in _trail(client)
    csv_text = b"".join(
        client.get(reverse("audit_trail"), {"format": "csv"}).streaming_content
    ).decode()
    assert other.registry_number not in csv_text and outsider.username not in csv_text
    for persona in (clinician, outsider):
        login(client, persona)
        assert client.get(reverse("audit_trail")).status_code == 403
        assert client.get(reverse("audit_trail"), {"format": "csv"}).status_code == 403


def test_each_page_view_of_an_nhs_number_stays_one_entry_per_patient(
    client, governance, clinician, patient
):
    """We keep one ``view`` entry per patient shown (not one per request listing them), so
    "who saw this patient" stays one filter; paging and the action filter keep them readable."""
    login(client, clinician)
    client.get(reverse("patient_detail", args=[patient.registry_number]))
    client.get(reverse("patient_detail", args=[patient.registry_number]))
    assert AuditEvent.objects.filter(action="view", patient=patient).count() == 2
    login(client, governance)
    page = _trail(client, action="view", patient=patient.registry_number)
    assert _rows(page) == 2 and clinician.username in page
