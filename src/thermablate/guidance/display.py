"""What the catalogue pages show of a stored guidance record: NICE's words, never a stored key.

Every label comes from wording.py, every date is written as NICE writes it, a source becomes a link
only when it is an address on NICE's site, and a recommendation the document does not state is
shown from the shipped catalogue's cited fact, marked as such. An entry read from NICE's pages
(IPG544) shows NICE's words it was read from, each with its page.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from thermablate.clinical import opcs
from thermablate.guidance.catalogue import (
    CitedFact,
    PublishedRecommendation,
    catalogue_entry,
    cited_facts,
    published_recommendations,
)
from thermablate.guidance.dates import date_in_words
from thermablate.guidance.links import nice_address
from thermablate.guidance.models import RECOMMENDATION_LABELS, Guidance
from thermablate.guidance.wording import document_label, words_for


@dataclass(frozen=True)
class Source:
    """A source as shown: a link (``href``) to a NICE page, or plain text (``href`` is None)."""

    text: str
    href: str | None


@dataclass(frozen=True)
class ShownQuote:
    """NICE's words as read on one of its pages: the quote, where on the page, and the page."""

    quote: str
    where: str  # "section 1.1", "Date issued", or ""
    page: Source

    @classmethod
    def of(cls, fact: CitedFact) -> "ShownQuote":
        where = (
            f"section {fact.where}" if re.fullmatch(r"\d+(?:\.\d+)*", fact.where) else fact.where
        )
        # A page on NICE's site is a link named by its heading; any other address stays text.
        address = nice_address(fact.address)
        return cls(fact.quote, where, Source(fact.page if address else fact.address, address))


@dataclass(frozen=True)
class ShownRecommendation:
    key: str  # "standard", ... (for the colour of its tag)
    short: str  # "Standard arrangements"
    full: str  # NICE's full wording of the arrangements
    #: Set when the recommendation is NICE's published one, not the stored document's.
    published: PublishedRecommendation | None = None
    #: NICE's words stating the recommendation, for an entry read from NICE's pages.
    quotes: tuple[ShownQuote, ...] = ()

    @property
    def published_source(self) -> Source | None:
        if self.published is None:
            return None
        return Source(self.published.guidance_id, nice_address(self.published.address))

    @property
    def published_date(self) -> str | None:
        return date_in_words(self.published.guidance_date) if self.published else None


def source_of(guidance: Guidance) -> Source | None:
    """The guidance's source: a link with the document id as its text, or the stored text."""
    if not guidance.source:
        return None
    address = nice_address(guidance.source)
    if address is None:
        return Source(guidance.source, None)
    return Source(guidance.guidance_id or guidance.key, address)


def recommendation_of(guidance: Guidance) -> ShownRecommendation | None:
    """The stored document's recommendation, or else NICE's published one from the catalogue."""
    key = guidance.recommendation
    published = None
    if not key:
        published = published_recommendations().get(guidance.key)
        if published is None:
            return None
        key = published.recommendation
    return ShownRecommendation(
        key=key,
        short=words_for("recommendation", key),
        full=RECOMMENDATION_LABELS.get(key) or words_for("recommendation", key),
        published=published,
        quotes=tuple(ShownQuote.of(f) for f in _quoted(guidance, "recommendation")),
    )


def nices_words(guidance: Guidance) -> list[tuple[str, ShownQuote]]:
    """(what it states, the quote) for the NICE words an entry read from NICE's pages was
    read from, other than its recommendation's (shown with the recommendation)."""
    facts = [f for f in cited_facts().get(guidance.key, ()) if "recommendation" not in f.supports]
    return [
        (", ".join(words_for("field", name) for name in fact.supports), ShownQuote.of(fact))
        for fact in facts
        if all(_still_stated(guidance, name) for name in fact.supports)
    ]


def _quoted(guidance: Guidance, name: str) -> tuple[CitedFact, ...]:
    """The shipped quotes stating ``name`` of this guidance, while the stored record still says
    what they say (a newer version imported later is not shown with the old words)."""
    if not _still_stated(guidance, name):
        return ()
    return tuple(fact for fact in cited_facts()[guidance.key] if name in fact.supports)


@cache
def _shipped_record(key: str) -> dict[str, Any]:
    # The shipped file does not change while the application runs.
    return catalogue_entry(key).record.to_dict()


def _still_stated(guidance: Guidance, name: str) -> bool:
    if guidance.key not in cited_facts():
        return False
    shipped = _shipped_record(guidance.key)
    if name.startswith("dates."):
        when = name.removeprefix("dates.")
        return (guidance.record.get("dates") or {}).get(when) == shipped["dates"].get(when)
    if name not in shipped:
        return True  # the procedures it covers (catalogue.SCOPE): not a stored field
    return guidance.record.get(name) == shipped[name]


def kind_label(guidance: Guidance) -> str:
    return document_label(guidance.kind, guidance.record.get("programme"))


def fields_of(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The labelled fields a topic page states (seed 001: "Status In progress", "Technology type
    Procedure", "Decision Selected", "Process IP", "ID number 1783"), in NICE's order."""
    rows = [
        ("Programme", words_for("programme", record.get("programme"))),
        ("Status", record.get("status") or ""),
        ("Technology type", record.get("technology_type") or ""),
        ("Decision", record.get("decision") or ""),
        ("Process", words_for("process", record.get("process"))),
        ("ID number", record.get("project_id") or ""),
    ]
    return [(label, value) for label, value in rows if value]


def dated_events(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(event in words, date in words) for every date the record holds, earliest first (ISO
    dates sort as text; a month-precision date comes before the days of its month)."""
    dates = sorted((record.get("dates") or {}).items(), key=lambda item: str(item[1]))
    return [(words_for("event", name), date_in_words(str(when))) for name, when in dates]


def unstated_fields(record: dict[str, Any]) -> list[str]:
    return [words_for("field", name) for name in record.get("unparsed") or []]


def code_titles(record: dict[str, Any], table: opcs.CodeTable) -> list[opcs.CodeTitle]:
    """The OPCS-4 codes the document cites, each with its title or marked as needing the
    official release file for it."""
    return opcs.titles_for(record.get("opcs_codes") or [], table, record.get("opcs_titles") or {})
