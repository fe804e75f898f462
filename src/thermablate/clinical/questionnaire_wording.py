"""What the patient's follow-up questionnaire asks, and in which words.

The structure of each instrument (its items and the answer values each takes) is ours to
ship; the scoring modules (``pain``, ``eq5d``, ``odi``, ``bpi``) read the raw answers. The
*wording* of the EQ-5D-5L, the Oswestry Disability Index and the Brief Pain Inventory is
copyrighted by their owners (EuroQol Research Foundation; the ODI's authors, licensed through
Mapi Research Trust; Charles S. Cleeland, licensed through MD Anderson Cancer Center) and may
be shown to patients only under a licence the site holds. So Thermablate ships none of it:

- a site that holds a licence supplies the licensed wording as one JSON file per instrument and
  language (format in ``docs/questionnaires.md``; ``load_wording`` validates it against the
  structure below and names the file and item of any fault);
- without a file, the pages show neutral labels of our own: the item's topic and numbered
  levels with short generic anchors ("Mobility": "Level 1 (no problems)" ... "Level 5
  (unable)"). They say what each answer value means for scoring, nothing more, and reproduce no
  item text of the licensed instruments.

The numeric pain ratings (worst and average pain in the last 24 hours, 0-10) are not
copyrighted: our own wording, after the 0-10 numerical rating scale IMMPACT recommends
(Dworkin RH et al. Pain 2005;113(1-2):9-19, doi:10.1016/j.pain.2004.09.012). A site may still
supply a file for ``pain`` (a translation, say); it needs no licence.

Two kinds of item:

- ``choice``: every answer value is a separate statement (EQ-5D-5L levels 1-5, ODI sections
  0-5); every value has a label, and the page shows the labels as the options.
- ``scale``: a numeric rating (pain and BPI 0-10, EQ VAS 0-100); only its two ends carry a
  label (the anchors), and the page shows the numbers with the anchors beside the ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import MappingProxyType

from thermablate.clinical import bpi, eq5d, odi, pain

FORMAT = "thermablate-questionnaire-wording/1"
FILE_SUFFIX = ".json"
# The neutral labels are written in English; pages mark them with this language (WCAG 2.2,
# 3.1.2 Language of Parts) when the page itself is in another.
NEUTRAL_LANGUAGE = "en-GB"
# Recorded with answers given under the neutral labels instead of a licensed wording.
NEUTRAL_VERSION = "thermablate-neutral-1"

# EQ VAS: a 0-100 scale, 100 the best health (Herdman et al. 2011, doi:10.1007/s11136-011-9903-x).
EQ_VAS_MIN = 0
EQ_VAS_MAX = 100

# A language tag in the BCP 47 shape: "en", "en-GB", "cy", "pa-Guru-IN".
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_ANSWER_KEY = re.compile(r"^(0|[1-9][0-9]*)$")
_ITEM_KEYS = frozenset({"question", "answers"})
_LICENCE_KEYS = frozenset({"holder", "reference"})
_REQUIRED_KEYS = frozenset({"format", "instrument", "language", "version", "items"})
_OPTIONAL_KEYS = frozenset({"licence", "instructions"})


@dataclass(frozen=True)
class Item:
    """One question: its key (as the scoring module names it), kind and answer values."""

    key: str
    kind: str  # "choice" or "scale"
    minimum: int
    maximum: int
    neutral_question: str
    neutral_labels: Mapping[int, str]  # choice: every value; scale: the two ends

    @property
    def values(self) -> range:
        return range(self.minimum, self.maximum + 1)

    @property
    def labelled_values(self) -> tuple[int, ...]:
        """The answer values a wording file must label."""
        if self.kind == "scale":
            return (self.minimum, self.maximum)
        return tuple(self.values)


@dataclass(frozen=True)
class Instrument:
    """An instrument's structure: its items in the order the pages ask them."""

    name: str
    title: str
    copyrighted: bool  # wording used only under a licence the site holds
    rights_holder: str  # who licenses the wording ("" when not copyrighted)
    neutral_instructions: str
    items: tuple[Item, ...]

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise ValueError(
            f"{self.title} has no item {key!r}; its items are "
            f"{', '.join(item.key for item in self.items)}"
        )


def _choice(key: str, question: str, labels: tuple[str, ...], minimum: int) -> Item:
    return Item(
        key=key,
        kind="choice",
        minimum=minimum,
        maximum=minimum + len(labels) - 1,
        neutral_question=question,
        neutral_labels=MappingProxyType(dict(enumerate(labels, start=minimum))),
    )


