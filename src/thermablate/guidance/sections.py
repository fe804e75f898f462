"""Find the parts of a NICE document: its numbered chapters and the boilerplate to ignore."""

import re

# Paragraphs every NICE page carries ("Your responsibility", equality duties, the consultation
# small print). They mention "special arrangements" and "Yellow Card" whatever the guidance
# says, so they must never count as the guidance's own recommendation.
_BOILERPLATE_STARTS = (
    "your responsibility",
    "this guidance represents the view of nice",
    "all problems (adverse events)",
    "commissioners and/or providers have a responsibility",
    "commissioners and providers have a responsibility",
    "nice is committed to promoting equality",
    "please note that we reserve the right",
    "the nhs classifications service",
    "the clinical classifications service has advised",
    "nice produces guidance, standards and information",
)

# A chapter heading: "1 Recommendations", "2 The condition, current treatments and procedure".
# A contents line ends in a page number or dot leaders, so it never matches.
NUMBERED_HEADING = re.compile(r"^(\d{1,2})\s+(?!.*\s\d+$)([A-Z][^.:;]{2,120}?)$")
_RECOMMENDATIONS_HEADING = re.compile(
    r"^(?:\d{1,2}\s+)?(?:draft\s+)?(?:recommendations|guidance)$", re.I
)
# Unnumbered headings that end the recommendations on pages without chapter numbers.
_AFTER_RECOMMENDATIONS = re.compile(
    r"^(?:\d{1,2}\s+)?(?:the condition\b.*|the procedure|indications and current treatments|"
    r"committee considerations|(?:the )?evidence(?: summary)?|further information|"
    r"update information|your responsibility|information for the public|description|"
    r"coding recommendations|clinical classification codes|get involved|contents)$",
    re.I,
)


def without_boilerplate(lines: list[str]) -> list[str]:
    """The lines that are not NICE's standard small print."""
    return [line for line in lines if not line.lower().startswith(_BOILERPLATE_STARTS)]


def is_numbered_heading(line: str) -> bool:
    return bool(NUMBERED_HEADING.match(line))


def recommendations_section(lines: list[str]) -> list[str] | None:
    """The lines of the (draft) recommendations chapter, or None when there is no such heading."""
    for start, line in enumerate(lines):
        if not _RECOMMENDATIONS_HEADING.match(line):
            continue
        body: list[str] = []
        for following in lines[start + 1 :]:
            if is_numbered_heading(following) or _AFTER_RECOMMENDATIONS.match(following):
                break
            body.append(following)
        if any(body):
            return body
    return None


def lines_after(lines: list[str], heading: re.Pattern[str], stop: re.Pattern[str]) -> list[str]:
    """The lines after the first line matching ``heading``, up to one matching ``stop``."""
    for start, line in enumerate(lines):
        if heading.search(line):
            body = []
            for following in lines[start + 1 :]:
                if stop.search(following):
                    break
                body.append(following)
            return body
    return []
