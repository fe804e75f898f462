"""A search by NHS number or hospital number (MRN) never puts the identifier in a URL.

A query string is written to the web server's and every proxy's access log, to the browser's
history and to the Referer of the next request; an NHS number there is identifiable data
leaving the registry's control (NHS Digital, Data Security and Protection Toolkit, standard 1;
Caldicott principle 4, access on a strict need-to-know basis). So the search is a POST, with
Django's CSRF token, to the bare address of the patient list: no redirect, no pagination link
and no form action carries what was typed. Each search still finds the patient, and a find by
an identifier is still recorded in the audit trail (``record_found_by``).
"""

import re
from html.parser import HTMLParser
from urllib.parse import unquote_plus

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import VALID_NHS_NUMBERS, login
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent

NHS_NUMBER = VALID_NHS_NUMBERS[0]  # the ``patient`` fixture's
TYPED = "943 476 5919"  # as printed on an NHS card
MRN = "RX-0042817"


class _Attributes(HTMLParser):
    """Every attribute of every tag, as (tag, name, value)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            self.found.append((tag, name, value or ""))
        if tag == "form":
            self.forms.append(dict(attrs))


def _attributes(response) -> _Attributes:
    reader = _Attributes()
    reader.feed(response.content.decode())
    return reader


def _carries(text: str, identifier: str) -> bool:
    """Whether ``text`` holds the identifier, however spaced, hyphenated or URL-encoded."""
    flat = re.sub(r"[\s\-]", "", unquote_plus(text)).upper()
    return re.sub(r"[\s\-]", "", identifier).upper() in flat


def assert_no_url_carries(responses, identifier: str) -> None:
    """Neither the address asked for, nor a redirect, nor any link, form action or other
    attribute of the pages holds the identifier; only a form field's ``value`` may (what the
    user typed, shown back in the box: page content, never an address)."""
    for response in responses:
        request = response.request
        assert not _carries(
            request["PATH_INFO"] + "?" + request.get("QUERY_STRING", ""), identifier
        )
        for _, location in getattr(response, "redirect_chain", []):
            assert not _carries(location, identifier), location
        assert not _carries(response.headers.get("Location", ""), identifier)
        assert not _carries(response.headers.get("Refresh", ""), identifier)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for tag, name, value in _attributes(response).found:
                if name != "value":
                    assert not _carries(value, identifier), f"<{tag} {name}={value!r}>"


def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    login(client, user)
    return client


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


@pytest.fixture
def mrn_patient(coordinator, site_a):
    return actions.create_patient(
        site=site_a,
        acting_user=coordinator,
        nhs_number=VALID_NHS_NUMBERS[1],
        mrn=MRN,
        year_of_birth=1961,
        sex="male",
    )


def test_it_finds_a_patient_by_nhs_number_with_no_number_in_any_url(coordinator, patient):
    client = _csrf_client(coordinator)
    page = client.get(reverse("patient_list"))
    found = client.post(
        reverse("patient_list"), {"q": TYPED, "csrfmiddlewaretoken": _token(page)}, follow=True
    )
    assert found.status_code == 200
    assert not found.redirect_chain  # the results are the answer to the post itself
    table = found.content.decode().split("<table")[1]
    assert patient.registry_number in table
    assert "Patients matching your search" in table
    assert_no_url_carries([page, found], NHS_NUMBER)
    # The links on the results page lead nowhere that carries it either.
    for link in {v for tag, n, v in _attributes(found).found if tag == "a" and n == "href"}:
        if link.startswith("/"):
            assert_no_url_carries([client.get(link, follow=True)], NHS_NUMBER)


def test_the_find_is_still_recorded_in_the_audit_trail(coordinator, patient):
    client = _csrf_client(coordinator)
    token = _token(client.get(reverse("patient_list")))
    client.post(reverse("patient_list"), {"q": TYPED, "csrfmiddlewaretoken": token})
    search = AuditEvent.objects.get(action="search")
    assert search.actor == coordinator and search.patient == patient
    assert search.changes == {"found_by": "nhs_number"}
    assert NHS_NUMBER not in str(search.changes)


def test_it_finds_a_patient_by_hospital_number_and_records_how(coordinator, mrn_patient, patient):
    client = _csrf_client(coordinator)
    page = client.get(reverse("patient_list"))
    found = client.post(
        reverse("patient_list"), {"q": " rx-0042817 ", "csrfmiddlewaretoken": _token(page)}
    )
    table = found.content.decode().split("<table")[1]
    assert mrn_patient.registry_number in table and patient.registry_number not in table
    assert AuditEvent.objects.get(action="search").changes == {"found_by": "mrn"}
    assert_no_url_carries([page, found], MRN)


def test_a_search_without_the_csrf_token_is_refused(coordinator, patient):
    client = _csrf_client(coordinator)
    refused = client.post(reverse("patient_list"), {"q": NHS_NUMBER})
    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(action="search").exists()


def test_the_search_form_posts_to_the_bare_address_with_its_token(coordinator, patient):
    login(client := Client(), coordinator)
    # Even reached from an address with a query, the form's action is the bare path.
    for address in (reverse("patient_list"), reverse("patient_list") + "?q=TB-1"):
        page = client.get(address)
        [search] = [f for f in _attributes(page).forms if f.get("role") == "search"]
        assert search["method"] == "post"
        assert search["action"] == reverse("patient_list")
        assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_a_number_put_in_the_address_is_neither_searched_nor_shown(coordinator, patient):
    login(client := Client(), coordinator)
    response = client.get(reverse("patient_list"), {"q": TYPED})
    assert response.status_code == 200
    page = response.content.decode()
    assert not AuditEvent.objects.filter(action="search").exists()
    assert TYPED not in page and NHS_NUMBER not in page
    assert 'id="search-in-address"' in page  # says why, and to use the box
    assert "Most recently registered patients" in page


def test_a_signed_out_search_goes_to_sign_in_without_the_number(client, patient):
    response = client.post(reverse("patient_list"), {"q": TYPED})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login"))
    assert_no_url_carries([response], NHS_NUMBER)


def test_an_analyst_finds_by_registry_number_but_not_by_nhs_number(analyst, patient):
    login(client := Client(), analyst)
    by_number = client.post(reverse("patient_list"), {"q": TYPED}).content.decode()
    assert patient.registry_number not in by_number.split("<table")[1]
    by_registry = client.post(reverse("patient_list"), {"q": patient.registry_number.lower()})
    assert patient.registry_number in by_registry.content.decode().split("<table")[1]
    assert not AuditEvent.objects.filter(action="search").exists()


def test_a_refused_search_shows_its_error_and_lists_no_one(coordinator, patient):
    login(client := Client(), coordinator)
    response = client.post(reverse("patient_list"), {"q": "9" * 21})
    page = response.content.decode()
    assert response.status_code == 200
    assert "nhsuk-error-summary" in page and 'href="#id_q"' in page
    assert patient.registry_number not in page.split("<table")[1]
