"""Read the text of a NICE guidance document into a GuidanceRecord.

``parse`` accepts plain text, HTML or text taken from a PDF, and handles the shapes NICE has
published: old-style guidance pages ("NICE has issued full guidance to the NHS ... on X"),
chapter pages and PDFs ("1 Recommendations", "2 The condition, current treatments and
procedure"), HealthTech guidance ("HealthTech guidance / Published: 5 April 2023 /
www.nice.org.uk/guidance/htg670"), consultation documents, in-development topic pages (labelled
fields, "Provisional Schedule", "Key events"), replaced-guidance notices and coding pages.
It never guesses: what a document of its kind should state but does not is listed in
``unparsed``, and a document that is not NICE guidance comes back as kind "other" with whatever
was found.
"""

import re

from thermablate.guidance import coding, events, recommendations, sections
from thermablate.guidance.ids import (
    find_guidance_ids,
    id_from_address,
    programme_of,
    project_gid,
)
from thermablate.guidance.record import GuidanceRecord
from thermablate.guidance.text import PreparedText, prepare

# The fields each kind of document should state; missing ones are reported in ``unparsed``.
EXPECTED_FIELDS: dict[str, tuple[str, ...]] = {
    "final": ("guidance_id", "title", "recommendation", "dates.published"),
    "consultation": ("title", "recommendation", "dates.consultation_end"),
    "in_development": ("project_id", "title", "status", "dates.expected_publication"),
    "replaced_notice": ("replaced_by",),
    "coding": ("opcs_codes",),
    "other": (),
}

_PROGRAMME_LINE = re.compile(
    r"^(?:NICE\s+)?(?:interventional procedures? guidance|healthtech guidance|"
    r"technology appraisal guidance|medical technologies guidance|diagnostics guidance|"
    r"NICE guideline|highly specialised technologies guidance)\b(?:\s*\[[A-Z]+\d+\])?(?:\s*published.*)?$",
    re.I,
)
_PROGRAMME_WORDS = [
    (re.compile(r"\bhealth\s*tech guidance\b", re.I), "healthtech"),
    (
        re.compile(
            r"\binterventional procedures? (?:guidance|consultation document)\b|^process\s+IP$|\bIPAC\b",
            re.I | re.M,
        ),
        "interventional_procedures",
    ),
    (re.compile(r"\btechnology appraisal guidance\b", re.I), "technology_appraisal"),
]
_ISSUED_ON = re.compile(
    r"has (?:now )?issued (?:full )?guidance to the NHS in [^.]*? on (.+?)(?: in [A-Z][a-z]+ \d{4})?\.?$",
    re.I,
)
_TITLE_WITH_ID = re.compile(r"^(.{5,250}?)\s*\(((?:IPG|HTG|TA|NG|CG|MTG|DG|HST)\d{1,4})\)$")
_BRACKET_ID = re.compile(r"\[((?:IPG|HTG|TA|NG|CG|MTG|DG|HST|QS|PH)\d{1,4})\]")
# Current NICE overview pages: "Reference number: IPG759".
_REFERENCE_NUMBER = re.compile(
    r"^reference number\s*:?\s*((?:IPG|HTG|TA|NG|CG|MTG|DG|HST|QS|PH)\d{1,4})$", re.I | re.M
)
_PROGRAMME_AND_ID = re.compile(
    r"^(?:interventional procedures|healthtech|technology appraisals?|medical technologies)\s+((?:IPG|HTG|TA|MTG)\d{1,4})$",
    re.I,
)
_CONSULTATION_HEADING = re.compile(
    r"^(?:NICE\s+)?(?:interventional procedures?|healthtech|draft)\b.*consultation document$|^draft guidance consultation$",
    re.I,
)
_REPLACED_BY = re.compile(
    r"\b(?:has been|was|is|have been) (?:updated and |partially |withdrawn and )?"
    r"(?:replaced by|superseded by|incorporated into)",
    re.I,
)
_REPLACES = re.compile(r"\breplaces\b", re.I)
# "Interventional procedures guidance 759 has been migrated to HealthTech guidance 670": the
# guidance before the phrase is replaced, the one after it is this document.
_MIGRATED = re.compile(r"^(.*?)\bhas been migrated to\b(.*)$", re.I)
_LABEL = re.compile(
    r"^(status|technology type|decision|process|id number|developed as|prioritisation programme)\s*:?\s*(.*)$",
    re.I,
)
_GENERIC_TITLE_PARTS = re.compile(
    r"^(?:overview|guidance|nice|recommendations|\d+\s+recommendations|in development|"
    r"consultation|information for the public|evidence|tools and resources|history|"
    r"clinical classification codes|coding recommendations|project information|project documents|"
    r"key events|timeline)$",
    re.I,
)


