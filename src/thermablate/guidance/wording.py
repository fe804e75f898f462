"""NICE's words for the keys the catalogue stores, so every page says what NICE says.

The parser and the catalogue keep short keys ("in_development", "ipac_1", "ipg81_published",
"dates.published"); people read the words NICE prints for them. This is the one mapping from key
to words. The words are taken from the source documents (``../shared/seeds``, README there):

- seed 001 (a topic page "in development"): "Status In progress", "Process IP", its "Provisional
  Schedule" ("IPAC 1", "Interventional procedure consultation", "IPAC 2", "Expected
  publication") and "The Interventional Procedures Advisory Committee (IPAC) will consider this
  procedure ... for 4 weeks' public consultation";
- seed 002 (HealthTech guidance HTG670): "Published: 5 April 2023", "Update information / Minor
  changes since publication";
- seed 003 (IPG319): "Interventional Procedures Guidance no. 81, August 2004";
- seed 004 (a consultation document): "Interventional procedures consultation document", "draft
  guidance", "Closing date for comments", "Target date for publication of guidance", "resolution
  process".

A key with no words here is shown by ``readable`` (words split, first capitalised, NICE's
abbreviations in capitals), and ``tests/guidance/test_guidance_wording.py`` lists every key of
the shipped catalogue and the seeds that has no words, so none slips through unseen.
"""

import re

from thermablate.guidance.ids import GUIDANCE_ID_PATTERN

#: What a document is (record.KINDS).
KIND_WORDS: dict[str, str] = {
    "final": "Published guidance",  # seed 000: "has issued full guidance"; seed 002 "Published:"
    "consultation": "Consultation document (draft guidance)",  # seed 004
    "in_development": "In development",  # NICE heads its topic pages "In development" (seed 001)
    "replaced_notice": "Updated and replaced",  # NICE: "has been updated and replaced by"
    "coding": "Clinical classification codes",  # seed 000: "... clinical classification codes"
    "other": "Not NICE guidance",
}

#: NICE's programmes (ids.PREFIXES), as NICE names them on its guidance pages.
PROGRAMME_WORDS: dict[str, str] = {
    "interventional_procedures": "Interventional procedures guidance",  # seeds 003, 004
    "healthtech": "HealthTech guidance",  # seed 002
    "technology_appraisal": "Technology appraisal guidance",
    "highly_specialised_technologies": "Highly specialised technologies guidance",
    "medical_technologies": "Medical technologies guidance",
    "diagnostics": "Diagnostics guidance",
    "guideline": "NICE guideline",
    "quality_standard": "Quality standard",
}

#: The "Process" field of a topic page (seed 001: "Process IP").
PROCESS_WORDS: dict[str, str] = {
    "IP": "Interventional procedures (IP)",
}

#: The arrangements NICE recommends (record.RECOMMENDATIONS), in the short form for lists; the
#: full wording is models.RECOMMENDATION_LABELS. NICE's recommendation types: "standard
#: arrangements", "special arrangements", "only in research", "do not use" (seeds 002, 004).
RECOMMENDATION_WORDS: dict[str, str] = {
    "standard": "Standard arrangements",
    "special": "Special arrangements",
    "research_only": "Only in research",
    "do_not_use": "Do not use",
}

#: Dated events (the keys of record.dates and of the NICE process in process.STAGE_KEYS).
EVENT_WORDS: dict[str, str] = {
    "notification": "NICE notified of the procedure",  # seed 001: "NICE has been notified"
    "ipac_1": "First Interventional Procedures Advisory Committee meeting (IPAC 1)",  # seed 001
    "consultation_start": "Interventional procedure consultation opens (4 weeks)",  # seed 001
    "consultation_end": "Closing date for comments",  # seed 004
    "ipac_2": "Second Interventional Procedures Advisory Committee meeting (IPAC 2)",  # seed 001
    "resolution": "Resolution process",  # seed 004: "a resolution process"
    "expected_publication": "Expected publication",  # seed 001; seed 004 says "Target date"
    "published": "Published",  # seed 002: "Published: 5 April 2023"
    "issued": "Issued",  # seed 004: the committee chair's dated signature ("October 2022")
    "update": "Minor changes since publication",  # seed 002: "Update information"
    "last_updated": "Page last updated",  # NICE pages: "This page was last updated"
}

