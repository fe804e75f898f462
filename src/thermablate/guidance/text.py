"""Turn a NICE document (plain text, HTML, or text taken from a PDF) into clean lines.

The parser works on lines because NICE's structure is in its lines: headings ("1 Recommendations"),
labelled fields ("Status In progress"), schedule rows ("IPAC 1 08 September 2022"), code lists
("V52.2 Destruction of intervertebral disc NEC"). So HTML is flattened with block elements as
line breaks, bullets and markdown links are unwrapped, and PDF page furniture is dropped.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    (
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset"),
        *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
        *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead"),
        *("tfoot", "tr", "td", "th", "ul"),
    )
)
# Content that is never part of the guidance text: code, and the site's navigation and footer
# (menus repeat programme names such as "HealthTech guidance" that would pass for headings).
_SKIPPED_TAGS = frozenset(
    ("script", "style", "noscript", "svg", "template", "nav", "footer", "button", "select")
)
_SKIPPED_ROLES = frozenset(("navigation", "contentinfo", "search"))
_VOID_TAGS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)


@dataclass
class HtmlDocument:
    """What the HTML gave: its text as lines, its <title>, first <h1> and canonical address."""

    text: str
    title: str | None = None
    h1: str | None = None
    addresses: list[str] = field(default_factory=list)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # While skipping, the tag that started it and how deeply it is nested in itself.
        self.skip_tag: str | None = None
        self.skip_nesting = 0
        self.in_title = False
        self.in_h1 = False
        self.title_parts: list[str] = []
        self.h1_parts: list[str] = []
        self.h1_done = False
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "link" and "canonical" in attributes.get("rel", "").lower():
            self.addresses.append(attributes.get("href", ""))
        if tag == "meta" and attributes.get("property", "").lower() == "og:url":
            self.addresses.append(attributes.get("content", ""))
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_nesting += 1
            return
        if tag not in _VOID_TAGS and (
            tag in _SKIPPED_TAGS or attributes.get("role", "").lower() in _SKIPPED_ROLES
        ):
            self.skip_tag, self.skip_nesting = tag, 1
            return
        if tag == "title":
            self.in_title = True
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "h1" and not self.h1_done:
            self.in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_nesting -= 1
                if self.skip_nesting == 0:
                    self.skip_tag = None
            return
        if tag == "title":
            self.in_title = False
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "h1" and self.in_h1:
            self.in_h1 = False
            self.h1_done = True

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        if self.in_title:
            self.title_parts.append(data)
            return
        self.parts.append(data)
        if self.in_h1:
            self.h1_parts.append(data)


_HTML_SIGNS = re.compile(
    r"<\s*(?:!doctype\s+html|html|head|body|div|p|h[1-6]|ul|li|table|section|main|article)\b", re.I
)


def looks_like_html(text: str) -> bool:
    """True when the text is markup: an HTML document or fragment rather than prose."""
    return len(_HTML_SIGNS.findall(text[:20000])) >= 2 or bool(
        re.match(r"\s*<!doctype", text, re.I)
    )


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def html_to_text(html: str) -> HtmlDocument:
    """Strip HTML with the standard library, keeping block structure as line breaks."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    # Inline whitespace collapses as a browser would; block boundaries stay line breaks.
    lines = [_squash(line) for line in "".join(extractor.parts).split("\n")]
    return HtmlDocument(
        text="\n".join(lines),
        title=_squash("".join(extractor.title_parts)) or None,
        h1=_squash("".join(extractor.h1_parts)) or None,
        addresses=[a for a in extractor.addresses if a],
    )


_BULLET = re.compile(r"^\s*(?:[-*•·▪◦●–]|\d+\)|[a-z]\))\s+")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
# PDF page furniture: "Page 4 of 9", "© NICE 2023. All rights reserved. Subject to Notice of rights".
_PDF_FURNITURE = re.compile(
    r"^(?:page \d+ of \d+|©\s*nice\s*\d{4}.*|.*all rights reserved\. subject to notice of rights.*)$",
    re.I,
)
_CHARACTER_FIXES = {
    "\u00a0": " ",
    "\u2009": " ",
    "\u200b": "",
    "\ufeff": "",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u00ad": "",
    "\t": " ",
    "\r": "",
}


def normalise_lines(text: str) -> list[str]:
    """Clean lines: bullets and markdown links unwrapped, spacing squashed, PDF furniture gone.

    Empty lines are kept (as "") because a blank line often ends a list or a paragraph.
    """
    for bad, good in _CHARACTER_FIXES.items():
        text = text.replace(bad, good)
    lines: list[str] = []
    for raw in text.split("\n"):
        line = _MARKDOWN_LINK.sub(r"\1", raw)
        # Nested bullets ("- • item") unwrap one marker at a time.
        while True:
            stripped = _BULLET.sub("", line, count=1)
            if stripped == line:
                break
            line = stripped
        line = re.sub(r"[ ]{2,}", " ", line).strip()
        if _PDF_FURNITURE.match(line):
            continue
        lines.append(line)
    return lines


@dataclass
class PreparedText:
    """The document as lines, plus what its HTML head said (if it was HTML)."""

    lines: list[str]
    html_title: str | None = None
    html_h1: str | None = None
    addresses: list[str] = field(default_factory=list)
    was_html: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def prepare(text: str) -> PreparedText:
    """Detect HTML, flatten it, and normalise the lines."""
    if looks_like_html(text):
        document = html_to_text(text)
        return PreparedText(
            lines=normalise_lines(document.text),
            html_title=document.title,
            html_h1=document.h1,
            addresses=document.addresses,
            was_html=True,
        )
    return PreparedText(lines=normalise_lines(text))
