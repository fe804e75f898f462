"""The shipped catalogue of the NICE documents behind Thermablate's procedures.

``data/catalogue.json`` was generated with the parser from the source documents (../shared/seeds)
and reviewed by hand. Each entry keeps its source document (file, title, guidance id, date), the
fields filled by hand with the reason (``hand_filled``) and what the document does not state
(``not_stated``), so a reader can tell read facts from reviewed additions.

Where a source document does not state its recommendation (the old-style IPG53 and IPG319 pages),
the entry may carry ``published_recommendation``: the recommendation of NICE's published guidance,
with its address, its date, what was checked and whether it was confirmed. It is kept apart from
the record, which says only what the document says, and pages show it as a cited fact.

An entry whose document is not a stored file (IPG544, which replaced IPG319: no seed holds it) is
read from NICE's own pages instead, and carries ``cited_facts``: NICE's words, quoted as read,
each with the page's address and the record fields it states. Its record is what the parser reads
from those words, plus the fields ``hand_filled`` names with their reason, so a test can read the
quotes again and compare.
"""

import json
import re
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from thermablate.guidance.links import nice_address
from thermablate.guidance.record import RECOMMENDATIONS, GuidanceRecord


@dataclass(frozen=True)
class PublishedRecommendation:
    """A recommendation taken from NICE's published guidance, not from the stored document."""

    recommendation: str
    guidance_id: str
    guidance_date: str  # "2004", "2004-03" or "2004-03-24": as precise as the source is
    address: str  # the NICE page of the guidance
    says: str  # what NICE recommends, in brief
    confirmed: bool  # False until the wording has been read on NICE's page of this guidance
    checked: str  # what was checked, and where

    def __post_init__(self) -> None:
        if self.recommendation not in RECOMMENDATIONS:
            raise ValueError(f"unknown recommendation {self.recommendation!r}")
        if nice_address(self.address) is None:
            raise ValueError(f"{self.address!r} is not an https://www.nice.org.uk/ address")
        if not re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", self.guidance_date):
            raise ValueError(f"{self.guidance_date!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        if not isinstance(self.confirmed, bool) or not self.says or not self.checked:
            raise ValueError("a published recommendation states what it says and what was checked")


#: What a cited fact may state besides a record field: the procedures the guidance covers (its
#: "The procedure" section), which ``procedure_guidance.json`` relies on.
SCOPE = "scope"
#: The hosts NICE serves its pages from. Only www.nice.org.uk addresses become links (links.py);
#: an address read on nice.org.uk is kept as read and shown as text.
NICE_HOSTS = frozenset({"www.nice.org.uk", "nice.org.uk"})


@dataclass(frozen=True)
class CitedFact:
    """NICE's own words for facts of an entry, quoted as read on one of NICE's pages."""

    supports: tuple[str, ...]  # the record fields it states ("recommendation", "dates.published")
    quote: str  # verbatim; "[…]" marks words left out
    address: str  # the NICE page the words were read on
    page: str  # that page's heading, as NICE gives it ("1 Recommendations")
    where: str = ""  # where on the page: a section number ("1.1") or a label ("Date issued")

    def __post_init__(self) -> None:
        object.__setattr__(self, "supports", tuple(self.supports))
        known = {item.name for item in fields(GuidanceRecord)} | {SCOPE}
        unknown = [
            name
            for name in self.supports
            if name not in known and not re.fullmatch(r"dates\.[a-z0-9_]+", name)
        ]
        if not self.supports or unknown:
            raise ValueError(f"a cited fact states record fields, not {unknown or 'nothing'}")
        if not self.quote.strip() or not self.page.strip():
            raise ValueError("a cited fact quotes NICE's words and names the page")
        try:
            parts = urlsplit(self.address)
        except ValueError:
            parts = None
        if parts is None or parts.scheme != "https" or parts.netloc.lower() not in NICE_HOSTS:
            raise ValueError(f"{self.address!r} is not an address on NICE's site")


@dataclass(frozen=True)
class CatalogueEntry:
    key: str
    record: GuidanceRecord
    source_document: dict[str, Any]
    hand_filled: dict[str, str]
    not_stated: tuple[str, ...]
    published_recommendation: PublishedRecommendation | None = None
    cited_facts: tuple[CitedFact, ...] = ()

    def facts_supporting(self, name: str) -> tuple[CitedFact, ...]:
        """The cited facts that state ``name`` (a record field, or ``SCOPE``)."""
        return tuple(fact for fact in self.cited_facts if name in fact.supports)


def load_catalogue() -> list[CatalogueEntry]:
    """Every catalogue entry, in file order."""
    raw = (
        resources.files("thermablate.guidance")
        .joinpath("data/catalogue.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(raw)
    return [
        CatalogueEntry(
            key=entry["key"],
            record=GuidanceRecord.from_dict(entry["record"]),
            source_document=entry["source_document"],
            hand_filled=dict(entry.get("hand_filled", {})),
            not_stated=tuple(entry.get("not_stated", ())),
            published_recommendation=(
                PublishedRecommendation(**entry["published_recommendation"])
                if entry.get("published_recommendation")
                else None
            ),
            cited_facts=tuple(CitedFact(**fact) for fact in entry.get("cited_facts", ())),
        )
        for entry in data["entries"]
    ]


@cache
def published_recommendations() -> dict[str, PublishedRecommendation]:
    """The cited recommendations of the shipped entries whose document does not state one, by
    key (the shipped file does not change while the application runs)."""
    return {
        entry.key: entry.published_recommendation
        for entry in load_catalogue()
        if entry.published_recommendation is not None
    }


@cache
def cited_facts() -> dict[str, tuple[CitedFact, ...]]:
    """NICE's quoted words for the shipped entries read from NICE's pages, by key."""
    return {entry.key: entry.cited_facts for entry in load_catalogue() if entry.cited_facts}


def catalogue_entry(key: str) -> CatalogueEntry:
    """The entry for a guidance id or project key ("HTG670", "ID1783"); KeyError if absent."""
    for entry in load_catalogue():
        if entry.key == key:
            return entry
    raise KeyError(key)
