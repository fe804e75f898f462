"""NICE page shapes beyond the seeds, reproduced in short paraphrased fixtures.

Each fixture copies a real structure (headings, field labels, date formats) checked against
public NICE pages: old-style IPG pages with "OPCS4.6 Code(s)" (IPG319, IPG365, IPG366),
chapter pages "1 Recommendations" with "Interventional procedures guidance [IPGn] Published:",
HealthTech guidance PDFs with page furniture and "migrated to HealthTech guidance" notes,
in-development pages with "Provisional Schedule" and "Key events" (gid-ipg10336, gid-ng10078,
gid-ng10085), the mirrored label-colon-newline layout (gid-ng10445), coding pages (IPG337),
replaced notices (IPG346) and 2003-era pages ("Interventional procedures IPG12 / Issued:").
"""

from pathlib import Path

import pytest

from thermablate.guidance.parser import parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read(name: str, source: str | None = None):
    return parse((FIXTURES / name).read_text(encoding="utf-8"), source=source or name)


def test_it_reads_an_old_style_html_page_with_its_codes():
    record = read("old_style_ipg_page.html")
    assert record.kind == "final"
    assert record.guidance_id == "IPG901"  # from the canonical address and the [IPG901] label
    assert record.title == "Widget distraction for lumbar stenosis"
    assert record.replaces == ("IPG165",)
    assert record.opcs_version == "4.6"
    assert record.opcs_codes == ("V28.1", "V55.-")  # V55.9 in the note is a rule, not a stated code
    assert {k: v.isoformat() for k, v in record.dates.items()} == {
        "published": "2010-11-24",
        "ipg165_published": "2006-03",
    }
    # The script's text and the boilerplate's "special arrangements" must not count.
    assert record.recommendation is None
    assert record.unparsed == ("recommendation",)


def test_it_reads_a_chapter_page_recommending_research_only():
    record = read("chapter_page_research_only.html")
    assert (record.kind, record.guidance_id, record.recommendation) == (
        "final",
        "IPG998",
        "research_only",
    )
    assert record.title == "Gadget ablation for knee pain"
    assert record.dates["published"].isoformat() == "2025-03-12"
    assert record.key_efficacy_outcomes == ("pain relief", "function", "quality of life")
    assert record.key_safety_outcomes == ("skin burns", "infection", "nerve injury")
    assert record.unparsed == ()


def test_it_reads_healthtech_pdf_text_recommending_do_not_use():
    record = read("healthtech_pdf_text.txt")
    assert (record.kind, record.guidance_id, record.programme) == ("final", "HTG801", "healthtech")
    assert record.recommendation == "do_not_use"
    assert record.replaces == ("IPG790",)  # "IPG 790 has been migrated to HealthTech guidance 801"
    assert record.title == "Sprocket therapy for chronic wounds"
    assert {k: v.isoformat() for k, v in record.dates.items()} == {
        "published": "2025-01-10",
        "update": "2026-01",
    }


def test_it_takes_the_migration_target_as_the_id_when_nothing_else_states_it():
    text = (
        (FIXTURES / "healthtech_pdf_text.txt")
        .read_text()
        .replace("www.nice.org.uk/guidance/htg801", "")
    )
    text = text.replace("(HTG801)", "")
    assert parse(text).guidance_id == "HTG801"


def test_it_reads_an_in_development_page_with_key_events_and_a_tbc_schedule():
    record = read("in_development_key_events.txt")
    assert record.kind == "in_development"
    assert (record.project_id, record.status, record.decision, record.process) == (
        "1314",
        "In progress",
        "Selected",
        "IP",
    )
    assert record.technology_type == "Procedure"
    assert {k: v.isoformat() for k, v in record.dates.items()} == {
        "resolution": "2024-04-19",
        "ipac_2": "2024-03-14",
        "consultation_start": "2024-01-03",
        "consultation_end": "2024-01-31",
        "ipac_1": "2023-11-09",
        "awaiting_development": "2023-03-16",
    }
    # "TBC" is stated, so it is a note, not an unread field, and never a made-up date.
    assert "expected_publication: TBC" in record.notes
    assert "dates.expected_publication" not in record.unparsed


def test_it_reads_labels_whose_values_are_on_the_next_line():
    record = read("in_development_colon_labels.txt")
    assert (record.kind, record.status, record.decision) == (
        "in_development",
        "In progress",
        "Prioritised",
    )
    assert record.dates["draft_scope_consultation_start"].isoformat() == "2018-02-19"
    assert record.dates["draft_scope_consultation_end"].isoformat() == "2018-03-19"
    assert record.dates["expected_publication"].isoformat() == "2020-05-07"
    assert record.unparsed == ("project_id", "title")


def test_it_takes_the_project_gid_from_an_in_development_address():
    record = read(
        "in_development_colon_labels.txt",
        source="https://www.nice.org.uk/guidance/indevelopment/gid-ng10085",
    )
    assert record.project_id == "GID-NG10085"
    assert record.guidance_id is None


def test_it_reads_a_coding_page():
    record = read("coding_page.html")
    assert record.kind == "coding"
    assert record.opcs_codes == ("E49.1", "Y53.2", "Y76.4")
    assert record.opcs_titles["Y53.2"] == "Approach to organ under ultrasonic control"
    assert record.title == "Doohickey biopsy"
    assert record.dates["last_updated"].isoformat() == "2009-09-15"


def test_it_refuses_a_malformed_code_and_says_so():
    record = read("malformed_code.txt")
    assert record.opcs_codes == ("V55.-",)
    assert "opcs_codes: malformed code 'V5.22' refused" in record.notes


