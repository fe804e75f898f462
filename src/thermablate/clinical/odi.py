"""Oswestry Disability Index (ODI) version 2.1a, scored from its ten section answers.

Source: Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52.
doi:10.1097/00007632-200011150-00017. Each of the ten sections (pain intensity, personal care,
lifting, walking, sitting, standing, sleeping, sex life, social life, travelling) is answered
0-5. The index is the total divided by the total possible for the sections answered:

    ODI = sum / (5 x sections answered) x 100           (0 = no disability, 100 = maximum)

so a missed or "not applicable" section (often the sex-life section) lowers the denominator
by 5 instead of counting as 0. Fairbank & Pynsent's worked examples: 16 points from all ten
sections -> 16/50 = 32 %; 16 points with one section missed -> 16/45 = 35.6 %.

They set no limit on how many sections may be missing. Scoring two answers out of ten would
pass off a guess as an index, so we follow the common registry convention of scoring only
when at most two sections are missing (``MAX_MISSING_SECTIONS``); fewer answers give None.
This limit is our choice, not part of the published instrument.
"""

from __future__ import annotations

from collections.abc import Sequence

VERSION = "2.1a"
SOURCE = "Fairbank & Pynsent 2000, Spine 25(22):2940-52, doi:10.1097/00007632-200011150-00017"

SECTIONS = (
    "pain_intensity",
    "personal_care",
    "lifting",
    "walking",
    "sitting",
    "standing",
    "sleeping",
    "sex_life",
    "social_life",
    "travelling",
)
SECTION_MIN = 0
SECTION_MAX = 5
# Project convention (see module docstring): score when at least 8 of 10 sections are answered.
MAX_MISSING_SECTIONS = 2


def _validate(answers: Sequence[int | None]) -> list[int]:
    if isinstance(answers, str | bytes) or len(answers) != len(SECTIONS):
        raise ValueError(
            f"ODI needs {len(SECTIONS)} section answers (None for unanswered), got {answers!r}"
        )
    answered = []
    for section, answer in zip(SECTIONS, answers, strict=True):
        if answer is None:
            continue
        if (
            isinstance(answer, bool)
            or not isinstance(answer, int)
            or not SECTION_MIN <= answer <= SECTION_MAX
        ):
            raise ValueError(
                f"ODI section {section!r} must be a whole number from 0 to 5 or None, got {answer!r}"
            )
        answered.append(answer)
    return answered


def score(answers: Sequence[int | None]) -> float | None:
    """ODI (0-100) from ten section answers in ``SECTIONS`` order; None marks an unanswered section.

    Returns None when more than ``MAX_MISSING_SECTIONS`` sections are unanswered.
    """
    answered = _validate(answers)
    if len(SECTIONS) - len(answered) > MAX_MISSING_SECTIONS:
        return None
    return 100.0 * sum(answered) / (SECTION_MAX * len(answered))
