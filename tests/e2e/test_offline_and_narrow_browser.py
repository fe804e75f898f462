"""In a real browser: pages fetch nothing from another host, and the pages with wide tables fit
a phone's width (390 CSS px, an iPhone 12 to 15 in portrait) without sideways scrolling."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from thermablate.registry.audit_trail import record_identifiers_shown

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _table_pages(procedure):
    return {
        "patient-list": reverse("patient_list"),
        "follow-ups": reverse("follow_ups"),
        "audit-trail": reverse("audit_trail"),
        "procedure-schedule": reverse("procedure_detail", args=[procedure.pk]),
    }


def test_pages_fetch_nothing_from_another_host(
    transactional_db, page, live_server, governance, clinician, procedure
):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _sign_in(page, live_server, governance)
    paths = [
        *_table_pages(procedure).values(),
        reverse("patient_detail", args=[procedure.patient.registry_number]),
        reverse("governance"),
        reverse("guidance_catalogue"),
    ]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.wait_for_load_state("networkidle")
    ours = urlsplit(live_server.url).netloc
    assert any(url.endswith(".css") for url in requested), "no stylesheet was requested"
    elsewhere = [u for u in requested if not u.startswith("data:") and urlsplit(u).netloc != ours]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def test_tables_fit_a_phone_screen(
    transactional_db, browser, live_server, governance, clinician, procedure, artifacts
):
    for _ in range(3):  # a few rows of views, with their long "changes" text
        record_identifiers_shown(clinician, [procedure.patient], via="patient page")
    context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, live_server, governance)
        too_wide = {}
        for name, path in _table_pages(procedure).items():
            page.goto(f"{live_server.url}{path}")
            assert page.locator("table").count() > 0, f"{name}: no table to check"
            page.screenshot(path=str(artifacts / f"narrow-{name}.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[name] = width
        assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"
    finally:
        context.close()
