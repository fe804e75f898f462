"""Dated events a NICE document names, keyed by what happened.

Where they are found:
- labelled dates: "Published: 5 April 2023", "Published date: 23 December 2010", "Issued:
  September 2003", "Closing date for comments: 11 November 2022", "Target date for publication of
  guidance: April 2023", "This page was last updated: 15 September 2009";
- an in-development page's "Provisional Schedule" rows ("IPAC 1 08 September 2022",
  "Interventional procedure consultation 14 October 2022 - 11 November 2022", "Expected
  publication 29 March 2023" or "... TBC") and its "Key events" table ("19 February 2018 -
  19 March 2018 Draft scope consultation");
- "Update information" entries ("January 2026: ... migrated to HealthTech guidance 670");
- the date of guidance being replaced ("(Interventional Procedures Guidance no. 81, August 2004)");
- a committee chair's signature date at the end of a consultation document.
Known events get the fixed names the record documents (published, consultation_start,
consultation_end, ipac_1, ipac_2, expected_publication); any other event is named after its label.
"""

import re
from dataclasses import dataclass, field

from thermablate.guidance.dates import (
    DATE_PATTERN,
    NiceDate,
    is_tbc,
    parse_date_range,
    parse_nice_date,
)
from thermablate.guidance.ids import find_guidance_ids

_D = DATE_PATTERN.pattern
_RANGE = rf"{_D}\s*(?:-|–|—|to)\s*{_D}"

_LABELLED: list[tuple[str, re.Pattern[str]]] = [
    (
        "published",
        # A label ("Published: 5 April 2023", "[IPG365] Published date: ...", "Issued: September
        # 2003"), not prose: "(published March 2013)" dates the guidance being replaced.
        re.compile(
            rf"(?:\b(?:published(?: date)?|date published|issued|issue date)\s*:\s*|"
            rf"(?:^|\]\s*|\|\s*)(?:published(?: date)?|issued)\s+)({_D})",
            re.I | re.M,
        ),
    ),
    ("last_updated", re.compile(rf"\blast updated\s*:?\s*({_D})", re.I)),
    ("consultation_end", re.compile(rf"closing date for comments\s*:?\s*({_D})", re.I)),
    (
        "consultation_end",
        re.compile(
            rf"consultation (?:closes|closing date|end date|ends)\s*:?\s*(?:on\s+)?({_D})", re.I
        ),
    ),
    (
        "consultation_start",
        re.compile(
            rf"consultation (?:opens|opened|start date|starts)\s*:?\s*(?:on\s+)?({_D})", re.I
        ),
    ),
    (
        "expected_publication",
        re.compile(
            rf"(?:target|expected|anticipated) (?:date (?:for|of) )?publication(?: of guidance| date)?\s*:?\s*({_D})",
            re.I,
        ),
    ),
]
_TBC_LABELS = re.compile(
    r"^((?:expected|anticipated) publication(?: date)?|target date for publication.*?|ipac\s*\d|.*consultation)\s*:?\s*(?:TBC|to be confirmed)\b",
    re.I,
)
_SCHEDULE_HEADING = re.compile(
    r"^(?:provisional schedule|key events(?: during the development of the guidance)?:?|timeline)$",
    re.I,
)
_TABLE_HEADER = re.compile(r"^date\s+(?:update|event)s?$", re.I)
_LEADING_WHEN = re.compile(rf"^({_RANGE}|{_D})\s*:?\s*(.+)$", re.I)
_TRAILING_WHEN = re.compile(rf"^(.{{2,80}}?)\s*:?\s+({_RANGE}|{_D})$", re.I)
_UPDATE_HEADING = re.compile(
    r"^(?:update information|changes (?:since|after) (?:first )?publication|minor changes since publication)$",
    re.I,
)
_REPLACED_WITH_DATE = re.compile(
    rf"((?:interventional procedures? guidance|healthtech guidance|IPG|HTG)\s*(?:no\.?\s*)?\d+)\s*[,(]\s*(?:published\s+)?({_D})",
    re.I,
)


