"""Every refused form starts with an NHS.UK error summary whose links reach the inputs in error,
the rows of a formset (ablation cycles, analgesics) included (WCAG 3.3.1; NHS design system,
service-manual.nhs.uk/design-system/components/error-summary)."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import login
from tests.registry.test_journey import procedure_post
from thermablate.registry import actions


class _SummaryReader(HTMLParser):
    """Collects every id of the page, and the links and plain items of the error summary."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.summary_attrs: dict | None = None
        self.title = ""
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.unlinked_items: list[str] = []
        self._depth = 0  # depth inside the summary box
        self._in_title = False
        self._href: str | None = None
        self._item: list[str] | None = None
        self._item_has_link = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        classes = (attrs.get("class") or "").split()
        if "nhsuk-error-summary" in classes and tag == "div":
            self.summary_attrs = attrs
            self._depth = 1
            return
        if self._depth:
            self._depth += tag not in ("input", "br", "img")
            self._in_title = "nhsuk-error-summary__title" in classes
            if tag == "li":
                self._item, self._item_has_link = [], False
            if tag == "a":
                self._href, self._item_has_link = attrs.get("href"), True

    def handle_endtag(self, tag):
        if not self._depth:
            return
        self._depth -= 1
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._item or []).strip()))
            self._href = None
        if tag == "li" and self._item is not None:
            if not self._item_has_link:
                self.unlinked_items.append("".join(self._item).strip())
            self._item = None
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._item is not None:
            self._item.append(data)


def read_summary(response) -> _SummaryReader:
    reader = _SummaryReader()
    reader.feed(response.content.decode())
    return reader


def assert_summary_reaches_its_fields(response) -> _SummaryReader:
    summary = read_summary(response)
    assert summary.summary_attrs is not None, "no error summary on a refused form"
    assert summary.summary_attrs.get("role") == "alert"
    assert summary.summary_attrs.get("tabindex") == "-1"
    assert summary.title.strip() == "There is a problem"
    assert summary.links or summary.unlinked_items
    for href, text in summary.links:
        assert href.startswith("#"), href
        assert href[1:] in summary.ids, f"summary link {href} ({text}) has no target on the page"
    return summary


def test_it_links_an_error_in_the_second_cycle_to_its_input(client, clinician, patient, lesion):
    login(client, clinician)
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(
            lesion,
            clinician,
            **{"cycles-1-target_temp_c": "150", "cycles-1-time_at_target_s": "60"},
        ),
    )
    assert response.status_code == 200
    summary = assert_summary_reaches_its_fields(response)
    [(href, text)] = summary.links
    assert href == "#id_cycles-1-target_temp_c"
    assert text.startswith("Cycle 2: ") and "less than or equal to 100" in text


def test_it_lists_a_missing_cycle_without_a_link(client, clinician, patient, lesion):
    login(client, clinician)
    empty_first_cycle = {
        "cycles-0-target_temp_c": "",
        "cycles-0-time_at_target_s": "",
        "cycles-0-power_w": "",
    }
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, clinician, **empty_first_cycle),
    )
    summary = assert_summary_reaches_its_fields(response)
    assert any("at least 1" in item for item in summary.unlinked_items)


def test_it_links_a_group_of_checkboxes_to_its_first_option(client, clinician, patient, lesion):
    login(client, clinician)
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, clinician, image_guidance=[]),
    )
    summary = assert_summary_reaches_its_fields(response)
    assert ("#id_image_guidance_0") in [href for href, _ in summary.links]