def _scale(key: str, question: str, minimum: int, maximum: int, low: str, high: str) -> Item:
    return Item(
        key=key,
        kind="scale",
        minimum=minimum,
        maximum=maximum,
        neutral_question=question,
        neutral_labels=MappingProxyType({minimum: low, maximum: high}),
    )


# Neutral wording. Anchors are generic words, not the instruments' item texts: the EQ-5D-5L
# levels as Herdman et al. 2011 describe them (no, slight, moderate, severe, extreme problems
# or unable), the ODI's 0-5 scoring direction (Fairbank & Pynsent 2000), the 0-10 ends.
_NO_PAIN = "No pain"
_WORST_PAIN = "Worst pain imaginable"
_EQ5D_TOPICS = {
    "mobility": ("Mobility", "unable"),
    "self_care": ("Self-care", "unable"),
    "usual_activities": ("Usual activities", "unable"),
    "pain_discomfort": ("Pain or discomfort", "extreme problems"),
    "anxiety_depression": ("Anxiety or depression", "extreme problems"),
}
_ODI_TOPICS = {
    "pain_intensity": "pain intensity",
    "personal_care": "personal care",
    "lifting": "lifting",
    "walking": "walking",
    "sitting": "sitting",
    "standing": "standing",
    "sleeping": "sleeping",
    "sex_life": "sex life",
    "social_life": "social life",
    "travelling": "travelling",
}
_BPI_INTERFERENCE_TOPICS = {
    "general_activity": "general activity",
    "mood": "mood",
    "walking_ability": "walking ability",
    "normal_work": "normal work",
    "relations_with_others": "relations with other people",
    "sleep": "sleep",
    "enjoyment_of_life": "enjoyment of life",
}
# Worst and average pain are asked once, by ``pain``; the BPI's severity score reuses them.
PAIN_ITEMS = ("worst", "average")
BPI_ITEMS = tuple(item for item in bpi.SEVERITY_ITEMS if item not in PAIN_ITEMS) + tuple(
    bpi.INTERFERENCE_ITEMS
)


def _eq5d_item(key: str) -> Item:
    topic, worst = _EQ5D_TOPICS[key]
    labels = (
        "Level 1 (no problems)",
        "Level 2 (slight problems)",
        "Level 3 (moderate problems)",
        "Level 4 (severe problems)",
        f"Level 5 ({worst})",
    )
    return _choice(key, topic, labels, eq5d.LEVEL_MIN)


def _odi_item(number: int, key: str) -> Item:
    labels = ("0 (least)", "1", "2", "3", "4", "5 (most)")
    return _choice(key, f"Section {number}: {_ODI_TOPICS[key]}", labels, odi.SECTION_MIN)


_PAIN_QUESTIONS = {
    "worst": "Your worst pain in the last 24 hours",
    "average": "Your average pain in the last 24 hours",
    "least": "Your least pain in the last 24 hours",
    "now": "Your pain right now",
}

INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType(
    {
        "pain": Instrument(
            name="pain",
            title="Pain",
            copyrighted=False,
            rights_holder="",
            neutral_instructions="Rate your pain from 0 (no pain) to 10 (worst pain imaginable).",
            items=tuple(
                _scale(
                    key,
                    _PAIN_QUESTIONS[key],
                    pain.NRS_MIN,
                    pain.NRS_MAX,
                    _NO_PAIN,
                    _WORST_PAIN,
                )
                for key in PAIN_ITEMS
            ),
        ),
        "eq5d5l": Instrument(
            name="eq5d5l",
            title="EQ-5D-5L",
            copyrighted=True,
            rights_holder="EuroQol Research Foundation",
            neutral_instructions="For each topic, choose one level for your health today.",
            items=(
                *(_eq5d_item(key) for key in eq5d.DIMENSIONS),
                _scale(
                    "vas",
                    "Your health today, from 0 to 100",
                    EQ_VAS_MIN,
                    EQ_VAS_MAX,
                    "Worst health",
                    "Best health",
                ),
            ),
        ),
        "odi": Instrument(
            name="odi",
            title="Oswestry Disability Index",
            copyrighted=True,
            rights_holder="Mapi Research Trust, on behalf of the authors (J. Fairbank)",
            neutral_instructions="For each section, choose one level from 0 (least) to 5 (most).",
            items=tuple(_odi_item(number, key) for number, key in enumerate(odi.SECTIONS, start=1)),
        ),
        "bpi": Instrument(
            name="bpi",
            title="Brief Pain Inventory (short form)",
            copyrighted=True,
            rights_holder="Charles S. Cleeland, through MD Anderson Cancer Center",
            neutral_instructions="Rate each from 0 to 10.",
            items=tuple(
                _scale(
                    key,
                    _PAIN_QUESTIONS[key],
                    bpi.ITEM_MIN,
                    bpi.ITEM_MAX,
                    _NO_PAIN,
                    _WORST_PAIN,
                )
                for key in bpi.SEVERITY_ITEMS
                if key not in PAIN_ITEMS
            )
            + tuple(
                _scale(
                    key,
                    f"Pain interference with {_BPI_INTERFERENCE_TOPICS[key]}",
                    bpi.ITEM_MIN,
                    bpi.ITEM_MAX,
                    "Does not interfere",
                    "Completely interferes",
                )
                for key in bpi.INTERFERENCE_ITEMS
            ),
        ),
    }
)


