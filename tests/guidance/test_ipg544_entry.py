"""IPG544 is a catalogue entry of its own (issue 12, items 5 and 10).

NICE's IPG544 (January 2016) replaced IPG319 and covers intradiscal electrothermal therapy
(IDET), so it is the guidance in force for the procedure. No seed holds it: its entry is read
from NICE's own pages, each fact quoted with the page's address. The failures these reproduce:
IPG319's page said "IPG544 (not in the catalogue)", an approval of IDET could not cite IPG544,
IDET was governed by the replaced IPG319 (so the demo approved it under standard arrangements
while NICE asks for special ones), and the review flag of an IPG319 approval did not say what
IPG544 recommends."""

from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import login
from tests.guidance.test_guidance_pages_in_words import visible_text
from tests.registry.test_approvals import approval_post, approve
from thermablate.guidance.catalogue import SCOPE, CitedFact, catalogue_entry
from thermablate.guidance.governance import guidance_key_for, successor_of
from thermablate.guidance.models import Guidance
from thermablate.guidance.parser import parse
from thermablate.guidance.record import GuidanceRecord
from thermablate.registry import actions, demo
from thermablate.registry.approvals import review_flags
from thermablate.registry.models import LocalApproval

TITLE = (
    "Percutaneous electrothermal treatment of the intervertebral disc annulus for low back pain "
    "and sciatica"
)
RECOMMENDATIONS_PAGE = "https://www.nice.org.uk/guidance/ipg544/chapter/1-Recommendations"
PROCEDURE_PAGE = "https://www.nice.org.uk/guidance/ipg544/chapter/3-The-procedure"
# NICE's words in its section 1.1, as read on the recommendations page.
SPECIAL_ARRANGEMENTS = (
    "Therefore, this procedure should only be used with special arrangements for clinical "
    "governance, consent and audit or research."
)
# Bookkeeping fields, not facts about the guidance (as in test_guidance_catalogue.py).
BOOKKEEPING = {"source", "unparsed", "notes"}


def test_ipg544_is_an_entry_with_its_reference_title_date_and_recommendation(db):
    entry = catalogue_entry("IPG544")
    record = entry.record
    assert (record.kind, record.guidance_id, record.programme) == (
        "final",
        "IPG544",
        "interventional_procedures",
    )
    assert record.title == TITLE and entry.source_document["title"] == TITLE
    assert record.dates["published"].isoformat() == "2016-01"
    assert record.recommendation == "special" and record.replaces == ("IPG319",)
    # Published and in force: nothing in the catalogue replaces it.
    assert record.replaced_by == () and successor_of("IPG544") is None
    assert record.source == "https://www.nice.org.uk/guidance/ipg544"
    # No seed holds it, so it does not pretend to a file; a published recommendation of its
    # own words needs no "not confirmed" stand-in.
    assert entry.source_document["file"] is None and entry.published_recommendation is None


def test_its_recommendation_is_cited_in_nices_words_with_the_address_read():
    entry = catalogue_entry("IPG544")
    [cited] = entry.facts_supporting("recommendation")
    assert cited.address == RECOMMENDATIONS_PAGE
    assert (cited.page, cited.where) == ("1 Recommendations", "1.1")
    assert cited.quote.endswith(SPECIAL_ARRANGEMENTS)
    [replaces] = entry.facts_supporting("replaces")
    assert replaces.address == RECOMMENDATIONS_PAGE
    assert replaces.quote == (
        "This replaces previous guidance on percutaneous intradiscal electrothermal therapy for "
        "low back pain (NICE interventional procedure guidance 319)."
    )
    [scope] = entry.facts_supporting(SCOPE)
    assert (scope.address, scope.where) == (PROCEDURE_PAGE, "3.1")
    assert "Intradiscal Electrothermal Therapy (IDET)" in scope.quote
    # Every fact the record holds beyond what the quoted words say is cited too.
    for name in entry.hand_filled:
        if name in BOOKKEEPING or name == "guidance_id":
            continue
        supported = {n.split(".")[0] for fact in entry.cited_facts for n in fact.supports}
        assert name in supported, f"IPG544.{name} is filled without NICE's words"


