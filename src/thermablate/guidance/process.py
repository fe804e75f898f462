"""Where a topic stands in NICE's interventional procedures process (pure).

The stages follow NICE's description of the process on its in-development pages (seed 001):
notification, a first committee meeting (IPAC), a 4-week public consultation, a second committee
meeting that considers the comments, resolution, then publication. Each stage is named in NICE's
words from the one mapping, wording.EVENT_WORDS.
"""

from dataclasses import dataclass
from datetime import date

from thermablate.guidance.dates import date_in_words
from thermablate.guidance.wording import EVENT_WORDS

STAGE_KEYS: tuple[str, ...] = (
    "notification",
    "ipac_1",
    "consultation_start",
    "consultation_end",
    "ipac_2",
    "resolution",
    "expected_publication",
    "published",
)
STAGES: tuple[tuple[str, str], ...] = tuple((key, EVENT_WORDS[key]) for key in STAGE_KEYS)


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    when: str | None  # ISO date, possibly only year-month ("2023-04")
    state: str  # "done", "next" or "upcoming" ("unknown" when undated)

    @property
    def when_in_words(self) -> str | None:
        return date_in_words(self.when) if self.when else None


def _as_date(iso: str) -> date:
    """The last day a month-precision date could mean is not needed: the first is enough to
    order stages, and a stage dated only by month counts as reached once that month starts."""
    parts = [int(p) for p in iso.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def process_timeline(dates: dict[str, str], today: date) -> list[Stage]:
    stages = []
    next_marked = False
    for key, label in STAGES:
        when = dates.get(key)
        if when is None:
            stages.append(Stage(key, label, None, "unknown"))
            continue
        if _as_date(when) <= today:
            state = "done"
        elif not next_marked:
            state, next_marked = "next", True
        else:
            state = "upcoming"
        stages.append(Stage(key, label, when, state))
    return stages


def standing(stages: list[Stage]) -> str:
    done = [s for s in stages if s.state == "done"]
    upcoming = [s for s in stages if s.state == "next"]
    if not done and not upcoming:
        return "No dated stage is known."
    text = (
        f"Last stage reached: {done[-1].label} ({done[-1].when_in_words})."
        if done
        else "No stage reached yet."
    )
    if upcoming:
        text += f" Next: {upcoming[0].label} ({upcoming[0].when_in_words})."
    elif done and done[-1].key in {"expected_publication", "published"}:
        text += " The expected publication date has passed: check NICE for the final guidance."
    return text