def test_it_reads_a_replaced_notice():
    record = read("replaced_notice.txt", source="https://www.nice.org.uk/guidance/ipg346")
    assert (record.kind, record.guidance_id, record.replaced_by) == (
        "replaced_notice",
        "IPG346",
        ("IPG508",),
    )
    assert record.unparsed == ()


@pytest.mark.parametrize(
    ("sentence", "replaced_by"),
    [
        ("This guidance has been updated and replaced by NICE guideline CG41.", ("CG41",)),
        ("This guidance has been updated and replaced by NICE guideline NG203.", ("NG203",)),
        ("This guidance has been replaced by HealthTech guidance 670.", ("HTG670",)),
    ],
)
def test_it_reads_replaced_notices_of_other_programmes(sentence, replaced_by):
    record = parse(f"Guidance\n\n{sentence}\n")
    assert (record.kind, record.replaced_by) == ("replaced_notice", replaced_by)


def test_it_reads_normal_arrangements_as_standard_on_a_2003_page():
    record = read("normal_arrangements_old.txt")
    assert (record.kind, record.guidance_id, record.title) == (
        "final",
        "IPG900",
        "Percutaneous widget therapy",
    )
    assert record.recommendation == "standard"
    assert record.conditions == ("mdt_selection", "operator_training")
    assert record.dates["published"].isoformat() == "2003-09"


def test_it_reports_a_document_that_is_not_guidance_as_other_with_what_it_found():
    record = read("not_guidance.txt")
    assert record.kind == "other"
    assert record.guidance_id is None  # "ta12" in a non-NICE address is not a NICE id
    assert record.dates["published"].isoformat() == "2021-06-03"
    assert record.unparsed == ()


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "provided that standard arrangements are in place for clinical governance, consent and audit",
            "standard",
        ),
        (
            "provided that normal arrangements are in place for consent, audit and clinical governance",
            "standard",
        ),
        (
            "should only be used with special arrangements for clinical governance, consent and audit or research",
            "special",
        ),
        ("this procedure should only be used in the context of research", "research_only"),
        ("this procedure should only be done in research", "research_only"),
        (
            "raises serious safety concerns. Therefore, this procedure should not be used",
            "do_not_use",
        ),
    ],
)
def test_it_reads_each_kind_of_recommendation(sentence, expected):
    text = f"Thing therapy\n\nInterventional procedures guidance\nPublished: 1 May 2020\n\n1 Recommendations\n\n1.1 Evidence on thing therapy {sentence}.\n"
    record = parse(text)
    assert (record.kind, record.recommendation) == ("final", expected)
    assert record.title == "Thing therapy"


def test_it_ignores_the_your_responsibility_boilerplate_for_the_recommendation():
    boilerplate = (
        "Your responsibility\n\nThis guidance represents the view of NICE, and specifically any special "
        "arrangements for clinical governance relating to new interventional procedures.\n"
    )
    record = parse(
        "The National Institute (NICE) has issued full guidance to the NHS in England on thing therapy.\n\n"
        + boilerplate
    )
    assert record.recommendation is None


def test_it_reads_a_current_overview_page_ignoring_navigation_and_footer():
    record = read("modern_overview_page.html", source=None)
    assert (record.kind, record.guidance_id, record.title) == (
        "final",
        "IPG777",
        "Whatsit ablation for bone metastases",
    )
    assert record.recommendation == "special"
    assert record.conditions == (
        "operator_training",
        "specialist_setting",
        "inform_governance_leads",
        "written_information",
        "audit",
    )
    # The <style> rule's date and the footer's "replaced by" are not the document's.
    assert {k: v.isoformat() for k, v in record.dates.items()} == {"published": "2023-04-26"}
    assert record.replaced_by == ()


def test_a_date_in_prose_is_not_the_publication_date():
    record = parse(
        "This guidance replaces interventional procedure guidance 447 (published March 2013)."
    )
    assert record.replaces == ("IPG447",)
    assert "published" not in record.dates
    assert record.dates["ipg447_published"].isoformat() == "2013-03"


def test_a_guideline_do_not_offer_is_not_an_ip_arrangement():
    record = parse(
        "NICE guideline [NG99] Published: 1 May 2020\n\n1 Recommendations\n\n1.1 Do not offer widgets.\n"
    )
    assert (record.guidance_id, record.programme, record.recommendation) == (
        "NG99",
        "guideline",
        None,
    )


def test_it_joins_a_title_wrapped_over_lines_in_pdf_text():
    text = (
        "Gizmo ablation as an adjunct to something else for\n"
        "palliation of painful things\n\n"
        "Interventional procedures guidance\nPublished: 26 April 2023\n\nwww.nice.org.uk/guidance/ipg760\n"
    )
    record = parse(text)
    assert (
        record.title
        == "Gizmo ablation as an adjunct to something else for palliation of painful things"
    )
    assert (record.guidance_id, record.dates["published"].isoformat()) == ("IPG760", "2023-04-26")


def test_it_takes_the_project_gid_printed_on_an_in_development_page():
    record = parse(
        "Widget therapy | In development [GID-IPG10283]\nStatus In progress\nProcess IP\n"
    )
    assert (record.kind, record.project_id) == ("in_development", "GID-IPG10283")


def test_incorporated_into_counts_as_replaced_by():
    record = parse("Guidance\n\nThis guidance has been incorporated into NICE guideline NG59.\n")
    assert (record.kind, record.replaced_by) == ("replaced_notice", ("NG59",))
