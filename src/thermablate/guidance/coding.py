"""The OPCS-4 codes a NICE document states for its procedure.

NICE pages list them under a heading ("OPCS4.6 Code(s)", "Coding recommendations", "Clinical
classification codes"), one code and title per line, sometimes joined by "or" / "plus"
(seed 003, IPG179, IPG337). Codes named only inside the notes that follow ("if the levels of
spine are not specified, V55.9 ... is used") are rules, not the codes stated, so only lines that
start with a code count. A line that starts with something shaped like a code but malformed is
refused and reported, never corrected.
"""

import re
from dataclasses import dataclass, field

from thermablate.clinical.opcs import is_valid_opcs_code

CODING_HEADING = re.compile(
    r"^(?:opcs[\s-]*4?(?:\.\d+)?\s*codes?(?:\(s\))?|coding recommendations|clinical classification codes|"
    r"coding and clinical classification codes.*|clinical coding)$",
    re.I,
)
_END_OF_CODES = re.compile(
    r"^(?:get involved|your responsibility|icd-?10 codes?(?:\(s\))?|description|"
    r"this page was last updated.*|\d{1,2}\s+[A-Z].*)$",
    re.I,
)
_VERSION = re.compile(r"\bOPCS[\s-]*(4\.\d{1,2})\b", re.I)
# A line that begins with a code-like token: a letter, digits, maybe a dot and more.
_LEADING_TOKEN = re.compile(
    r"^(?:(?:or|plus|and)\s+)?([A-Z]\d{1,3}(?:\.[0-9A-Za-z-]{0,3})?)(?=\s|$)(.*)$"
)
_INLINE_CODE = re.compile(r"(?:^|\s)([A-Z]\d{2}(?:\.\d|\.-)?)\s+(?=[A-Z])")


@dataclass
class StatedCodes:
    codes: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    refused: list[str] = field(default_factory=list)
    has_coding_section: bool = False


def _split_line(line: str) -> list[tuple[str, str]]:
    """ "T85.2 Block dissection ... Y76.3 Endoscopic approach ..." -> [(code, title), ...]."""
    starts = [m.start(1) for m in _INLINE_CODE.finditer(line)]
    if not starts or starts[0] != 0:
        return []
    pieces = []
    for begin, end in zip(starts, [*starts[1:], len(line)], strict=True):
        code, _, title = line[begin:end].strip().partition(" ")
        title = re.sub(r"\s+(?:or|plus|and)$", "", title.strip(), flags=re.I)
        pieces.append((code, title))
    return pieces


def stated_codes(lines: list[str]) -> StatedCodes:
    """The codes listed under the document's coding heading(s), in order, each once."""
    result = StatedCodes()
    version = _VERSION.search("\n".join(lines))
    result.version = version.group(1) if version else None
    in_codes = False
    for line in lines:
        if CODING_HEADING.match(line):
            in_codes = True
            result.has_coding_section = True
            continue
        if in_codes and _END_OF_CODES.match(line):
            in_codes = False
            continue
        if not in_codes or not line:
            continue
        leading = _LEADING_TOKEN.match(line)
        if not leading:
            continue
        token = leading.group(1)
        if not is_valid_opcs_code(token):
            result.refused.append(f"opcs_codes: malformed code {token!r} refused")
            continue
        body = line[leading.start(1) :]
        for code, title in _split_line(body) or [(token, leading.group(2).strip())]:
            if code not in result.codes:
                result.codes.append(code)
                if title:
                    result.titles[code] = title
    return result