@dataclass
class Events:
    dates: dict[str, NiceDate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, when: NiceDate) -> None:
        # The first statement of an event wins; a second, different event of the same name
        # (two committee meetings) is kept under a numbered name rather than lost.
        if name not in self.dates:
            self.dates[name] = when
            return
        if self.dates[name] == when:
            return
        number = 2
        while f"{name}_{number}" in self.dates:
            number += 1
        self.dates[f"{name}_{number}"] = when


def _slug(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return slug[:60].rstrip("_") or "event"


def _event_name(label: str) -> str:
    """Fixed names for the events of the IP process; other events are named after their label."""
    # Key-event rows can be long ("Awaiting development. Status change linked to ..."):
    # the first sentence names the event.
    text = re.split(r"\.\s", label.lower().strip(" :."), maxsplit=1)[0]
    ipac = re.match(r"^(?:committee meeting\s*:?\s*)?ipac\s*(?:meeting\s*)?(\d)$", text)
    if ipac:
        return f"ipac_{ipac.group(1)}"
    if re.search(r"\b(?:expected|anticipated|target).{0,20}publication|^publication$", text):
        return "expected_publication"
    if "consultation" in text and not re.search(r"scope|recruitment", text):
        return "consultation"
    # Long key-event rows are named after their first few words.
    return _slug(" ".join(text.split()[:6]))


def _add_labelled_event(events: Events, label: str, when_text: str) -> None:
    name = _event_name(label)
    span = parse_date_range(when_text)
    if span:
        events.add(f"{name}_start", span[0])
        events.add(f"{name}_end", span[1])
        return
    when = parse_nice_date(when_text)
    if when is None:
        return
    events.add("consultation_start" if name == "consultation" else name, when)


def _schedule_rows(lines: list[str], events: Events) -> None:
    zone = False
    for line in lines:
        if _SCHEDULE_HEADING.match(line):
            zone = True
            continue
        if not zone or not line or _TABLE_HEADER.match(line):
            continue
        tbc = _TBC_LABELS.match(line)
        if tbc:
            events.notes.append(f"{_event_name(tbc.group(1))}: TBC")
            continue
        leading = _LEADING_WHEN.match(line)
        trailing = _TRAILING_WHEN.match(line)
        if leading and parse_nice_date(leading.group(1)):
            _add_labelled_event(events, leading.group(leading.lastindex or 1), leading.group(1))
        elif trailing and parse_nice_date(trailing.group(2)):
            _add_labelled_event(events, trailing.group(1), trailing.group(2))
        else:
            zone = False  # the schedule or table has ended


def _update_entries(lines: list[str], events: Events) -> None:
    zone = False
    for line in lines:
        if _UPDATE_HEADING.match(line):
            zone = True
            continue
        if not zone or not line:
            continue
        match = re.match(rf"^({_D})\s*:", line, re.I)
        if match and (when := parse_nice_date(match.group(1))):
            events.add("update", when)
        elif re.match(r"^(?:isbn|endorsing organisation|accreditation)", line, re.I):
            zone = False


def _chair_signature(lines: list[str], events: Events) -> None:
    for index, line in enumerate(lines):
        if not re.match(r"^chair\b", line, re.I):
            continue
        for following in [x for x in lines[index + 1 : index + 4] if x][:1]:
            if re.fullmatch(rf"{_D}", following, re.I) and (when := parse_nice_date(following)):
                events.add("issued", when)


def dated_events(lines: list[str]) -> Events:
    """Every dated event the lines name."""
    events = Events()
    text = "\n".join(lines)
    for name, pattern in _LABELLED:
        for match in pattern.finditer(text):
            when = parse_nice_date(match.group(1))
            if when:
                events.add(name, when)
    for line in lines:
        if is_tbc(line) and (tbc := _TBC_LABELS.match(line)):
            note = f"{_event_name(tbc.group(1))}: TBC"
            if note not in events.notes:
                events.notes.append(note)
    _schedule_rows(lines, events)
    _update_entries(lines, events)
    _chair_signature(lines, events)
    for match in _REPLACED_WITH_DATE.finditer(text):
        ids = find_guidance_ids(match.group(1))
        when = parse_nice_date(match.group(2))
        if ids and when:
            events.add(f"{ids[0].lower()}_published", when)
    events.notes = list(dict.fromkeys(events.notes))
    return events
