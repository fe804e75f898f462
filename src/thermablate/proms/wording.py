"""The questionnaire's words at this site: its licensed wording files if it installed them
(``THERMABLATE_WORDING_DIR``, one ``<instrument>.<language>.json`` each; docs/questionnaires.md),
else the neutral labels. Read once per process; a broken file stops the pages with its error
(better than asking a question in words nobody checked)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from thermablate.clinical import questionnaire_wording as qw


@cache
def site_wording() -> qw.QuestionnaireWording:
    return qw.load_wording(
        settings.THERMABLATE_WORDING_DIR or None, settings.THERMABLATE_WORDING_LANGUAGE
    )


def question(instrument: str, item: str) -> str:
    return site_wording().question(instrument, item)


def answer_label(instrument: str, item: str, value: int) -> str:
    """An answer as the option shows it: a choice's own label; a scale's number, with its
    anchor at either end ("0 (No pain)", "5", "10 (Worst pain imaginable)")."""
    label = site_wording().answer_label(instrument, item, value)
    if qw.instrument(instrument).item(item).kind == "choice":
        return label
    return f"{value} ({label})" if label else str(value)


def version(instrument: str) -> str:
    """The wording's version, recorded with the answers given under it."""
    return site_wording()[instrument].version


def end_label(instrument: str, item: str, value: int) -> str:
    """The anchor of a scale's end, as the wording gives it ("Best health")."""
    return site_wording().answer_label(instrument, item, value)


def notices() -> tuple[str, ...]:
    return site_wording().notices
