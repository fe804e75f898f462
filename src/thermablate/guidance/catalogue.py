"""The shipped catalogue of the NICE documents behind Thermablate's procedures.

``data/catalogue.json`` was generated with the parser from the source documents (../shared/seeds)
and reviewed by hand. Each entry keeps its source document (file, title, guidance id, date), the
fields filled by hand with the reason (``hand_filled``) and what the document does not state
(``not_stated``), so a reader can tell read facts from reviewed additions.
"""

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from thermablate.guidance.record import GuidanceRecord


@dataclass(frozen=True)
class CatalogueEntry:
    key: str
    record: GuidanceRecord
    source_document: dict[str, Any]
    hand_filled: dict[str, str]
    not_stated: tuple[str, ...]


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
        )
        for entry in data["entries"]
    ]


def catalogue_entry(key: str) -> CatalogueEntry:
    """The entry for a guidance id or project key ("HTG670", "ID1783"); KeyError if absent."""
    for entry in load_catalogue():
        if entry.key == key:
            return entry
    raise KeyError(key)