def _labelled_fields(lines: list[str]) -> dict[str, str]:
    """ "Status In progress", "Status: In progress" or "Status:" with the value on the next line."""
    found: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _LABEL.match(line)
        if not match:
            continue
        label, value = match.group(1).lower(), match.group(2).strip()
        if not value:
            following = [x for x in lines[index + 1 : index + 3] if x]
            value = following[0] if following else ""
        # A labelled field is short; a sentence that happens to begin "Process ..." is not one.
        if value and len(value) <= 40 and not value.endswith(".") and label not in found:
            found[label] = value
    return found


def _title_block(lines: list[str], *, reverse: bool = False) -> str | None:
    """The short block of lines next to a heading, joined: a title wrapped over lines (PDF text).

    ``lines`` runs away from the heading (reversed when the title is above it). A block longer
    than three lines, or one ending in a full stop, is prose, not a title.
    """
    block: list[str] = []
    for line in lines:
        if not line:
            if block:
                break
            continue
        block.append(line)
        if len(block) > 3:
            return None
    if reverse:
        block.reverse()
    title = " ".join(block)
    if (
        not title
        or len(title) > 250
        or title.endswith(".")
        or title.lower().startswith("your responsibility")
    ):
        return None
    return title


def _title(prepared: PreparedText, lines: list[str]) -> tuple[str | None, str | None]:
    """(title, guidance id stated beside it), trying NICE's page shapes from most to least sure."""
    if prepared.html_h1 and not _GENERIC_TITLE_PARTS.match(prepared.html_h1):
        with_id = _TITLE_WITH_ID.match(prepared.html_h1)
        if with_id:
            return with_id.group(1).strip(), with_id.group(2)
        return prepared.html_h1, None
    for line in lines:
        with_id = _TITLE_WITH_ID.match(line)
        if with_id:
            return with_id.group(1).strip(), with_id.group(2)
        issued = _ISSUED_ON.search(line)
        if issued:
            title = issued.group(1).strip().rstrip(".")
            return title[:1].upper() + title[1:], None
    for index, line in enumerate(lines):
        if _CONSULTATION_HEADING.match(line):
            block = _title_block(lines[index + 1 :])
            if block:
                return block, None
        if _PROGRAMME_LINE.match(line):
            block = _title_block(lines[:index][::-1], reverse=True)
            if block:
                return block, None
    if prepared.html_title:
        parts = [p.strip() for p in re.split(r"\s+[|–-]\s+", prepared.html_title)]
        meaningful = [p for p in parts if p and not _GENERIC_TITLE_PARTS.match(p)]
        if meaningful:
            return meaningful[0], None
    return None, None