def test_the_record_is_what_the_parser_reads_from_the_quoted_words():
    # Each page's quotes under the page's heading, as NICE prints them, read again.
    entry = catalogue_entry("IPG544")
    shipped = entry.record.to_dict()
    read = parse(
        "1 Recommendations\n\n"
        + "\n\n".join(f.quote for f in entry.cited_facts if f.address == RECOMMENDATIONS_PAGE)
    ).to_dict()
    assert read["recommendation"] == "special" and read["replaces"] == ["IPG319"]
    assert (
        read["conditions"]
        == shipped["conditions"]
        == [
            "inform_governance_leads",
            "written_information",
            "understand_uncertainties",
            "audit",
            "research_encouraged",
        ]
    )
    differing = {
        name for name in shipped if name not in BOOKKEEPING and shipped[name] != read[name]
    }
    # Only what the quoted words do not print is filled by hand, each with its reason.
    assert differing == {"guidance_id", "title", "dates"} <= set(entry.hand_filled)
    for name in differing:
        assert read[name] in (None, [], {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"supports": ("opinion",)}, "states record fields"),
        ({"supports": ()}, "states record fields"),
        ({"quote": " "}, "quotes NICE's words"),
        ({"address": "https://www.nice.org.uk.example.com/guidance/ipg544"}, "NICE's site"),
        ({"address": "http://www.nice.org.uk/guidance/ipg544"}, "NICE's site"),
    ],
)
def test_a_cited_fact_without_nices_words_or_address_is_refused(change, message):
    fact = {
        "supports": ("recommendation",),
        "quote": SPECIAL_ARRANGEMENTS,
        "address": RECOMMENDATIONS_PAGE,
        "page": "1 Recommendations",
        "where": "1.1",
    }
    with pytest.raises(ValueError, match=message):
        CitedFact(**{**fact, **change})


def test_idet_is_governed_by_ipg544_which_replaced_ipg319():
    assert guidance_key_for("idet") == "IPG544"
    assert successor_of("IPG319") == "IPG544" and successor_of("IPG81") == "IPG319"


# In the database: a fresh one, and one migrated before the entry existed.


def test_the_application_ships_with_ipg544(db):
    ipg544 = Guidance.objects.get(key="IPG544")
    assert (ipg544.kind, ipg544.title, ipg544.recommendation) == ("final", TITLE, "special")
    assert ipg544.record["replaces"] == ["IPG319"]
    assert ipg544.source == "https://www.nice.org.uk/guidance/ipg544"
    assert [v.record["recommendation"] for v in ipg544.versions.all()] == ["special"]


def test_an_existing_database_gets_ipg544_when_migrated_and_keeps_the_rest(db):
    Guidance.objects.filter(key="IPG544").delete()  # a database loaded before the entry
    before = {g.key: (g.version, g.record) for g in Guidance.objects.all()}
    call_command("migrate", verbosity=0)  # what an upgrade runs (docs/deployment.md)
    after = {g.key: (g.version, g.record) for g in Guidance.objects.all()}
    assert after.pop("IPG544")[1]["recommendation"] == "special"
    assert after == before


# The catalogue pages.


def test_the_ipg544_page_shows_its_recommendation_in_nices_words_with_the_address(
    client, clinician
):
    login(client, clinician)
    page = client.get(reverse("guidance_detail", args=["IPG544"])).content.decode()
    recommendation = page.split('id="recommendation"')[1].split("</dd>")[0]
    text = visible_text(recommendation)
    assert "Special arrangements for clinical governance, consent and audit or research" in text
    assert SPECIAL_ARRANGEMENTS in recommendation
    assert (
        f'<a href="{RECOMMENDATIONS_PAGE}" rel="external">1 Recommendations</a>' in recommendation
    )
    assert "section 1.1" in text and "not from the stored document" not in text
    words = visible_text(page.split('id="nices-words"')[1].split("</dl>")[0])
    assert "The guidance it replaces" in words and "guidance 319" in words
    assert "The procedures it covers" in words and "(IDET)" in words
    assert "Published January 2016" in visible_text(page)
    chain = page.split('id="chain"')[1].split("</ol>")[0]
    assert chain.index("IPG81") < chain.index("IPG319") < chain.index("IPG544")
    assert '<a href="/guidance/IPG319/">IPG319</a>' in chain


