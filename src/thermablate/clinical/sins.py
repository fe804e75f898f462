"""Spinal Instability Neoplastic Score (SINS), scored from its six component answers.

Source: Fisher CG, DiPaola CP, Ryken TC, et al. A novel classification system for spinal
instability in neoplastic disease. Spine 2010;35(22):E1221-E1229.
doi:10.1097/BRS.0b013e3181e16ae2. Six components (location, pain, bone lesion, radiographic
alignment, vertebral body collapse, posterolateral involvement) each give points; their sum
(0-18) places the lesion in one of three categories: 0-6 stable, 7-12 indeterminate (possibly
impending instability), 13-18 unstable. The points table is the versioned data file
``data/sins_points.csv``, whose header cites its source.

The registry keeps the raw answers and derives the score here, never storing the total.
Location is not asked: it follows from the lesion's spinal level(s) through the regions of the
table (``location_of_levels``); a lesion spanning regions takes the highest-scoring one it
involves (our choice, stated in the data file). A lesion outside the spine has no SINS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from thermablate.clinical.datafiles import read_data_file
from thermablate.clinical.spine import parse_levels

DATA_FILE = "sins_points.csv"
SOURCE = "Fisher et al., Spine 2010;35(22):E1221-E1229, doi:10.1097/BRS.0b013e3181e16ae2"

LOCATION = "location"
# The five components a person answers; the sixth, location, is derived from the level.
ANSWERED_COMPONENTS = ("pain", "bone_lesion", "alignment", "collapse", "posterolateral")
COMPONENTS = (LOCATION, *ANSWERED_COMPONENTS)

STABLE, INDETERMINATE, UNSTABLE = "stable", "indeterminate", "unstable"
# (category, lowest total, highest total, label), Fisher 2010.
CATEGORIES = (
    (STABLE, 0, 6, "Stable"),
    (INDETERMINATE, 7, 12, "Indeterminate (possibly impending instability)"),
    (UNSTABLE, 13, 18, "Unstable"),
)
TOTAL_MIN, TOTAL_MAX = 0, 18


class SinsError(ValueError):
    """An unknown component or answer, or levels that cannot be placed in a region."""


@dataclass(frozen=True)
class Answer:
    component: str
    code: str
    points: int
    label: str
    levels: tuple[str, ...] = ()  # for location answers: the spinal levels of the region


@dataclass(frozen=True)
class SinsScore:
    points: Mapping[str, int]  # component -> points, all six
    total: int
    category: str

    @property
    def category_label(self) -> str:
        return category_label(self.category)


@cache
def _table() -> tuple[dict[str, list[str]], tuple[Answer, ...]]:
    meta, rows = read_data_file(DATA_FILE)
    answers = []
    for row in rows:
        levels: list[str] = []
        for span in filter(None, row["levels"].split(";")):
            levels.extend(parse_levels(span))
        answers.append(
            Answer(row["component"], row["answer"], int(row["points"]), row["label"], tuple(levels))
        )
    return meta, tuple(answers)


def table_version() -> str:
    return _table()[0]["version"][0]


def answers(component: str) -> tuple[Answer, ...]:
    """The answers of one component, highest points first, as the table lists them."""
    if component not in COMPONENTS:
        raise SinsError(f"unknown SINS component {component!r}: one of {', '.join(COMPONENTS)}")
    return tuple(a for a in _table()[1] if a.component == component)


def choices(component: str) -> list[tuple[str, str]]:
    """(code, label with points) pairs for a form's choices."""
    return [(a.code, f"{a.label} ({a.points})") for a in answers(component)]


def points(component: str, code: str) -> int:
    for answer in answers(component):
        if answer.code == code:
            return answer.points
    known = ", ".join(a.code for a in answers(component))
    raise SinsError(f"unknown answer {code!r} for SINS {component}: one of {known}")


def location_of_level(level: str) -> str:
    """The location answer (junctional, mobile, semi_rigid, rigid) of one level, e.g. "T12"."""
    (normalised,) = parse_levels(level)
    for answer in answers(LOCATION):
        if normalised in answer.levels:
            return answer.code
    raise SinsError(f"spinal level {normalised} is in no SINS region of {DATA_FILE}")


def location_of_levels(levels: str | Iterable[str]) -> str:
    """The location answer of a lesion at these levels ("T10-T11", or a list of levels): the
    highest-scoring region any of them lies in."""
    parsed = parse_levels(levels) if isinstance(levels, str) else list(levels)
    if not parsed:
        raise SinsError("SINS location needs the lesion's spinal level(s)")
    return max((location_of_level(level) for level in parsed), key=lambda c: points(LOCATION, c))


def category(total: int) -> str:
    if isinstance(total, bool) or not isinstance(total, int):
        raise SinsError(f"a SINS total is a whole number, got {total!r}")
    for name, low, high, _ in CATEGORIES:
        if low <= total <= high:
            return name
    raise SinsError(f"a SINS total lies between {TOTAL_MIN} and {TOTAL_MAX}, got {total}")


def category_label(name: str) -> str:
    for code, _, _, label in CATEGORIES:
        if code == name:
            return label
    raise SinsError(f"unknown SINS category {name!r}")


def score(levels: str | Iterable[str], answered: Mapping[str, str]) -> SinsScore:
    """The SINS of a lesion at ``levels`` from its five answered components (codes).

    Raises SinsError when an answer is missing or unknown: a partial SINS is not a SINS.
    """
    missing = [name for name in ANSWERED_COMPONENTS if not answered.get(name)]
    if missing:
        raise SinsError(f"SINS needs every component; missing: {', '.join(missing)}")
    by_component = {LOCATION: points(LOCATION, location_of_levels(levels))}
    by_component.update({name: points(name, answered[name]) for name in ANSWERED_COMPONENTS})
    total = sum(by_component.values())
    return SinsScore(points=by_component, total=total, category=category(total))