def instrument(name: str) -> Instrument:
    """The structure of instrument ``name`` (one of INSTRUMENTS); ValueError otherwise."""
    try:
        return INSTRUMENTS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown questionnaire instrument {name!r}; choose one of {', '.join(INSTRUMENTS)}"
        ) from None


class WordingFileError(ValueError):
    """A site's wording file (or directory) that cannot be used; the message names the file
    and, where there is one, the item at fault."""

    def __init__(self, path: Path, problem: str, *, item: str | None = None):
        where = f"{path}: item {item!r}: " if item else f"{path}: "
        super().__init__(where + problem)
        self.path = path
        self.item = item
        self.problem = problem


@dataclass(frozen=True)
class InstrumentWording:
    """The words one instrument is shown in: a site's licensed file, or the neutral labels."""

    instrument: Instrument
    language: str  # of these words (NEUTRAL_LANGUAGE for the neutral labels)
    version: str  # the file's version, or NEUTRAL_VERSION; record it with the answers
    instructions: str
    questions: Mapping[str, str]
    labels: Mapping[str, Mapping[int, str]]
    licensed: bool  # True when the words come from a site's file under a licence
    notice: str  # the licence notice to show under the questionnaire ("" if none is due)
    source_file: Path | None = None

    def question(self, item: str) -> str:
        return self.questions[self.instrument.item(item).key]

    def answer_label(self, item: str, value: int) -> str:
        """The label of answer ``value``; "" for a point of a scale between its two ends."""
        structure = self.instrument.item(item)
        if isinstance(value, bool) or not isinstance(value, int) or value not in structure.values:
            raise ValueError(
                f"{self.instrument.title} {item!r} takes whole numbers from "
                f"{structure.minimum} to {structure.maximum}, got {value!r}"
            )
        return self.labels[item].get(value, "")


def neutral_instrument_wording(name: str) -> InstrumentWording:
    """Instrument ``name`` in the neutral labels."""
    structure = instrument(name)
    return InstrumentWording(
        instrument=structure,
        language=NEUTRAL_LANGUAGE,
        version=NEUTRAL_VERSION,
        instructions=structure.neutral_instructions,
        questions=MappingProxyType({item.key: item.neutral_question for item in structure.items}),
        labels=MappingProxyType({item.key: item.neutral_labels for item in structure.items}),
        licensed=False,
        notice="",
    )


@dataclass(frozen=True)
class QuestionnaireWording:
    """The wording of every instrument for one language, as the patient pages ask it."""

    language: str  # the language asked for
    instruments: Mapping[str, InstrumentWording]

    def __getitem__(self, name: str) -> InstrumentWording:
        return self.instruments[instrument(name).name]

    def question(self, name: str, item: str) -> str:
        return self[name].question(item)

    def answer_label(self, name: str, item: str, value: int) -> str:
        return self[name].answer_label(item, value)

    def licensed(self, name: str) -> bool:
        return self[name].licensed

    def notice(self, name: str) -> str:
        return self[name].notice

    @property
    def notices(self) -> tuple[str, ...]:
        """Every licence notice due, in instrument order (for the foot of the pages)."""
        return tuple(w.notice for w in self.instruments.values() if w.notice)


def neutral_wording(language: str = NEUTRAL_LANGUAGE) -> QuestionnaireWording:
    """Every instrument in the neutral labels."""
    return QuestionnaireWording(
        language=language,
        instruments=MappingProxyType(
            {name: neutral_instrument_wording(name) for name in INSTRUMENTS}
        ),
    )