def test_a_later_version_is_not_shown_with_the_words_of_the_shipped_one(client, clinician):
    # Were NICE to change IPG544 and a site import it, the quote of 1.1 would no longer hold.
    changed = {**catalogue_entry("IPG544").record.to_dict(), "recommendation": "standard"}
    actions.import_record(GuidanceRecord.from_dict(changed), key="IPG544")
    login(client, clinician)
    page = client.get(reverse("guidance_detail", args=["IPG544"])).content.decode()
    recommendation = visible_text(page.split('id="recommendation"')[1].split("</dd>")[0])
    assert "Standard arrangements for clinical governance, consent and audit" in recommendation
    assert "In NICE's words" not in recommendation
    assert SPECIAL_ARRANGEMENTS not in page
    # What still holds is still quoted: it replaces IPG319.
    assert "guidance 319" in page.split('id="nices-words"')[1]


def test_ipg319_shows_it_is_replaced_by_the_ipg544_entry_with_a_link(client, analyst):
    login(client, analyst)
    page = client.get(reverse("guidance_detail", args=["IPG319"])).content.decode()
    chain = page.split('id="chain"')[1].split("</ol>")[0]
    assert f'<a href="{reverse("guidance_detail", args=["IPG544"])}">IPG544</a> {TITLE}' in chain
    assert "IPG544 (not in the catalogue)" not in page
    listing = client.get(reverse("guidance_catalogue")).content.decode()
    row = next(r for r in listing.split("<tr")[1:] if ">IPG319</a>" in r)
    assert 'Replaced by <a href="/guidance/IPG544/">IPG544</a>' in row
    found = client.get(reverse("guidance_catalogue"), {"q": "annulus"}).content.decode()
    assert ">IPG544</a>" in found and ">IPG319</a>" not in found


# Local approvals of IDET (registry.approvals) against the entry.


def test_an_approval_of_idet_citing_ipg544_is_accepted_through_the_page(
    client, governance, clinician
):
    login(client, governance)
    post = approval_post(
        clinician,
        procedure_type="idet",
        guidance=Guidance.objects.get(key="IPG544").pk,
        decision="approved_special",
        governance_leads_informed="on",
    )
    response = client.post(reverse("approval_create"), post)
    approval = LocalApproval.objects.get()
    assert response.status_code == 302
    assert (approval.guidance.key, approval.guidance_recommendation) == ("IPG544", "special")
    assert review_flags(approval, today=date(2026, 1, 1)) == []


def test_an_approval_of_idet_citing_htg670_is_refused_and_names_ipg544(
    client, governance, clinician
):
    login(client, governance)
    post = approval_post(clinician, procedure_type="idet")  # HTG670
    page = client.post(reverse("approval_create"), post).content.decode()
    assert (
        "HTG670 does not cover percutaneous intradiscal electrothermal therapy: cite IPG544" in page
    )
    assert not LocalApproval.objects.exists()


def test_an_approval_citing_ipg319_is_flagged_for_review_naming_ipg544(
    client, site_a, governance, clinician
):
    approval = approve(site_a, governance, clinician, procedure_type="idet", key="IPG319")
    flags = {f.code: f.message for f in review_flags(approval, today=date(2026, 1, 1))}
    assert list(flags) == ["replaced"]
    assert flags["replaced"] == (
        "NICE replaced IPG319 with IPG544, its guidance for the procedure now (special "
        "arrangements for clinical governance, consent and audit or research): review the "
        "approval against IPG544 (nice.org.uk/guidance/ipg544)."
    )
    login(client, governance)
    for url in (reverse("approval_detail", args=[approval.pk]), reverse("governance")):
        assert "NICE replaced IPG319 with IPG544" in client.get(url).content.decode()


def test_the_demo_approves_idet_under_special_arrangements_citing_ipg544(db):
    demo.create_demo_users()
    demo.create_demo_approvals()
    for approval in LocalApproval.objects.filter(procedure_type="idet"):
        assert approval.guidance.key == "IPG544"
        assert approval.decision == "approved_special" and approval.governance_leads_informed
        assert "replaced" not in {f.code for f in review_flags(approval)}
