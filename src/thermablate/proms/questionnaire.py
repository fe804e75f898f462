"""What a patient is asked at one time point, page by page, and how their answers become the
assessment's fields.

Every patient: worst and average pain in the last 24 hours, the painkillers they take now,
EQ-5D-5L (five questions, one a page, and the EQ VAS). After a spinal procedure: the Oswestry
Disability Index (ten sections, one a page; any may be left unanswered, as its scoring
allows). Where the site chooses: the Brief Pain Inventory short form's least and current pain
and its seven interference items (its worst and average pain are the first page's answers,
never asked twice). One question a page, or a short page of closely related ones, as the NHS
design system advises for people answering on a phone.

The wording of EQ-5D, ODI and BPI is licensed: it is read from the site's wording files
(``clinical.questionnaire_wording``), with neutral labels when none is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from thermablate.clinical import bpi, odi, patient_medicines
from thermablate.proms import wording
from thermablate.registry import choices as c
from thermablate.registry.models import Assessment

MEDICINES = "medicines"
# Draft keys of the medicines page.
TAKES_PAINKILLERS = "takes_painkillers"  # "yes" or "no"
MEDICINE_LIST = "medicines"  # [{"product", "units_per_dose", "doses_per_day", "as_needed"}]
OTHER_MEDICINES = "other_medicines"  # free text for staff to resolve


@dataclass(frozen=True)
class Question:
    name: str  # the Assessment field the answer goes to
    instrument: str  # as in the wording files: pain, eq5d5l, odi, bpi
    item: str
    values: tuple[int, ...]
    # May be left unanswered ("Prefer not to answer"): stored as no answer.
    optional: bool = False

    @property
    def text(self) -> str:
        return wording.question(self.instrument, self.item)

    def label(self, value: int) -> str:
        return wording.answer_label(self.instrument, self.item, value)


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    questions: tuple[Question, ...] = ()
    # A number typed in (the EQ VAS), rather than one option picked from a list.
    number_input: bool = False

    def is_answered(self, draft: dict) -> bool:
        if self.slug == MEDICINES:
            return draft.get(TAKES_PAINKILLERS) in ("yes", "no")
        return all(q.name in draft for q in self.questions)


ZERO_TO_TEN = tuple(range(11))


def _pain_page() -> Page:
    return Page(
        "pain",
        "Pain",
        (
            Question("pain_worst", "pain", "worst", ZERO_TO_TEN),
            Question("pain_average", "pain", "average", ZERO_TO_TEN),
        ),
    )


def _eq5d_pages() -> list[Page]:
    pages = []
    for name, title in c.EQ5D_DIMENSIONS:
        dimension = name.removeprefix("eq5d_")
        pages.append(
            Page(
                f"eq5d-{dimension.replace('_', '-')}",
                title,
                (Question(name, "eq5d5l", dimension, tuple(range(1, 6))),),
            )
        )
    pages.append(
        Page(
            "eq5d-vas",
            "Your health today",
            (Question("eq5d_vas", "eq5d5l", "vas", tuple(range(101))),),
            number_input=True,
        )
    )
    return pages


def _odi_pages() -> list[Page]:
    return [
        Page(
            f"odi-{section.replace('_', '-')}",
            wording.question("odi", section),
            (Question(f"odi_{section}", "odi", section, tuple(range(6)), optional=True),),
        )
        for section in odi.SECTIONS
    ]


def _bpi_pages() -> list[Page]:
    return [
        Page(
            "bpi-pain",
            "Pain now and at its least",
            (
                Question("bpi_least", "bpi", "least", ZERO_TO_TEN),
                Question("bpi_now", "bpi", "now", ZERO_TO_TEN),
            ),
        ),
        *(
            Page(
                f"bpi-{item.replace('_', '-')}",
                wording.question("bpi", item),
                (Question(f"bpi_{item}", "bpi", item, ZERO_TO_TEN),),
            )
            for item in bpi.INTERFERENCE_ITEMS
        ),
    ]


def is_spinal(assessment: Assessment) -> bool:
    # The registry's own test, so the staff's form and the patient's pages ask the same.
    return assessment.procedure.is_spinal


def pages_for(assessment: Assessment) -> list[Page]:
    pages = [_pain_page(), Page(MEDICINES, "Painkillers"), *_eq5d_pages()]
    if is_spinal(assessment):
        pages += _odi_pages()
    if assessment.patient.site.collect_bpi:
        pages += _bpi_pages()
    return pages


def page_of(assessment: Assessment, slug: str) -> Page | None:
    return next((page for page in pages_for(assessment) if page.slug == slug), None)


def next_page(assessment: Assessment, slug: str) -> Page | None:
    pages = pages_for(assessment)
    for index, page in enumerate(pages):
        if page.slug == slug:
            return pages[index + 1] if index + 1 < len(pages) else None
    return None


def first_unanswered(assessment: Assessment, draft: dict) -> Page | None:
    return next((p for p in pages_for(assessment) if not p.is_answered(draft)), None)


def unanswered_pages(assessment: Assessment, draft: dict) -> list[Page]:
    return [page for page in pages_for(assessment) if not page.is_answered(draft)]


def answer_fields(assessment: Assessment) -> tuple[str, ...]:
    return tuple(q.name for page in pages_for(assessment) for q in page.questions)


# Pairs of answers that must agree: (lower, higher, what the patient is told about lower).
_ORDER = (
    ("pain_average", "pain_worst", "Your average pain cannot be more than your worst pain"),
    ("bpi_least", "pain_worst", "Your least pain cannot be more than your worst pain"),
    ("bpi_least", "pain_average", "Your least pain cannot be more than your average pain"),
)


def answer_problems(answers: dict, draft: dict) -> dict[str, str]:
    """Answers that contradict others given on any page, as the assessment's own checks would
    refuse them at the end (``registry.models.Assessment.clean``): said on the page being
    saved, naming the other answer, where it can be put right."""
    given = {**draft, **answers}
    problems = {}
    for low, high, message in _ORDER:
        if given.get(low) is None or given.get(high) is None or given[low] <= given[high]:
            continue
        if low in answers:
            problems.setdefault(low, f"{message} (you gave {given[high]})")
        elif high in answers:
            problems.setdefault(high, f"{message}: you gave {given[low]} for it on another page")
    return problems


def submission_problems(assessment: Assessment, draft: dict) -> list[str]:
    """What stops the questionnaire being sent, in the patient's words."""
    problems = [
        f"Answer the questions on the page '{page.title}'"
        for page in unanswered_pages(assessment, draft)
    ]
    problems += list(answer_problems(draft, {}).values())
    try:
        medicine_entries(draft)
    except patient_medicines.MedicineChoiceError:
        problems.append(
            "One of your painkillers is no longer on our list: remove it and add it again"
        )
    return problems


