"""A governance lead supersedes a local approval in a real browser (issue 12, item 5): the
committee's new decision is typed into the supersede page as a user would (the NHS date input's
three boxes), the credentialed operators are carried over and the page says so, the old approval
is marked superseded and the new one is in force. A new decision dated before the one it
supersedes is refused first, with the error summary linking to the date and nothing saved. The
supersede page, refused or not, passes axe-core's WCAG 2.2 A and AA rules."""

from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.e2e.nhs_date import fill_date
from tests.e2e.test_journey_browser import sign_in
from tests.factories import make_user
from thermablate.guidance.models import Guidance
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent, CredentialedOperator, LocalApproval, Site
from thermablate.registry.roles import sync_role_groups

pytestmark = pytest.mark.e2e

WCAG_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]}}
PROCEDURE = "RF ablation plus percutaneous vertebroplasty"
REASON = "Two-year review: the committee renews the approval and its credentials"


def _violations(page) -> list[str]:
    results = Axe().run(page, options=WCAG_A_AA)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
    ]


def _in_words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"  # "5 March 2025", as the pages write a date ("j F Y")


def _short(day: date) -> str:
    return f"{day.day} {day:%b %Y}"  # "5 Mar 2025", as the governance table writes it ("j M Y")


def _approval_in_force(site, governance, lead, trainee, decided_on: date) -> LocalApproval:
    """The committee's decision of ``decided_on`` on vertebroplasty with RF ablation (HTG670),
    with two credentialed operators."""
    return actions.record_approval(
        site=site,
        acting_user=governance,
        procedure_type="rfa_vertebroplasty",
        guidance=Guidance.objects.get(key="HTG670"),
        decision="approved_standard",
        committee="New Interventional Procedures Committee",
        decision_date=decided_on,
        clinical_lead=lead,
        review_date=decided_on + timedelta(days=730),
        operators=[
            {
                "user": lead,
                "training": "Vertebroplasty, 60 cases; RF ablation course",
                "credentialed_on": decided_on,
            },
            {
                "user": trainee,
                "training": "Vertebroplasty, 25 supervised cases",
                "credentialed_on": decided_on,
            },
        ],
    )


def _fill_new_decision(page, decided_on: date, review_on: date) -> None:
    fill_date(page, "decision_date", decided_on)
    fill_date(page, "review_date", review_on)
    page.fill("#id_conditions", "Audit every case; outcomes to the committee each year")
    page.fill("#id_supersession_reason", REASON)


def test_a_governance_lead_supersedes_an_approval_and_its_credentials_carry_over(
    page, live_server, transactional_db, artifacts
):
    sync_role_groups()
    site = Site.objects.create(code="ngh", name="Northgate General Hospital")
    gill = make_user(site, "governance", "gill")
    amara = make_user(site, "clinician", "amara")
    rhys = make_user(site, "clinician", "rhys")
    today = timezone.localdate()
    first_decision = today - timedelta(days=400)
    old = _approval_in_force(site, gill, amara, rhys, first_decision)
    credentials = {c.user.username: c for c in old.operators.select_related("user")}

    sign_in(page, live_server, "gill")
    page.click(".nhsuk-header__navigation-link:has-text('Governance')")
    page.click(f"#approvals a:has-text('{PROCEDURE}')")
    page.click("text=Record a new decision (supersede)")
    page.wait_for_selector("h1:has-text('Supersede the approval')")
    # The form starts from the decision in force, every credential ticked to carry over.
    assert page.input_value("#id_committee") == "New Interventional Procedures Committee"
    for credential in credentials.values():
        assert page.is_checked(f"input[name=carry_over][value='{credential.pk}']")
    assert _violations(page) == []

    # Refused: the new decision is dated before the one it supersedes.
    audited = AuditEvent.objects.count()
    _fill_new_decision(page, first_decision - timedelta(days=7), today + timedelta(days=730))
    page.click("button:has-text('Save')")
    message = (
        "The new decision cannot be dated before the decision it supersedes "
        f"({first_decision:%d %B %Y})."
    )
    summary = page.locator(".nhsuk-error-summary")
    assert message in summary.inner_text()
    assert message in page.inner_text("#decision_date-error")
    assert page.input_value("#id_decision_date_year") == str(first_decision.year)  # kept
    assert page.input_value("#id_supersession_reason") == REASON
    assert _violations(page) == []
    page.screenshot(path=str(artifacts / "approval-supersede-refused.png"), full_page=True)
    summary.locator(f"a:has-text('{message}')").click()
    assert page.evaluate("location.hash") == "#id_decision_date_day"
    assert page.evaluate("document.activeElement.id") == "id_decision_date_day"
    # Nothing was saved: one approval, still in force, its credentials its own, no audit entry.
    assert list(LocalApproval.objects.all()) == [old]
    old.refresh_from_db()
    assert old.in_force and old.superseded_on is None and old.supersession_reason == ""
    assert CredentialedOperator.objects.count() == 2
    assert AuditEvent.objects.count() == audited

    # Corrected, and saved: the new decision supersedes the old one.
    new_decision = today - timedelta(days=3)
    review_on = today + timedelta(days=730)
    _fill_new_decision(page, new_decision, review_on)
    page.click("button:has-text('Save')")
    page.wait_for_selector("#supersedes")
    new = LocalApproval.objects.get(superseded_on__isnull=True)
    # (The browser keeps the error link's #fragment across the redirect: the path is what counts.)
    assert page.url.split("#")[0] == f"{live_server.url}/governance/approvals/{new.pk}/"
    assert (
        f"New approval recorded: it supersedes the decision of {first_decision:%d %B %Y}, and 2 "
        "credentialed operators were carried over to it."
    ) in page.inner_text(".nhsuk-main-wrapper")
    operators = page.inner_text("#operators")
    for name, training in (
        ("Amara", "Vertebroplasty, 60 cases; RF ablation course"),
        ("Rhys", "Vertebroplasty, 25 supervised cases"),
    ):
        line = next(line for line in operators.splitlines() if line.startswith(name))
        assert training in line and "carried over from the superseded approval" in line
    assert REASON in page.inner_text("#supersedes")
    assert page.is_visible("text=Record a new decision (supersede)")  # the one in force now
    page.screenshot(path=str(artifacts / "approval-superseded.png"), full_page=True)

    # The governance page: the old decision superseded on the new one's date, the new in force.
    page.click(".nhsuk-header__navigation-link:has-text('Governance')")
    rows = page.locator("#approvals tbody tr")
    assert rows.count() == 2
    by_date = {
        row.locator("td").nth(1).inner_text(): row.locator("td").nth(4).inner_text()
        for row in rows.all()
    }
    old_row = next(s for d, s in by_date.items() if _short(first_decision) in d)
    new_row = next(s for d, s in by_date.items() if _short(new_decision) in d)
    assert old_row == f"Superseded on {_short(new_decision)}"
    assert new_row == f"Due {_short(review_on)}"

    # The old decision's own page says so, and offers nothing more to supersede or withdraw.
    page.goto(f"{live_server.url}/governance/approvals/{old.pk}/")
    superseded = page.inner_text("#superseded")
    assert f"On {_in_words(new_decision)}" in superseded and REASON in superseded
    assert page.locator("text=Record a new decision (supersede)").count() == 0
    assert page.locator("text=Withdraw this approval").count() == 0

    old.refresh_from_db()
    assert (old.superseded_on, old.supersession_reason) == (new_decision, REASON)
    assert new.supersedes == old and new.decision_date == new_decision
    carried = {c.user.username: c.carried_over_from for c in new.operators.select_related("user")}
    assert carried == credentials
