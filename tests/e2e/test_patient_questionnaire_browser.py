"""A patient answers their follow-up questionnaire in a real browser, on a phone, from the link
in the e-mail a real local SMTP server received; the assessment then shows on the staff's
pages as patient-reported, with its scores.

axe-core (WCAG 2.2 A and AA rules) checks every patient page on the way, their error states
too, and the staff pages this feature added or changed. The patient pages fetch nothing from
another host, and work with JavaScript switched off.
"""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse

from tests import smtp_server as smtp
from tests.e2e.test_journey_browser import sign_in
from tests.factories import VALID_NHS_NUMBERS, procedure_fields
from tests.proms.privacy import shows
from thermablate.proms import actions as proms_actions
from thermablate.proms import links
from thermablate.registry import actions
from thermablate.registry.models import Assessment
from thermablate.registry.scores import scores_for

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 667}  # an iPhone SE (2nd and 3rd generation), CSS pixels
WCAG_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}}
YEAR_OF_BIRTH = 1958  # the `patient` fixture's
PAINKILLER = "co-codamol-30-500-tablet"


class AxeLog:
    """Runs axe on each page checked and keeps every violation, so one run lists them all."""

    def __init__(self):
        self.axe = Axe()
        self.checked: list[str] = []
        self.violations: dict[str, list[str]] = {}

    def check(self, page, name: str) -> None:
        results = self.axe.run(page, options=WCAG_A_AA)
        self.checked.append(name)
        found = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]
        ]
        if found:
            self.violations[name] = found


def _consent_and_procedure(patient, lesion, clinician, today, **contact):
    """Consent to be contacted, the contact details, and a procedure 21 days ago: its 1-month
    window (days 21 to 42) opens today."""
    actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=today - timedelta(days=30),
        leaflet_title="RF ablation of spinal metastases",
        leaflet_version="2",
        nice_information_offered=True,
        uncertainties_discussed=True,
        registry_audit_consent=True,
        contact_for_follow_up=True,
    )
    proms_actions.save_contact_details(patient, acting_user=clinician, **contact)
    procedure = actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[
            {"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}
        ],
        **procedure_fields(lesion, procedure_date=today - timedelta(days=21)),
    )
    return procedure


@pytest.fixture
def letter_patient(site_a, clinician, today):
    """A second patient, reachable only by post: on the call-and-letter list from today."""
    patient = actions.create_patient(
        site=site_a,
        acting_user=clinician,
        nhs_number=VALID_NHS_NUMBERS[1],
        year_of_birth=1949,
        sex="male",
    )
    lesion = actions.add_lesion(
        patient,
        acting_user=clinician,
        spinal_levels="T10",
        diagnosis="spinal_metastasis",
        primary_tumour="prostate",
        lesion_type="mixed",
        size_mm=Decimal("20"),
        posterior_wall_intact=True,
        distance_to_neural_mm=Decimal("5"),
        pain_at_site=7,
    )
    _consent_and_procedure(
        patient, lesion, clinician, today, postal_address="1 High Street\nNorthgate\nNG1 1AA"
    )
    return patient


@pytest.fixture
def mailbox(settings, live_server):
    """The local SMTP server, and the links in messages pointing at the live server."""
    received = smtp.Mailbox()
    smtp.use_in_django(settings, smtp.start(received))
    settings.THERMABLATE_PUBLIC_URL = live_server.url
    settings.THERMABLATE_SEND_HOURS = (0, 24)  # whatever the hour the suite runs at
    yield received
    received.controller.stop()


def _phone(browser, **options):
    context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _slug(page) -> str:
    return urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[1]


def _submit(page, button: str):
    """Click a form's button and wait for the page it leads to. A 403 here is Django's CSRF
    check refusing the form as a browser sends it (the test client sends no Origin header)."""
    with page.expect_navigation() as navigation:
        page.click(button)
    response = navigation.value
    assert response.status != 403, (
        f"the form was refused (403) at {response.url}: {page.inner_text('body')[:300]}"
    )
    return response


def _continue(page) -> None:
    _submit(page, "button:has-text('Save and continue')")


def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _answer_medicines(page, axe, shoot) -> None:
    axe.check(page, "medicines (add form open)")
    assert "Include painkillers you buy yourself" in page.inner_text("fieldset .nhsuk-hint")
    # Adding with nothing chosen: the add form's own error summary and messages.
    _submit(page, "button:has-text('Add to my list')")
    assert "Choose a painkiller from the list" in page.inner_text(".nhsuk-error-summary")
    axe.check(page, "medicines (add form refused)")
    shoot(page, "medicines-refused")
    # The picker lists the painkillers by group, and keeps the one chosen when the form
    # comes back refused for another reason.
    assert page.locator("#id_add-product optgroup").count() > 1
    page.select_option("#id_add-product", PAINKILLER)
    _submit(page, "button:has-text('Add to my list')")
    assert "Enter how many you take each time" in page.inner_text(".nhsuk-error-summary")
    assert page.input_value("#id_add-product") == PAINKILLER
    page.fill("#id_add-units_per_dose", "2")
    page.fill("#id_add-doses_per_day", "4")
    _submit(page, "button:has-text('Add to my list')")
    assert "Co-codamol 30 mg/500 mg" in page.inner_text("main ul.nhsuk-list")
    axe.check(page, "medicines (with the list)")
    shoot(page, "medicines")
    page.check("input[name=takes_painkillers][value=yes]")
    _continue(page)