def versions_used(assessment: Assessment) -> dict[str, str]:
    """The wording version of each instrument asked, and the medicine table's version."""
    asked = {q.instrument for page in pages_for(assessment) for q in page.questions}
    return {
        **{name: wording.version(name) for name in sorted(asked)},
        "medicines": patient_medicines.table_version(),
    }


def medicine_entries(draft: dict) -> list[dict]:
    """The registry's analgesic entries of the painkillers the patient listed."""
    if draft.get(TAKES_PAINKILLERS) != "yes":
        return []
    entries = []
    for chosen in draft.get(MEDICINE_LIST, []):
        entries += patient_medicines.entries_for(
            chosen["product"],
            Decimal(chosen["units_per_dose"]),
            None if chosen["doses_per_day"] is None else Decimal(chosen["doses_per_day"]),
            as_needed=chosen["as_needed"],
        )
    return entries


def assessment_values(draft: dict) -> tuple[dict, list[dict]]:
    """The assessment's fields and analgesic entries from a complete draft.

    A painkiller written in ("other") is never guessed into an entry; and an OME from the
    picked ones alone would understate the patient's opioids without saying so. So with
    "other" unresolved no entry is recorded (the OME is "not known", never 0) and the notes
    list everything the patient gave, for staff to enter as a correction."""
    names = {q.name for page in _all_pages() for q in page.questions}
    fields = {name: draft[name] for name in names if name in draft}
    fields["no_analgesics"] = draft.get(TAKES_PAINKILLERS) == "no"
    other = (draft.get(OTHER_MEDICINES) or "").strip()
    if other and draft.get(TAKES_PAINKILLERS) == "yes":
        picked = [describe_medicine(chosen) for chosen in draft.get(MEDICINE_LIST, [])]
        fields["notes"] = "Painkillers the patient listed, for staff to resolve: " + "; ".join(
            [*picked, f"other: {other}"]
        )
        return fields, []
    return fields, medicine_entries(draft)


def _all_pages() -> list[Page]:
    return [_pain_page(), *_eq5d_pages(), *_odi_pages(), *_bpi_pages()]


def describe_medicine(chosen: dict) -> str:
    """A listed medicine as the patient sees it on the page: "Co-codamol 30 mg/500 mg
    tablets: 2 tablets, 4 times a day"."""
    try:
        item = patient_medicines.product(chosen["product"])
    except patient_medicines.MedicineChoiceError:
        return f"A painkiller no longer on our list ({chosen['product']})"
    units = Decimal(chosen["units_per_dose"]).normalize()
    unit_name = item.unit_name if units == 1 else item.unit_name_plural
    if item.is_patch:
        return f"{item.label}: {units:f} {unit_name}"
    often = "only when needed, " if chosen["as_needed"] else ""
    times = Decimal(chosen["doses_per_day"]).normalize()
    return f"{item.label}: {units:f} {unit_name}, {often}{times:f} times a day"
