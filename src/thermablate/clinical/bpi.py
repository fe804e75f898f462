"""Brief Pain Inventory short form (BPI-SF): pain severity and pain interference.

Source: Cleeland CS. The Brief Pain Inventory User Guide. Houston: M. D. Anderson Cancer
Center; 2009 (and Cleeland CS, Ryan KM. Pain assessment: global use of the Brief Pain
Inventory. Ann Acad Med Singapore 1994;23(2):129-38). All items are 0-10 ratings.

- Pain severity: the mean of items 3-6 (pain at its worst, least, average, and now). The
  user guide gives no rule for a missing severity item and its authors recommend using all
  four, because the BPI was validated with all four; we therefore score severity only when
  all four are answered.
- Pain interference: the mean of the seven items 9A-G (general activity, mood, walking
  ability, normal work, relations with other people, sleep, enjoyment of life). The user
  guide allows the mean "if more than 50 %, or four of seven" items are answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

VERSION = "BPI-SF (Cleeland 2009 user guide)"
SOURCE = "Cleeland CS. The Brief Pain Inventory User Guide. M. D. Anderson Cancer Center, 2009"

SEVERITY_ITEMS = ("worst", "least", "average", "now")  # items 3, 4, 5, 6
INTERFERENCE_ITEMS = (
    "general_activity",  # 9A
    "mood",  # 9B
    "walking_ability",  # 9C
    "normal_work",  # 9D
    "relations_with_others",  # 9E
    "sleep",  # 9F
    "enjoyment_of_life",  # 9G
)
ITEM_MIN = 0
ITEM_MAX = 10
# BPI user guide: interference mean usable when more than 50 % (4 of 7) items are answered.
MIN_INTERFERENCE_ITEMS = 4


def _answered(items: Sequence[int | None], names: Sequence[str], scale: str) -> list[int]:
    if isinstance(items, str | bytes) or len(items) != len(names):
        raise ValueError(
            f"BPI {scale} needs {len(names)} items (None for unanswered), got {items!r}"
        )
    answered = []
    for name, item in zip(names, items, strict=True):
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, int) or not ITEM_MIN <= item <= ITEM_MAX:
            raise ValueError(
                f"BPI item {name!r} must be a whole number from 0 to 10 or None, got {item!r}"
            )
        answered.append(item)
    return answered


def severity(items: Sequence[int | None]) -> float | None:
    """Mean of worst, least, average and now (items 3-6); None unless all four are answered."""
    answered = _answered(items, SEVERITY_ITEMS, "pain severity")
    if len(answered) < len(SEVERITY_ITEMS):
        return None
    return fmean(answered)


def interference(items: Sequence[int | None]) -> float | None:
    """Mean of the answered interference items 9A-G; None when fewer than 4 of 7 are answered."""
    answered = _answered(items, INTERFERENCE_ITEMS, "pain interference")
    if len(answered) < MIN_INTERFERENCE_ITEMS:
        return None
    return fmean(answered)