def _answer_the_questionnaire(page, axe, shoot) -> list[str]:
    """From the first question page to the check page, as a patient would, checking each page
    and one error state of each kind; returns the slugs of the pages answered."""
    answered = []
    while "/check/" not in page.url:
        slug = _slug(page)
        assert _fits_the_phone(page), f"{slug} is wider than the phone"
        answered.append(slug)
        if slug == "medicines":
            _answer_medicines(page, axe, shoot)
            continue
        axe.check(page, slug)
        if slug == "pain":
            # Two radio questions on one page, sent unanswered: refused, with its summary.
            _continue(page)
            assert "There is a problem" in page.inner_text(".nhsuk-error-summary")
            assert page.locator(".nhsuk-error-message").count() == 2
            axe.check(page, "pain (unanswered)")
            shoot(page, "pain-unanswered")
            page.check("input[name=pain_worst][value='6']")
            page.check("input[name=pain_average][value='4']")
        elif slug == "eq5d-vas":
            shoot(page, "eq5d-vas")
            page.fill("#id_eq5d_vas", "101")
            _continue(page)
            assert "Enter a number from 0 to 100" in page.inner_text(".nhsuk-error-summary")
            axe.check(page, "eq5d-vas (out of range)")
            shoot(page, "eq5d-vas-refused")
            page.fill("#id_eq5d_vas", "65")
        elif slug == "odi-sex-life":
            page.check("input[name=odi_sex_life][value=skip]")
        else:
            if slug in ("eq5d-mobility", "odi-pain-intensity"):
                shoot(page, slug)
            name = page.locator("input[type=radio]").first.get_attribute("name")
            page.check(f"input[name={name}][value='2']")
        _continue(page)
    return answered


def test_a_patient_answers_on_a_phone_from_the_emailed_link(
    browser, live_server, transactional_db, mailbox, patient, lesion, clinician, today,
    letter_patient, artifacts,
):  # fmt: skip
    procedure = _consent_and_procedure(
        patient, lesion, clinician, today, email="patient@example.org"
    )
    call_command("send_reminders")
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == "patient@example.org"
    found = re.search(rf"{re.escape(live_server.url)}/q/[\w-]+/", mailbox.bodies()[0])
    assert found, mailbox.bodies()[0]
    link = found.group(0)
    assessment = Assessment.objects.get(procedure=procedure, timepoint="1m")

    axe = AxeLog()

    def shoot(page, name):
        page.screenshot(path=str(artifacts / f"proms-{name}-375.png"), full_page=True)

    context, page = _phone(browser)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(link)
        assert page.inner_text("h1") == "Your 1 month questionnaire"
        # Nothing about the patient or the treatment before (or after) the year of birth.
        for secret in (patient.nhs_number, patient.registry_number, "L2", "breast"):
            assert not shows(page.content(), secret)
        axe.check(page, "start")
        shoot(page, "start")

        page.fill("#id_year_of_birth", "1960")
        _submit(page, "button:has-text('Continue')")
        assert "does not match our records" in page.inner_text(".nhsuk-error-summary")
        assert page.title().startswith("Error: ")
        axe.check(page, "start (wrong year of birth)")
        shoot(page, "start-wrong-year")
        page.click(".nhsuk-error-summary a")
        assert page.evaluate("document.activeElement.id") == "id_year_of_birth"

        page.fill("#id_year_of_birth", str(YEAR_OF_BIRTH))
        _submit(page, "button:has-text('Continue')")
        assert _slug(page) == "pain"
        answered = _answer_the_questionnaire(page, axe, shoot)
        # Pain, painkillers, EQ-5D (five and the VAS), and the ten ODI sections: spinal.
        assert len(answered) == 1 + 1 + 6 + 10
        assert len([s for s in answered if s.startswith("odi-")]) == 10
        assert "odi-sex-life" in answered

        assert page.inner_text("h1") == "Check your answers before sending them"
        check = page.inner_text("main")
        assert "Co-codamol 30 mg/500 mg tablets or capsules: 2 tablets, 4 times a day" in check
        assert "I prefer not to answer" in check
        assert _fits_the_phone(page)
        axe.check(page, "check")
        shoot(page, "check")
        _submit(page, "button:has-text('Send my answers')")
        assert page.inner_text("h1") == "Thank you"
        axe.check(page, "done")
        shoot(page, "done")

        # The link is spent: it says so, and that page passes axe too.
        page.goto(link)
        assert page.inner_text("h1") == links.DONE
        axe.check(page, "link already used")
    finally:
        context.close()

    ours = urlsplit(live_server.url).netloc
    assert any(url.endswith(".css") for url in requested), "no stylesheet was requested"
    elsewhere = [u for u in requested if not u.startswith("data:") and urlsplit(u).netloc != ours]
    assert not elsewhere, f"the patient pages fetched from other hosts: {elsewhere}"

    assessment.refresh_from_db()
    assert assessment.reported_by == "patient"
    assert (assessment.pain_worst, assessment.pain_average, assessment.eq5d_vas) == (6, 4, 65)
    assert assessment.odi_sex_life is None and assessment.odi_pain_intensity == 2

    # The staff's side, signed in as a clinician at the same site.
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = staff.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, clinician.username)

        page.goto(f"{live_server.url}{reverse('patient_detail', args=[patient.registry_number])}")
        timeline = page.inner_text("#timeline")
        assert "1 month assessment" in timeline
        assert "worst pain 6/10; Patient-reported" in timeline
        axe.check(page, "staff: patient page")
        page.screenshot(path=str(artifacts / "proms-staff-patient.png"), full_page=True)

        page.goto(f"{live_server.url}{reverse('procedure_detail', args=[procedure.pk])}")
        cells = page.locator("#schedule tr[data-timepoint='1m'] td").all_inner_texts()
        scores = scores_for(assessment)
        # Worst pain 6; co-codamol 30/500, 2 tablets 4 times a day: 240 mg codeine, 24 mg oral
        # morphine a day; EQ-5D 22222 and VAS 65; nine ODI sections answered 2 of 5 and one
        # left out: 18 / 45 = 40 %; and who answered.
        for expected in ("6", "24", str(scores.eq5d_index), "65", "40.0", "Patient-reported"):
            assert expected in cells, (expected, cells)
        section = page.inner_text("#questionnaires ~ table")
        assert f"Answered by the patient on {today:%-d %b %Y}" in section
        assert "Invitation (e-mail): sent" in section
        axe.check(page, "staff: procedure page")
        page.screenshot(path=str(artifacts / "proms-staff-procedure.png"), full_page=True)

        page.goto(f"{live_server.url}{reverse('proms_contact', args=[patient.registry_number])}")
        assert page.input_value("#id_email") == "patient@example.org"
        axe.check(page, "staff: contact details")
        page.screenshot(path=str(artifacts / "proms-staff-contact.png"), full_page=True)

        page.goto(f"{live_server.url}{reverse('proms_call_list')}")
        listed = page.inner_text("main table")
        assert letter_patient.registry_number in listed
        assert patient.registry_number not in listed  # answered: nobody needs to call
        axe.check(page, "staff: call-and-letter list")
        page.screenshot(path=str(artifacts / "proms-staff-call-list.png"), full_page=True)
    finally:
        staff.close()

    assert len(axe.checked) >= 20 + 4, axe.checked
    assert axe.violations == {}, axe.violations


