"""The structured record a NICE guidance document is read into, and its vocabularies."""

from dataclasses import dataclass, field, fields
from typing import Any

from thermablate.guidance.dates import NiceDate

#: What a document is. "other" is anything that is not recognisably NICE guidance.
KINDS: tuple[str, ...] = (
    "final",  # published guidance (old-style page, chapter page, PDF, HealthTech guidance)
    "consultation",  # draft guidance out for consultation
    "in_development",  # a topic page: status, schedule, key events
    "replaced_notice",  # "This guidance has been updated and replaced by ..."
    "coding",  # a clinical classification (OPCS-4) codes page on its own
    "other",
)

#: The arrangements NICE recommends. Older documents say "normal arrangements" for standard.
#: NICE's recommendation types: nice.org.uk/about/what-we-do/our-programmes/nice-guidance/
#: interventional-procedures-guidance/recommendations ("standard", "special", "only in research",
#: "do not use"); the 2009 arrangements table calls standard "Normal".
RECOMMENDATIONS: tuple[str, ...] = ("standard", "special", "research_only", "do_not_use")

#: The conditions NICE attaches to a recommendation, as fixed keywords, each with what it asks.
#: Drawn from the recommendation wording of IPG/HTG documents (seeds 002 and 004; NICE's
#: description of special arrangements: notify governance leads, make sure patients understand
#: the uncertainties, audit and review the outcomes of everyone).
CONDITIONS: dict[str, str] = {
    "mdt_selection": "patient selection by a multidisciplinary team",
    "operator_training": "done only by clinicians with specific training and expertise",
    "specialist_setting": "done only in specialist centres or settings named by the guidance",
    "inform_governance_leads": "clinicians inform the clinical governance leads in their organisation",
    "written_information": "people are given clear written information (including NICE's)",
    "understand_uncertainties": "people understand the safety, efficacy and uncertainties",
    "audit": "audit and review the clinical outcomes of everyone having the procedure",
    "audit_tool": "outcomes can be entered into NICE's audit tool",
    "annual_appraisal": "clinicians discuss the outcomes at their annual appraisal",
    "outcome_data_systems": "organisations have systems to collect and report outcome data",
    "regular_outcome_review": "organisations regularly review outcome and safety data",
    "register_submission": "data are submitted to an appropriate register",
    "research_encouraged": "NICE encourages further research (or data collection)",
}


@dataclass(frozen=True)
class GuidanceRecord:
    """One NICE document, read into fields. A field the document does not state is None/empty;
    the fields this kind of document should state but did not are named in ``unparsed``."""

    kind: str
    source: str | None = None
    guidance_id: str | None = None
    project_id: str | None = None
    title: str | None = None
    programme: str | None = None
    status: str | None = None
    decision: str | None = None
    technology_type: str | None = None
    process: str | None = None
    recommendation: str | None = None
    conditions: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    replaced_by: tuple[str, ...] = ()
    key_efficacy_outcomes: tuple[str, ...] = ()
    key_safety_outcomes: tuple[str, ...] = ()
    opcs_version: str | None = None
    opcs_codes: tuple[str, ...] = ()
    opcs_titles: dict[str, str] = field(default_factory=dict)
    dates: dict[str, NiceDate] = field(default_factory=dict)
    #: Fields this kind of document should state but that could not be read.
    unparsed: tuple[str, ...] = ()
    #: Things read but refused (a malformed code) or stated without a value ("TBC").
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.recommendation is not None and self.recommendation not in RECOMMENDATIONS:
            raise ValueError(f"unknown recommendation {self.recommendation!r}")
        unknown = set(self.conditions) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"unknown conditions {sorted(unknown)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: tuples as lists, dates as ISO strings, in field order."""
        result: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "dates":
                value = {name: when.isoformat() for name, when in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            result[item.name] = value
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GuidanceRecord":
        """The inverse of ``to_dict`` (used to load the shipped catalogue)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in data:
                continue
            value = data[item.name]
            if item.name == "dates":
                value = {name: NiceDate.fromisoformat(when) for name, when in value.items()}
            elif isinstance(value, list):
                value = tuple(value)
            values[item.name] = value
        return cls(**values)