def _reject_duplicate_keys(path: Path):
    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in pairs:
            if key in result:
                raise WordingFileError(path, f"key {key!r} appears twice in one object")
            result[key] = value
        return result

    return hook


def _text(path: Path, value: object, what: str, *, item: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WordingFileError(path, f"{what} must be a non-empty string", item=item)
    return value.strip()


def _keys(path: Path, data: dict, required: frozenset, optional: frozenset, what: str, **kw):
    missing = sorted(required - data.keys())
    extra = sorted(data.keys() - required - optional)
    if missing:
        raise WordingFileError(path, f"{what} is missing {', '.join(map(repr, missing))}", **kw)
    if extra:
        raise WordingFileError(path, f"{what} has unexpected {', '.join(map(repr, extra))}", **kw)


def _answers(path: Path, structure: Item, answers: object) -> Mapping[int, str]:
    if not isinstance(answers, dict):
        raise WordingFileError(
            path, "answers must be an object of answer value to label", item=structure.key
        )
    labels = {}
    for key, label in answers.items():
        if not _ANSWER_KEY.match(key):
            raise WordingFileError(
                path, f'answer {key!r} must be a whole number, e.g. "1"', item=structure.key
            )
        value = int(key)
        if value not in structure.labelled_values:
            if structure.kind == "scale":
                problem = (
                    f"answer {value} cannot be labelled: on this {structure.minimum}-"
                    f"{structure.maximum} scale only the ends, {structure.minimum} and "
                    f"{structure.maximum}, carry labels"
                )
            else:
                problem = (
                    f"answer {value} is not an answer of this item "
                    f"({structure.minimum} to {structure.maximum})"
                )
            raise WordingFileError(path, problem, item=structure.key)
        labels[value] = _text(path, label, f"the label of answer {value}", item=structure.key)
    missing = [value for value in structure.labelled_values if value not in labels]
    if missing:
        raise WordingFileError(
            path,
            f"answer {', '.join(map(str, missing))} {'has' if len(missing) == 1 else 'have'} no label",
            item=structure.key,
        )
    return MappingProxyType(dict(sorted(labels.items())))


def read_wording_file(path: str | PathLike[str]) -> InstrumentWording:
    """Read and validate one site wording file; WordingFileError names what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WordingFileError(path, "no such file") from None
    except UnicodeDecodeError:
        raise WordingFileError(path, "the file is not UTF-8 text") from None
    except OSError as error:
        raise WordingFileError(path, f"cannot be read ({error.strerror})") from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys(path))
    except json.JSONDecodeError as error:
        raise WordingFileError(
            path, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(data, dict):
        raise WordingFileError(path, "the file must hold one JSON object")
    _keys(path, data, _REQUIRED_KEYS, _OPTIONAL_KEYS, "the file")
    if data["format"] != FORMAT:
        raise WordingFileError(path, f"format must be {FORMAT!r}, got {data['format']!r}")
    name = data["instrument"]
    if name not in INSTRUMENTS:
        raise WordingFileError(
            path, f"instrument must be one of {', '.join(INSTRUMENTS)}, got {name!r}"
        )
    structure = INSTRUMENTS[name]
    language = _text(path, data["language"], "language")
    if not _LANGUAGE_TAG.match(language):
        raise WordingFileError(
            path, f"language must be a language tag such as 'en-GB', got {language!r}"
        )
    version = _text(path, data["version"], "version")
    instructions = structure.neutral_instructions
    if "instructions" in data:
        instructions = _text(path, data["instructions"], "instructions")

    licence = data.get("licence")
    if licence is None and structure.copyrighted:
        raise WordingFileError(
            path,
            f"'licence' (holder and reference) is required: {structure.title} wording is used "
            f"only under licence from {structure.rights_holder}",
        )
    notice = ""
    if licence is not None:
        if not isinstance(licence, dict):
            raise WordingFileError(path, "licence must be an object with holder and reference")
        _keys(path, licence, _LICENCE_KEYS, frozenset(), "licence")
        holder = _text(path, licence["holder"], "licence holder")
        _text(path, licence["reference"], "licence reference")
        notice = f"{structure.title} wording used under licence from {holder}, {version}"

    items = data["items"]
    if not isinstance(items, dict):
        raise WordingFileError(path, "items must be an object of item key to its wording")
    expected = [item.key for item in structure.items]
    missing = [key for key in expected if key not in items]
    extra = [key for key in items if key not in expected]
    if missing:
        raise WordingFileError(path, f"{structure.title} items missing: {', '.join(missing)}")
    if extra:
        raise WordingFileError(
            path,
            f"not items of {structure.title}: {', '.join(map(repr, extra))} "
            f"(its items are {', '.join(expected)})",
        )
    questions = {}
    labels = {}
    for item in structure.items:
        wording = items[item.key]
        if not isinstance(wording, dict):
            raise WordingFileError(
                path, "must be an object with question and answers", item=item.key
            )
        _keys(path, wording, _ITEM_KEYS, frozenset(), "the item", item=item.key)
        questions[item.key] = _text(path, wording["question"], "question", item=item.key)
        labels[item.key] = _answers(path, item, wording["answers"])
    return InstrumentWording(
        instrument=structure,
        language=language,
        version=version,
        instructions=instructions,
        questions=MappingProxyType(questions),
        labels=MappingProxyType(labels),
        licensed=licence is not None,
        notice=notice,
        source_file=path,
    )


def wording_file_name(name: str, language: str) -> str:
    """The file name a site gives instrument ``name``'s wording in ``language``:
    ``<instrument>.<language>.json``, e.g. ``eq5d5l.en-GB.json``."""
    return f"{instrument(name).name}.{language}{FILE_SUFFIX}"


def _files_in(directory: Path) -> dict[tuple[str, str], Path]:
    """The wording files of a directory by (instrument, lower-case language); a JSON file with
    another kind of name is an error, so a misnamed file is not silently ignored."""
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(directory.glob(f"*{FILE_SUFFIX}")):
        name, _, language = path.name[: -len(FILE_SUFFIX)].partition(".")
        if name not in INSTRUMENTS or not _LANGUAGE_TAG.match(language):
            raise WordingFileError(
                path,
                "wording files are named <instrument>.<language>.json, with instrument one of "
                f"{', '.join(INSTRUMENTS)} and a language tag such as en-GB "
                f"(e.g. {wording_file_name('eq5d5l', 'en-GB')})",
            )
        key = (name, language.lower())
        if key in found:
            raise WordingFileError(
                path, f"a second file for {name} in {language} (and {found[key].name})"
            )
        found[key] = path
    return found


def _checked(path: Path, wording: InstrumentWording, name: str, language: str) -> InstrumentWording:
    if wording.instrument.name != name:
        raise WordingFileError(
            path, f"the file is named for {name} but holds instrument {wording.instrument.name!r}"
        )
    if wording.language.lower() != language.lower():
        raise WordingFileError(
            path, f"the file is for language {wording.language!r}, not {language!r}"
        )
    return wording


def load_wording(path_or_dir: str | PathLike[str] | None, language: str) -> QuestionnaireWording:
    """The wording of every instrument in ``language``.

    ``path_or_dir``: the site's wording directory (one ``<instrument>.<language>.json`` per
    instrument and language; languages match without regard to case), a single wording
    file, or None (no wording installed). Each instrument without a file for ``language`` gets
    the neutral labels; there is no fall-back from one language to another, because a
    licensed wording is licensed per language version. Raises WordingFileError for a missing
    directory, a misnamed file or a file that does not match the structure.
    """
    if not isinstance(language, str) or not _LANGUAGE_TAG.match(language):
        raise ValueError(f"language must be a language tag such as 'en-GB', got {language!r}")
    chosen = {name: neutral_instrument_wording(name) for name in INSTRUMENTS}
    if path_or_dir is not None:
        path = Path(path_or_dir)
        if path.is_dir():
            for (name, file_language), file in _files_in(path).items():
                if file_language == language.lower():
                    chosen[name] = _checked(file, read_wording_file(file), name, language)
        elif path.is_file():
            wording = read_wording_file(path)
            chosen[wording.instrument.name] = _checked(
                path, wording, wording.instrument.name, language
            )
        else:
            raise WordingFileError(path, "no such wording directory or file")
    return QuestionnaireWording(language=language, instruments=MappingProxyType(chosen))


def read_wording_dir(directory: str | PathLike[str]) -> tuple[InstrumentWording, ...]:
    """Validate every wording file of a site's directory, in every language (a check to run
    when the files are installed, before a patient meets a fault); WordingFileError names the
    first file at fault."""
    path = Path(directory)
    if not path.is_dir():
        raise WordingFileError(path, "no such wording directory")
    return tuple(
        _checked(file, read_wording_file(file), name, language)
        for (name, language), file in _files_in(path).items()
    )