def test_the_patient_pages_work_without_javascript(
    browser, live_server, transactional_db, letter_patient, artifacts
):
    """The letter's patient, on a phone with JavaScript switched off: the link, the year of
    birth, a question page and its error, the painkillers' list; every answer still saved."""
    invitation = proms_actions.open_invitation(
        Assessment.objects.get(patient=letter_patient, timepoint="1m")
    )
    link = f"{live_server.url}{reverse('proms_start', args=[links.new_link(invitation)])}"
    context, page = _phone(browser, java_script_enabled=False)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(link)
        page.fill("#id_year_of_birth", "1949")
        _submit(page, "button:has-text('Continue')")
        assert _slug(page) == "pain"
        _continue(page)  # unanswered
        assert page.locator(".nhsuk-error-summary").is_visible()
        page.check("input[name=pain_worst][value='8']")
        page.check("input[name=pain_average][value='5']")
        _continue(page)
        assert _slug(page) == "medicines"
        # The add form sits in a <details>, open by default while the list is empty: no
        # script is needed to reach it.
        assert page.locator("#id_add-product").is_visible()
        page.select_option("#id_add-product", PAINKILLER)
        page.fill("#id_add-units_per_dose", "1")
        page.fill("#id_add-doses_per_day", "3")
        _submit(page, "button:has-text('Add to my list')")
        assert "1 tablet, 3 times a day" in page.inner_text("main ul.nhsuk-list")
        page.check("input[name=takes_painkillers][value=yes]")
        _continue(page)
        assert _slug(page) == "eq5d-mobility"
        page.screenshot(path=str(artifacts / "proms-no-javascript-375.png"), full_page=True)
        # Not even the page's own scripts ran (none are loaded): nothing fetched but the CSS.
        assert not any(url.endswith(".js") for url in requested)
        ours = urlsplit(live_server.url).netloc
        assert all(urlsplit(url).netloc == ours for url in requested), requested
    finally:
        context.close()
    invitation.refresh_from_db()
    assert (invitation.draft["pain_worst"], invitation.draft["pain_average"]) == (8, 5)
    assert invitation.draft["takes_painkillers"] == "yes"
    assert invitation.draft["medicines"][0]["product"] == PAINKILLER
