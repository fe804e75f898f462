"""What the guidance recommends: the arrangements, their conditions, and the key outcomes.

The phrases are NICE's own recommendation wording across its eras:
- "normal arrangements for consent, audit and clinical governance" (IP guidance before ~2010),
- "provided that standard arrangements are in place for clinical governance, consent and audit",
- "should only be used with special arrangements for clinical governance, consent, and audit or
  research" (seed 004), "should only be used in the context of research",
- "should not be used" (do not use).
"""

import re

from thermablate.guidance.record import CONDITIONS

_RESEARCH_ONLY = re.compile(
    r"only (?:be )?(?:used |done |carried out |offered )?(?:in|as part of) (?:the context of )?"
    r"(?:formal |well-designed )?(?:research|clinical trials?|a research)|"
    r"\bonly in research\b|should not be used (?:other than|except|outside) (?:in )?(?:the context of )?research",
    re.I,
)
# "Do not offer X" is guideline wording about a treatment, not an arrangement for a procedure,
# so only the IP/HealthTech phrasing counts.
_DO_NOT_USE = re.compile(
    r"(?:procedure|technology|it) should not be used\b|\bshould not be (?:used|done|offered) in the nhs\b",
    re.I,
)
_SPECIAL = re.compile(
    r"special arrangements (?:are in place )?for (?:clinical governance|consent|audit)", re.I
)
_STANDARD = re.compile(
    r"(?:standard|normal) arrangements (?:are in place )?for (?:clinical governance|consent|audit)",
    re.I,
)


def recommendation_in(text: str) -> str | None:
    """The arrangement the text recommends, or None when it states none.

    Research-only is checked first: such guidance may also mention special arrangements
    ("use only in research or with special arrangements" is still research-led).
    """
    if _RESEARCH_ONLY.search(text) and not _SPECIAL.search(text):
        return "research_only"
    if _DO_NOT_USE.search(text) and not (_SPECIAL.search(text) or _STANDARD.search(text)):
        return "do_not_use"
    if _SPECIAL.search(text):
        return "special"
    if _STANDARD.search(text):
        return "standard"
    if _RESEARCH_ONLY.search(text):
        return "research_only"
    return None


_CONDITION_PATTERNS: dict[str, re.Pattern[str]] = {
    "mdt_selection": re.compile(r"multi-?disciplinary team", re.I),
    "operator_training": re.compile(
        r"(?:specific |specialist |appropriate )?training and (?:expertise|experience)|"
        r"only be (?:done|carried out|performed) by (?:clinicians|surgeons|radiologists|operators) with|"
        r"specific training|(?:clinicians|operators|surgeons) should (?:have|undergo|receive) "
        r"(?:specific |appropriate |specialist )?training",
        re.I,
    ),
    "specialist_setting": re.compile(
        r"only be (?:done|carried out|performed) in (?:specialist|tertiary|units|centres)|"
        r"in (?:specialist|tertiary) (?:centres|units)",
        re.I,
    ),
    "inform_governance_leads": re.compile(
        r"(?:inform|notify|tell) the clinical governance leads?", re.I
    ),
    "written_information": re.compile(r"written information", re.I),
    "understand_uncertainties": re.compile(r"understand\b[^.]{0,160}\buncertaint", re.I),
    "audit": re.compile(
        r"audit and review (?:the )?clinical outcomes|audit (?:the )?outcomes of (?:all|every)",
        re.I,
    ),
    "audit_tool": re.compile(r"audit tool", re.I),
    "annual_appraisal": re.compile(r"annual appraisal", re.I),
    "outcome_data_systems": re.compile(
        r"systems are in place[^.]{0,120}(?:collect|report)[^.]{0,40}data", re.I
    ),
    "regular_outcome_review": re.compile(r"regularly review (?:the )?data on outcomes", re.I),
    "register_submission": re.compile(
        r"(?:submi(?:t|ssion of)|enter|contribute) (?:data|details)[^.]{0,80}\bregist(?:er|ry)\b|"
        r"\bregist(?:er|ry)\b[^.]{0,40}\b(?:submi|enter)",
        re.I,
    ),
    "research_encouraged": re.compile(
        r"encourages? (?:further )?research|further research (?:is|should|would)|"
        r"encourages? (?:further )?data collection",
        re.I,
    ),
}
assert set(_CONDITION_PATTERNS) == set(CONDITIONS)


def conditions_in(text: str) -> tuple[str, ...]:
    """The condition keywords the text attaches, in the vocabulary's order."""
    return tuple(name for name, pattern in _CONDITION_PATTERNS.items() if pattern.search(text))


_KEY_OUTCOMES = re.compile(
    r"key (efficacy|safety) outcomes? (?:to be|to include|as|were|are|included|include|was)\s*:?\s*(.+?)(?:\.(?:\s|$)|\n\n|$)",
    re.I | re.S,
)


def _split_list(phrase: str) -> list[str]:
    """Split "a, b (x, y) and c" at top-level commas and the last "and"; keep brackets whole."""
    items: list[str] = []
    depth = 0
    current = ""
    tokens = re.split(r"(\(|\)|,|;|\band\b)", phrase)
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(depth - 1, 0)
        if depth == 0 and token in (",", ";", "and"):
            items.append(current)
            current = ""
            continue
        current += token
    items.append(current)
    cleaned: list[str] = []
    for item in (re.sub(r"\s+", " ", i).strip(" .") for i in items):
        if not item:
            continue
        # "thermal damage to adjacent structures, including neurological damage" is one outcome.
        if cleaned and re.match(r"(?:including|especially|particularly|such as)\b", item, re.I):
            cleaned[-1] = f"{cleaned[-1]}, {item}"
        else:
            cleaned.append(item)
    return cleaned


def key_outcomes_in(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(efficacy, safety) outcomes as the committee listed them, phrase by phrase."""
    efficacy: list[str] = []
    safety: list[str] = []
    for match in _KEY_OUTCOMES.finditer(text):
        target = efficacy if match.group(1).lower() == "efficacy" else safety
        for item in _split_list(match.group(2).replace("\n", " ")):
            if item not in target:
                target.append(item)
    return tuple(efficacy), tuple(safety)
