"""NICE guidance identifiers: IPG53, HTG670, TA279, NG203, CG41 ...

NICE writes the same identifier in several ways: as a token ("IPG759", "[IPG365]"), in a web
address ("www.nice.org.uk/guidance/htg670"), and in words ("Interventional Procedures Guidance
no. 81", "NICE interventional procedures guidance 1 and 94", "HealthTech guidance 670",
"NICE guideline CG41"). Everything here reduces them to the token form.
"""

import re

#: Programme prefixes NICE uses in guidance identifiers, with the programme each names.
PREFIXES: dict[str, str] = {
    "IPG": "interventional_procedures",
    "HTG": "healthtech",
    "TA": "technology_appraisal",
    "HST": "highly_specialised_technologies",
    "MTG": "medical_technologies",
    "DG": "diagnostics",
    "NG": "guideline",
    "CG": "guideline",
    "PH": "guideline",
    "SG": "guideline",
    "QS": "quality_standard",
}
_PREFIX = "|".join(sorted(PREFIXES, key=len, reverse=True))
GUIDANCE_ID_PATTERN = re.compile(rf"^({_PREFIX})(\d{{1,4}})$")

# Upper case only in prose, so "ta" or "ng" inside ordinary words never count.
_TOKEN = re.compile(rf"\b({_PREFIX})(\d{{1,4}})\b")
_URL = re.compile(rf"nice\.org\.uk/guidance/({_PREFIX})(\d{{1,4}})\b", re.IGNORECASE)
_NUMBERS = r"(\d{1,4}(?:\s*(?:,|and|&)\s*\d{1,4})*)"
_WORDED = [
    (
        re.compile(
            rf"interventional\s+procedures?\s+guidance\s*(?:no\.?|number)?\s*{_NUMBERS}", re.I
        ),
        "IPG",
    ),
    (re.compile(rf"health\s*tech\s+guidance\s*(?:no\.?|number)?\s*{_NUMBERS}", re.I), "HTG"),
    (
        re.compile(
            rf"technology\s+appraisal(?:\s+guidance)?[;,]?\s*(?:no\.?|number)?\s*{_NUMBERS}", re.I
        ),
        "TA",
    ),
    (
        re.compile(rf"medical\s+technolog(?:y|ies)\s+guidance\s*(?:no\.?)?\s*{_NUMBERS}", re.I),
        "MTG",
    ),
    (re.compile(rf"diagnostics\s+guidance\s*(?:no\.?)?\s*{_NUMBERS}", re.I), "DG"),
    (re.compile(rf"clinical\s+guideline\s*(?:no\.?)?\s*{_NUMBERS}", re.I), "CG"),
]


class GuidanceIdError(ValueError):
    """Text that is not a NICE guidance identifier."""


def parse_guidance_id(text: str) -> str:
    """Normalise one identifier ("ipg 053", "IPG-53", "IPG53") to "IPG53"; refuse anything else."""
    compact = re.sub(r"[\s\-_]", "", text).upper()
    match = GUIDANCE_ID_PATTERN.match(compact)
    if not match:
        raise GuidanceIdError(
            f"{text!r} is not a NICE guidance id: expected a prefix "
            f"({', '.join(PREFIXES)}) followed by a number, such as IPG53 or HTG670"
        )
    prefix, number = match.groups()
    return f"{prefix}{int(number)}"


def programme_of(guidance_id: str) -> str | None:
    """The NICE programme a guidance id belongs to ("IPG53" -> "interventional_procedures")."""
    match = GUIDANCE_ID_PATTERN.match(guidance_id)
    return PREFIXES[match.group(1)] if match else None


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def find_guidance_ids(text: str) -> list[str]:
    """Every guidance id mentioned in ``text``, in order of first mention, without repeats."""
    found: list[tuple[int, str]] = []
    for match in _TOKEN.finditer(text):
        found.append((match.start(), f"{match.group(1)}{int(match.group(2))}"))
    for match in _URL.finditer(text):
        found.append((match.start(), f"{match.group(1).upper()}{int(match.group(2))}"))
    for pattern, prefix in _WORDED:
        for match in pattern.finditer(text):
            found.extend((match.start(), f"{prefix}{n}") for n in _numbers(match.group(1)))
    ordered: list[str] = []
    for _, guidance_id in sorted(found, key=lambda item: item[0]):
        if guidance_id not in ordered:
            ordered.append(guidance_id)
    return ordered


def id_from_address(text: str) -> str | None:
    """The guidance id in a NICE web address ("…/guidance/ipg53") or in a file name that starts
    with it ("ipg53.html", "IPG759-overview.pdf"); None for anything else."""
    match = _URL.search(text)
    if match:
        return f"{match.group(1).upper()}{int(match.group(2))}"
    basename = re.split(r"[/\\]", text.strip())[-1]
    match = re.match(rf"({_PREFIX})(\d{{1,4}})(?![0-9a-z])", basename, re.I)
    if match:
        return f"{match.group(1).upper()}{int(match.group(2))}"
    return None


#: The "ID number" of a topic in development is a bare number; its web address carries a GID.
PROJECT_GID_PATTERN = re.compile(r"\bgid-([a-z]{2,4}\d{3,6})\b", re.IGNORECASE)


def project_gid(text: str) -> str | None:
    """ "GID-IPG10183" from an in-development address such as ".../indevelopment/gid-ipg10183"."""
    match = PROJECT_GID_PATTERN.search(text)
    return f"GID-{match.group(1).upper()}" if match else None