def _assessment_post(procedure, **overrides):
    data = {
        "assessed_on": (procedure.procedure_date + timedelta(days=30)).isoformat(),
        "pain_worst": "4",
        "pain_average": "3",
        "notes": "",
        "version": "1",
        "drugs-TOTAL_FORMS": "2",
        "drugs-INITIAL_FORMS": "0",
        "drugs-MIN_NUM_FORMS": "0",
        "drugs-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_it_links_an_error_in_an_analgesic_row_to_its_input(client, clinician, procedure):
    month = procedure.assessments.get(timepoint="1m")
    login(client, clinician)
    response = client.post(
        reverse("assessment_record", args=[month.pk]),
        _assessment_post(procedure, **{"drugs-1-drug": "morphine", "drugs-1-dose": "-5"}),
    )
    assert response.status_code == 200
    summary = assert_summary_reaches_its_fields(response)
    hrefs = [href for href, _ in summary.links]
    assert hrefs and all(h.startswith("#id_drugs-1-") for h in hrefs), hrefs
    assert all(text.startswith("Analgesic 2: ") for _, text in summary.links)


# Every page with a form, posted empty: each must be refused with a summary that works. A
# browser's post always carries the CSRF token (the test client does not check it), and the
# views treat a post with no fields at all as a first visit.
NOTHING_FILLED_IN = {"csrfmiddlewaretoken": "not checked by the test client"}
FORM_PAGES = (
    "patient_create",
    "patient_edit",
    "lesion_create",
    "mdt_create",
    "consent_create",
    "procedure_create",
    "adverse_event_create",
    "assessment_record",
)


@pytest.mark.parametrize("name", FORM_PAGES)
def test_each_form_page_posted_empty_shows_a_working_summary(client, clinician, procedure, name):
    args = {"assessment_record": [procedure.assessments.get(timepoint="1m").pk]}.get(
        name, [] if name == "patient_create" else [procedure.patient.registry_number]
    )
    login(client, clinician)
    response = client.post(reverse(name, args=args), NOTHING_FILLED_IN)
    assert response.status_code in (200, 400, 409), response.status_code
    assert_summary_reaches_its_fields(response)


def test_the_approval_pages_show_a_working_summary(client, governance, approved_site):
    login(client, governance)
    response = client.post(reverse("approval_create"), NOTHING_FILLED_IN)
    assert_summary_reaches_its_fields(response)
    response = client.post(
        reverse("approval_detail", args=[approved_site[0].pk]), NOTHING_FILLED_IN
    )
    assert_summary_reaches_its_fields(response)


def test_the_sign_in_page_shows_a_working_summary(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.username, "password": "no"})
    assert_summary_reaches_its_fields(response)


def _saved_scores_panel(response) -> str | None:
    page = response.content.decode()
    start = page.find('id="scores"')
    return None if start < 0 else page[start : page.find("</ul>", start)]


def test_a_refused_assessment_leaves_the_saved_scores_panel_showing_the_stored_answers(
    client, clinician, procedure
):
    month = procedure.assessments.get(timepoint="1m")
    actions.record_assessment(
        month,
        acting_user=clinician,
        analgesics=[],
        assessed_on=procedure.procedure_date + timedelta(days=30),
        pain_worst=4,
        pain_average=3,
        no_analgesics=True,
        notes="",
    )
    month.refresh_from_db()
    login(client, clinician)
    response = client.post(
        reverse("assessment_record", args=[month.pk]),
        _assessment_post(
            procedure,
            pain_worst="9",
            pain_average="8",
            version=str(month.version),
            **{"drugs-0-drug": "morphine", "drugs-0-dose": "-5"},
        ),
    )
    assert read_summary(response).summary_attrs is not None
    panel = _saved_scores_panel(response)
    assert panel is not None
    assert "Worst pain 4/10, average 3/10" in panel
    assert "9/10" not in panel and "8/10" not in panel


def test_a_refused_first_entry_shows_no_saved_scores_panel(client, clinician, procedure):
    month = procedure.assessments.get(timepoint="1m")
    login(client, clinician)
    response = client.post(
        reverse("assessment_record", args=[month.pk]),
        _assessment_post(procedure, pain_worst="9", **{"drugs-0-dose": "-5"}),
    )
    assert read_summary(response).summary_attrs is not None
    assert _saved_scores_panel(response) is None