def _self_id(
    source: str | None, prepared: PreparedText, lines: list[str], title_id: str | None
) -> str | None:
    """The document's own guidance id, from where NICE states it (never from a mention)."""
    for address in [source or "", *prepared.addresses]:
        found = id_from_address(address)
        if found:
            return found
    if title_id:
        return title_id
    text = "\n".join(lines)
    reference = _REFERENCE_NUMBER.search(text)
    if reference:
        return reference.group(1).upper()
    bracket = _BRACKET_ID.search(text)
    if bracket:
        return bracket.group(1)
    for line in lines:
        programme_and_id = _PROGRAMME_AND_ID.match(line)
        if programme_and_id:
            return programme_and_id.group(1).upper()
        # A printed address on its own line is the document's own (PDF front pages).
        if re.fullmatch(r"(?:https?://)?www\.nice\.org\.uk/guidance/[a-z]+\d+/?", line, re.I):
            return id_from_address(line)
    return None


def _ids_in_lines(lines: list[str], pattern: re.Pattern[str], after_match: bool) -> list[str]:
    ids: list[str] = []
    for line in lines:
        match = pattern.search(line)
        if match:
            scope = line[match.end() :] if after_match else line
            ids.extend(i for i in find_guidance_ids(scope) if i not in ids)
    return ids


def _kind(
    text: str,
    lines: list[str],
    fields: dict[str, str],
    has_codes: bool,
    title: str | None,
    *,
    coding_address: bool = False,
    consultation_address: bool = False,
) -> str:
    lowered = text.lower()
    if _REPLACED_BY.search(text) and len(text) < 1500:
        return "replaced_notice"
    in_development_signs = sum(
        (
            "status" in fields,
            "id number" in fields,
            "provisional schedule" in lowered,
            "key events during the development" in lowered,
            "part of its work programme" in lowered,
            "expected publication" in lowered,
            "technology type" in fields,
            bool(re.search(r"\bin development\b.{0,5}\[gid-", lowered)),
        )
    )
    if in_development_signs >= 2:
        return "in_development"
    if (
        any(_CONSULTATION_HEADING.match(line) for line in lines)
        or re.search(r"^\d*\s*draft recommendations$", text, re.I | re.M)
        or "closing date for comments" in lowered
        or "this is not nice's final guidance" in lowered
        or "only for the purposes of the consultation" in lowered
        or (consultation_address and "draft" in lowered)
    ):
        return "consultation"
    if _REPLACED_BY.search(text):
        return "replaced_notice"
    first_line = next((line for line in lines if line), "")
    if has_codes and (
        coding_address
        or coding.CODING_HEADING.match(first_line)
        or coding.CODING_HEADING.match(title or "")
    ):
        return "coding"  # a coding page, even when its header names the guidance
    final_signs = (
        bool(re.search(r"has (?:now )?issued (?:full )?guidance", text, re.I)),
        any(_PROGRAMME_LINE.match(line) for line in lines),
        sections.recommendations_section(lines) is not None
        and recommendations.recommendation_in(text) is not None,
    )
    if any(final_signs):
        return "final"
    if has_codes:
        return "coding"
    return "other"


def _programme(guidance_id: str | None, text: str) -> str | None:
    if guidance_id:
        return programme_of(guidance_id)
    for pattern, programme in _PROGRAMME_WORDS:
        if pattern.search(text):
            return programme
    return None


def _replacements(
    content: list[str], guidance_id: str | None, kind: str
) -> tuple[str | None, list[str], list[str]]:
    """(own id, ids this document replaces, ids it is replaced by), from the replacement wording."""
    replaced_by = _ids_in_lines(content, _REPLACED_BY, after_match=True)
    migrations = [m for m in map(_MIGRATED.match, content) if m]
    if guidance_id is None and kind != "in_development":
        guidance_id = next(
            (ids[0] for m in migrations if (ids := find_guidance_ids(m.group(2)))), None
        )
    replaces = _ids_in_lines(content, _REPLACES, after_match=False)
    replaces += [i for m in migrations for i in find_guidance_ids(m.group(1))]
    replaces = list(dict.fromkeys(i for i in replaces if i != guidance_id and i not in replaced_by))
    return guidance_id, replaces, replaced_by


