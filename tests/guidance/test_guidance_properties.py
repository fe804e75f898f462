"""Properties that hold for any input: no crash, a valid kind, valid ISO dates, JSON-ready output."""

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from thermablate.guidance.parser import parse
from thermablate.guidance.record import CONDITIONS, KINDS, RECOMMENDATIONS

ISO = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")

# Fragments of real NICE structure, so the generator reaches the parser's branches.
FRAGMENTS = [
    "Status In progress",
    "ID number 1783",
    "Provisional Schedule",
    "Expected publication TBC",
    "IPAC 1 08 September 2022",
    "Key events during the development of the guidance:",
    "Date Update",
    "19 February 2018 - 19 March 2018 Draft scope consultation",
    "1 Recommendations",
    "1 Draft recommendations",
    "standard arrangements are in place for clinical governance, consent and audit",
    "special arrangements for clinical governance, consent and audit",
    "should only be used in the context of research",
    "This guidance has been updated and replaced by NICE interventional procedure guidance 508.",
    "OPCS4.6 Code(s)",
    "V55.- Levels of spine",
    "V5.22 Bad code",
    "Published: 31 February 2023",
    "Published: 5 April 2023",
    "HealthTech guidance",
    "www.nice.org.uk/guidance/htg670",
    "<p>",
    "</div>",
    "<!DOCTYPE html>",
    "<h1>",
    "Chair, interventional procedures advisory committee",
    "October 2022",
    "Update information",
    "January 2026: IPG759 has been migrated to HealthTech guidance 670.",
    "the key safety outcomes to be: a, b (c, d) and e.",
]
documents = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=80)), max_size=25).map(
    "\n".join
)


def check(record):
    assert record.kind in KINDS
    assert record.recommendation in (None, *RECOMMENDATIONS)
    assert set(record.conditions) <= set(CONDITIONS)
    as_json = json.loads(json.dumps(record.to_dict()))
    assert all(ISO.match(value) for value in as_json["dates"].values())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises(text):
    check(parse(text))


@settings(max_examples=300, deadline=None)
@given(documents)
def test_documents_made_of_nice_fragments_never_raise(text):
    check(parse(text, source="fragment.txt"))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_plain_prose_without_nice_markers_is_other(text):
    record = parse(f"A note about gardening.\n{text.replace('NICE', '')}")
    if record.kind != "other":
        # Only NICE's own markers can lift a document out of "other".
        assert re.search(
            r"(?i)status|guidance|recommend|consultation|replaced|schedule|cod|id number|programme|publication|key events|ipac",
            text,
        )


HTML_PIECES = [
    "<!DOCTYPE html>",
    "<html>",
    "<p>",
    "</p>",
    "<h1>",
    "</h1>",
    "<title>",
    "</title>",
    "<nav>",
    "</nav>",
    "<div role=navigation>",
    "</div>",
    "<script>",
    "</script>",
    "<li>",
    "<br/>",
    "&amp;",
    "&#99999999;",
    "<!--",
    "-->",
    "<![CDATA[x]]>",
    "<link rel=canonical href=https://www.nice.org.uk/guidance/htg1>",
]
html_documents = st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=30), max_size=40).map(
    "".join
)


@settings(max_examples=300, deadline=None)
@given(html_documents)
def test_broken_html_never_raises(text):
    check(parse(text))