#: The fields a document of its kind should state (parser.EXPECTED_FIELDS), named as a reader
#: would: they appear in "Not stated in the document: ...".
FIELD_WORDS: dict[str, str] = {
    "guidance_id": "guidance number",
    "project_id": "ID number",  # seed 001: "ID number 1783"
    "kind": "what the document is",
    "title": "title",
    "status": "status",
    "recommendation": "recommendation",
    "conditions": "conditions",
    "replaces": "the guidance it replaces",
    "replaced_by": "the guidance that replaces it",
    "scope": "the procedures it covers",  # catalogue.SCOPE: a cited fact's "3 The procedure"
    "opcs_codes": "OPCS-4 codes",
    "dates.published": "publication date",
    "dates.consultation_end": "closing date for comments",  # seed 004
    "dates.expected_publication": "expected publication date",  # seed 001
}

VOCABULARIES: dict[str, dict[str, str]] = {
    "kind": KIND_WORDS,
    "programme": PROGRAMME_WORDS,
    "process": PROCESS_WORDS,
    "recommendation": RECOMMENDATION_WORDS,
    "event": EVENT_WORDS,
    "field": FIELD_WORDS,
}

# Abbreviations NICE writes in capitals.
_ACRONYMS = {"ipac", "ip", "id", "nice", "opcs", "gid", "nhs", "mdt", "tbc"}
_ORDINALS = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", 5: "Fifth"}
# The events.py names for families of events: "ipg81_published" (the date of guidance being
# replaced, seed 003), "ipac_3" (a further committee meeting), "published_2" (a second, different
# date stated for the same event).
_REPLACED_PUBLISHED = re.compile(r"^([a-z]+\d+)_published$")
_IPAC = re.compile(r"^ipac_(\d)$")
_REPEATED = re.compile(r"^(.+)_(\d+)$")


def _ordinal(number: int) -> str:
    return _ORDINALS.get(number, f"{number}th")


def _word(token: str) -> list[str]:
    if GUIDANCE_ID_PATTERN.match(token.upper()):
        return [token.upper()]  # "ipg81" -> "IPG81", kept whole
    if token.lower() in _ACRONYMS:
        return [token.upper()]
    # "ipac1" -> "IPAC 1": letters and digits are separate words.
    return [
        part.upper() if part.lower() in _ACRONYMS else part
        for part in re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]+", token)
    ]


def readable(key: str) -> str:
    """Words for a key with no mapping: "draft_scope_consultation" -> "Draft scope consultation",
    "ipac1" -> "IPAC 1", "ipg81_note" -> "IPG81 note"."""
    tokens = [t for t in re.split(r"[_.\s-]+", key.strip()) if t]
    words = [word for token in tokens for word in _word(token)]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else ""


def _event_family(key: str) -> str | None:
    replaced = _REPLACED_PUBLISHED.match(key)
    if replaced and GUIDANCE_ID_PATTERN.match(replaced.group(1).upper()):
        return f"{replaced.group(1).upper()} published"
    ipac = _IPAC.match(key)
    if ipac:
        number = int(ipac.group(1))
        return (
            f"{_ordinal(number)} Interventional Procedures Advisory Committee meeting "
            f"(IPAC {number})"
        )
    repeated = _REPEATED.match(key)
    if repeated and int(repeated.group(2)) >= 2:
        base = EVENT_WORDS.get(repeated.group(1))
        if base:
            return f"{base} ({_ordinal(int(repeated.group(2))).lower()} date stated)"
    return None


def _lookup(vocabulary: str, key: str) -> str | None:
    words = VOCABULARIES[vocabulary].get(key)
    if words is None and vocabulary == "event":
        words = _event_family(key)
    return words


def has_words(vocabulary: str, key: str) -> bool:
    """Whether ``key`` has NICE's words in ``vocabulary`` (one of VOCABULARIES)."""
    return _lookup(vocabulary, key) is not None


def words_for(vocabulary: str, key: str | None) -> str:
    """NICE's words for ``key``, or the key made readable when it has none ("" for no key)."""
    if not key:
        return ""
    return _lookup(vocabulary, key) or readable(key)


def document_label(kind: str, programme: str | None) -> str:
    """What a reader calls the document: "HealthTech guidance", "In development", ..."""
    if kind == "final" and programme:
        return words_for("programme", programme)
    if kind == "consultation" and programme == "interventional_procedures":
        return "Interventional procedures consultation document"  # seed 004's heading
    return words_for("kind", kind)
