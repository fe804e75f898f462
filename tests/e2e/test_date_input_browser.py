"""The NHS date input in a real browser, on a phone's width: typed into, refused with an
impossible date, corrected and saved; checked by axe-core (WCAG 2.2 A and AA rules) before and
after the refusal."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.e2e.nhs_date import fill_date
from tests.e2e.test_journey_browser import sign_in
from tests.factories import make_user
from thermablate.registry import actions
from thermablate.registry.models import Consent, Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}  # an iPhone 12 to 15 in portrait, CSS pixels
WCAG_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}}


def _violations(page) -> list[str]:
    results = Axe().run(page, options=WCAG_A_AA)
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in results.response["violations"]
    ]


def _boxes(page) -> dict[str, dict]:
    return {
        part: page.locator(f"#id_consent_date_{part}").bounding_box()
        for part in ("day", "month", "year")
    }


def test_the_date_input_on_a_phone(browser, live_server, transactional_db, artifacts):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    cora = make_user(site, "coordinator", "cora")
    patient = actions.create_patient(
        site=site, acting_user=cora, nhs_number="9434765919", year_of_birth=1950, sex="male"
    )
    context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, "cora")
        page.goto(f"{live_server.url}/patients/{patient.registry_number}/consent/new/")
        assert page.inner_text("legend:has-text('Consent date')")
        assert _violations(page) == []
        boxes = _boxes(page)
        # The three boxes sit side by side, whole, inside the phone's width.
        assert len({round(box["y"]) for box in boxes.values()}) == 1, boxes
        assert boxes["day"]["x"] < boxes["month"]["x"] < boxes["year"]["x"]
        assert all(
            box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes.values()
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        page.fill("#id_consent_date_day", "31")
        page.fill("#id_consent_date_month", "2")
        page.fill("#id_consent_date_year", "2026")
        page.fill("#id_leaflet_title", "RF ablation and vertebroplasty: patient information")
        page.fill("#id_leaflet_version", "2.0")
        page.check("#id_nice_information_offered")
        page.check("#id_uncertainties_discussed")
        page.check("#id_registry_audit_consent")
        page.click("button:has-text('Save')")
        message = "Consent date must be a real date: February 2026 has 28 days"
        assert message in page.inner_text(".nhsuk-error-summary")
        assert message in page.inner_text("#consent_date-error")
        assert page.input_value("#id_consent_date_day") == "31"  # what was typed stays
        assert _violations(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "date-input-refused-390.png"), full_page=True)
        page.click(f".nhsuk-error-summary a:has-text('{message}')")
        assert page.evaluate("location.hash") == "#id_consent_date_day"
        assert page.locator("#id_consent_date_day").is_visible()
        assert not Consent.objects.exists()

        day = timezone.localdate() - timedelta(days=2)
        fill_date(page, "consent_date", day)
        page.click("button:has-text('Save')")
        page.wait_for_selector("#timeline")
        assert Consent.objects.get().consent_date == day
    finally:
        context.close()
