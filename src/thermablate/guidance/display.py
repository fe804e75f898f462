"""What the catalogue pages show of a stored guidance record: NICE's words, never a stored key.

Every label comes from wording.py, every date is written as NICE writes it, a source becomes a link
only when it is an address on NICE's site, and a recommendation the document does not state is
shown from the shipped catalogue's cited fact, marked as such.
"""

from dataclasses import dataclass
from typing import Any

from thermablate.clinical import opcs
from thermablate.guidance.catalogue import PublishedRecommendation, published_recommendations
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
class ShownRecommendation:
    key: str  # "standard", ... (for the colour of its tag)
    short: str  # "Standard arrangements"
    full: str  # NICE's full wording of the arrangements
    #: Set when the recommendation is NICE's published one, not the stored document's.
    published: PublishedRecommendation | None = None

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
    )


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