def _recommendation(kind: str, programme: str | None, content: list[str]) -> str | None:
    """The arrangements recommended, read from the recommendations chapter when there is one.

    The vocabulary is that of interventional procedures (and the HealthTech guidance that took
    them over); a guideline's "do not offer" is not one of them.
    """
    if kind not in ("final", "consultation", "other"):
        return None
    if programme not in (None, "interventional_procedures", "healthtech"):
        return None
    chapter = sections.recommendations_section(content)
    found = recommendations.recommendation_in("\n".join(chapter)) if chapter is not None else None
    return found or recommendations.recommendation_in("\n".join(content))


def _unparsed(kind: str, values: dict[str, object], found_events: events.Events) -> tuple[str, ...]:
    """The fields this kind of document should state that were not read (a stated "TBC" counts)."""
    missing = []
    for name in EXPECTED_FIELDS[kind]:
        if name.startswith("dates."):
            event = name.removeprefix("dates.")
            stated_tbc = any(note.startswith(f"{event}:") for note in found_events.notes)
            if event not in found_events.dates and not stated_tbc:
                missing.append(name)
        elif not values[name]:
            missing.append(name)
    return tuple(missing)


def parse(text: str, *, source: str | None = None) -> GuidanceRecord:
    """Read one NICE document (plain text, HTML, or PDF text) into a GuidanceRecord.

    ``source`` is where the text came from (a file name or web address); a NICE address such as
    "https://www.nice.org.uk/guidance/ipg53" also gives the guidance id.
    """
    prepared = prepare(text)
    content = sections.without_boilerplate(prepared.lines)
    content_text = "\n".join(content)
    addresses = [source or "", *prepared.addresses]

    fields = _labelled_fields(content)
    codes = coding.stated_codes(prepared.lines)
    title, title_id = _title(prepared, content)
    kind = _kind(
        content_text,
        content,
        fields,
        bool(codes.codes),
        title,
        coding_address=any("classification-codes" in a.lower() for a in addresses),
        consultation_address=any("/consultations/" in a.lower() for a in addresses),
    )
    own_id = None if kind == "in_development" else _self_id(source, prepared, content, title_id)
    guidance_id, replaces, replaced_by = _replacements(content, own_id, kind)

    project_id = fields.get("id number")
    if project_id:
        project_id = re.sub(r"^(?:ID)?\s*", "", project_id, flags=re.I)
    elif kind == "in_development":
        # "In development [GID-IPG10283]" on the page, or the gid in its address.
        project_id = next(filter(None, map(project_gid, [content_text, *addresses])), None)

    programme = _programme(guidance_id, content_text)
    recommendation = _recommendation(kind, programme, content)
    efficacy, safety = recommendations.key_outcomes_in(content_text)
    found_events = events.dated_events(content)
    values = {
        "guidance_id": guidance_id,
        "project_id": project_id,
        "title": title,
        "status": fields.get("status"),
        "recommendation": recommendation,
        "replaced_by": replaced_by,
        "opcs_codes": codes.codes,
    }
    return GuidanceRecord(
        kind=kind,
        source=source,
        guidance_id=guidance_id,
        project_id=project_id,
        title=title,
        programme=programme,
        status=fields.get("status"),
        decision=fields.get("decision"),
        technology_type=fields.get("technology type"),
        process=fields.get("process"),
        recommendation=recommendation,
        conditions=recommendations.conditions_in(content_text),
        replaces=tuple(replaces),
        replaced_by=tuple(replaced_by),
        key_efficacy_outcomes=efficacy,
        key_safety_outcomes=safety,
        opcs_version=codes.version,
        opcs_codes=tuple(codes.codes),
        opcs_titles=dict(codes.titles),
        dates=dict(found_events.dates),
        unparsed=_unparsed(kind, values, found_events),
        notes=(*codes.refused, *found_events.notes),
    )
