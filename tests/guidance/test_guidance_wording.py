"""Every key the catalogue and the source documents produce has NICE's words (wording.py)."""

from pathlib import Path

import pytest

from thermablate.guidance.catalogue import PublishedRecommendation, load_catalogue
from thermablate.guidance.dates import date_in_words
from thermablate.guidance.ids import PREFIXES
from thermablate.guidance.links import nice_address
from thermablate.guidance.parser import EXPECTED_FIELDS, parse
from thermablate.guidance.process import STAGE_KEYS
from thermablate.guidance.record import KINDS, RECOMMENDATIONS, GuidanceRecord
from thermablate.guidance.wording import has_words, readable, words_for

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def keys_of(record: GuidanceRecord) -> set[tuple[str, str]]:
    """(vocabulary, key) for every stored key a page shows of this record."""
    keys = {("kind", record.kind)}
    keys |= {("programme", record.programme)} if record.programme else set()
    keys |= {("process", record.process)} if record.process else set()
    keys |= {("recommendation", record.recommendation)} if record.recommendation else set()
    keys |= {("event", name) for name in record.dates}
    keys |= {("field", name) for name in record.unparsed}
    return keys


def without_words(keys: set[tuple[str, str]]) -> list[str]:
    return sorted(
        f"{vocabulary}:{key}" for vocabulary, key in keys if not has_words(vocabulary, key)
    )


def test_every_key_in_the_shipped_catalogue_has_words():
    keys = set().union(*(keys_of(entry.record) for entry in load_catalogue()))
    assert ("event", "ipg81_published") in keys and ("kind", "in_development") in keys
    assert without_words(keys) == []


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
def test_every_key_the_parser_reads_from_the_five_seeds_has_words():
    records = [parse(path.read_text(encoding="utf-8")) for path in sorted(SEEDS.glob("0*.txt"))]
    assert len(records) == 5
    keys = set().union(*(keys_of(record) for record in records))
    # The seeds give dates such as IPAC 1, the closing date and the replaced IPG81's date, and
    # leave fields unstated (seed 000 states no recommendation).
    assert {("event", "ipac_1"), ("event", "issued"), ("field", "dates.published")} <= keys
    assert without_words(keys) == []


def test_every_vocabulary_the_record_defines_has_words():
    keys = {("kind", kind) for kind in KINDS}
    keys |= {("recommendation", r) for r in RECOMMENDATIONS}
    keys |= {("programme", programme) for programme in PREFIXES.values()}
    keys |= {("event", stage) for stage in STAGE_KEYS}
    keys |= {("field", name) for names in EXPECTED_FIELDS.values() for name in names}
    assert without_words(keys) == []


@pytest.mark.parametrize(
    ("vocabulary", "key", "words"),
    [
        ("kind", "in_development", "In development"),
        ("event", "ipg81_published", "IPG81 published"),
        ("event", "ipac_1", "First Interventional Procedures Advisory Committee meeting (IPAC 1)"),
        ("event", "ipac_3", "Third Interventional Procedures Advisory Committee meeting (IPAC 3)"),
        ("event", "published_2", "Published (second date stated)"),
        ("event", "consultation_end", "Closing date for comments"),
        ("process", "IP", "Interventional procedures (IP)"),
        ("field", "dates.published", "publication date"),
        ("programme", "healthtech", "HealthTech guidance"),
    ],
)
def test_keys_read_as_nice_writes_them(vocabulary, key, words):
    assert words_for(vocabulary, key) == words


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("draft_scope_consultation_start", "Draft scope consultation start"),
        ("ipac1", "IPAC 1"),
        ("ipg81_note", "IPG81 note"),
        ("key_events", "Key events"),
    ],
)
def test_a_key_without_words_is_shown_readably(key, words):
    assert not has_words("event", key)
    assert readable(key) == words == words_for("event", key)


@pytest.mark.parametrize(
    ("stored", "words"),
    [
        ("2022-09-08", "8 September 2022"),
        ("2023-04", "April 2023"),
        ("2004", "2004"),
        ("TBC", "TBC"),  # not a date: shown as stored rather than hidden
        ("2023-13", "2023-13"),
    ],
)
def test_dates_are_written_as_nice_writes_them(stored, words):
    assert date_in_words(stored) == words


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "http://www.nice.org.uk/guidance/ipg53",
        "https://nice.org.uk.example.com/guidance/ipg53",
        "https://www.nice.org.uk.example.com/guidance/ipg53",
        "https://user@www.nice.org.uk/guidance/ipg53",
        "https://www.nice.org.uk:8443/guidance/ipg53",
        "https://www.nice.org.uk\\@example.com/",
        "https://www.nice.org.uk/guidance/ipg53\njavascript:alert(1)",
        "https://www.nice.org.uk",
        "003_2421075459eb7e4d.txt",
        "",
    ],
)
def test_only_addresses_on_nices_site_may_be_links(address):
    assert nice_address(address) is None


def test_a_nice_address_may_be_a_link():
    assert nice_address("https://www.nice.org.uk/guidance/htg670") == (
        "https://www.nice.org.uk/guidance/htg670"
    )


def test_every_published_guidance_has_its_recommendation_stated_or_cited():
    for entry in load_catalogue():
        if entry.record.kind != "final":
            continue
        cited = entry.published_recommendation
        assert entry.record.recommendation or cited, f"{entry.key} has no recommendation"
        if cited is not None:
            # A cited fact fills only what the document is silent on, and names its source.
            assert entry.record.recommendation is None and "recommendation" in entry.not_stated
            assert cited.guidance_id == entry.key
            assert nice_address(cited.address) and cited.guidance_date and cited.checked


def test_the_cited_recommendations_of_ipg53_and_ipg319():
    cited = {e.key: e.published_recommendation for e in load_catalogue()}
    assert (cited["IPG53"].recommendation, cited["IPG53"].guidance_date) == ("standard", "2004")
    assert (cited["IPG319"].recommendation, cited["IPG319"].guidance_date) == ("special", "2009")
    # Neither wording could be read on NICE's page of the guidance itself (see `checked`).
    assert not cited["IPG53"].confirmed and not cited["IPG319"].confirmed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"address": "javascript:alert(1)"}, "not an https://www.nice.org.uk/ address"),
        ({"recommendation": "normal"}, "unknown recommendation"),
        ({"guidance_date": "March 2004"}, "is not a date"),
        ({"checked": ""}, "what was checked"),
    ],
)
def test_a_malformed_cited_recommendation_is_refused(change, message):
    fields = {
        "recommendation": "standard",
        "guidance_id": "IPG53",
        "guidance_date": "2004",
        "address": "https://www.nice.org.uk/guidance/ipg53",
        "says": "normal arrangements",
        "confirmed": False,
        "checked": "the consultation document",
    }
    with pytest.raises(ValueError, match=message):
        PublishedRecommendation(**{**fields, **change})
