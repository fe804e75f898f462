"""The links that open a patient's questionnaire, and the check that guards them.

A link carries 128 random bits (``secrets.token_urlsafe(16)``: 22 characters, short enough
for a text message or to type from a letter) and only its SHA-256 is stored. A random token
looked up by its hash needs no signature: it cannot be forged or altered into another valid
one, and a stolen database opens nothing. Every message gets its own link; all of an
invitation's links stop working together when it is completed, stopped or expires.

A link alone shows nothing: the patient confirms their year of birth first, so a forwarded
message or a shoulder-surfed link reveals no more than that a questionnaire exists. A year of
birth has only about a hundred plausible values, so wrong answers are counted per invitation
and never forgiven by waiting: every ``LOCK_EVERY`` wrong answers lock its links for
``LOCK_HOURS``, and at ``MAX_FAILED_CHECKS`` they stay locked until a member of staff, having
spoken to the patient, unlocks them (``proms.actions.unlock``). Ten guesses find a random
year of birth with a chance of about one in ten; a patient mistyping is rarely wrong ten
times. A right answer does not reset the count either: only staff do.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from thermablate.proms.models import (
    LOCK_EVERY,
    LOCK_HOURS,
    MAX_FAILED_CHECKS,
    Invitation,
    InvitationLink,
)

# Session key holding the invitations whose year of birth this browser confirmed.
CONFIRMED_KEY = "proms_confirmed"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(invitation: Invitation) -> str:
    """A fresh token for one message; the caller puts it into the message and forgets it."""
    token = secrets.token_urlsafe(16)
    InvitationLink.objects.create(invitation=invitation, token_hash=token_hash(token))
    return token


def public_url(token: str) -> str:
    """The link as the patient receives it: the site's public address and the token."""
    base = settings.THERMABLATE_PUBLIC_URL
    if not base:
        raise ImproperlyConfigured(
            "Set THERMABLATE_PUBLIC_URL (the address patients reach Thermablate at, for "
            "example https://followup.example.nhs.uk) before sending questionnaire links."
        )
    return base.rstrip("/") + reverse("proms_start", args=[token])


@dataclass(frozen=True)
class LinkState:
    invitation: Invitation | None
    # Why the questionnaire cannot be opened, in words for the patient (empty when it can).
    problem: str = ""

    @property
    def status(self) -> int:
        """An unknown link is "not found"; a known one that no longer opens is "gone"."""
        return 404 if self.problem == UNKNOWN else 410


UNKNOWN = (
    "This link does not work. Check you copied all of it, or use the most recent message we "
    "sent you."
)
EXPIRED = "This questionnaire has closed. You do not need to do anything."
DONE = "You have already sent us this questionnaire. Thank you."
LOCKED = (
    "This link is locked because the year of birth was wrong too many times. Try again "
    "tomorrow, or call the team who treated you."
)
LOCKED_FOR_GOOD = (
    "This link is locked because the year of birth was wrong too many times. Call the team "
    "who treated you: they can unlock it."
)


def resolve(token: str) -> LinkState:
    """The invitation a token opens, or why it opens none (never saying whose it was)."""
    if not token or len(token) > 64:
        return LinkState(None, UNKNOWN)
    try:
        link = InvitationLink.objects.select_related(
            "invitation__assessment__patient", "invitation__assessment__procedure"
        ).get(token_hash=token_hash(token))
    except InvitationLink.DoesNotExist:
        return LinkState(None, UNKNOWN)
    invitation = link.invitation
    if invitation.completed_at is not None:
        return LinkState(None, DONE)
    if invitation.stopped_at is not None or invitation.expires_at <= timezone.now():
        return LinkState(None, EXPIRED)
    if invitation.failed_checks >= MAX_FAILED_CHECKS:
        return LinkState(None, LOCKED_FOR_GOOD)
    if invitation.locked_until and invitation.locked_until > timezone.now():
        return LinkState(None, LOCKED)
    return LinkState(invitation)


def confirm_year_of_birth(invitation: Invitation, year: int) -> bool:
    """Is ``year`` the patient's year of birth? A wrong answer is counted (and may lock the
    links); nothing is checked while they are locked. Counted under a row lock, so parallel
    guesses cannot overrun the limits."""
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        locked = current.locked_until and current.locked_until > timezone.now()
        if locked or current.failed_checks >= MAX_FAILED_CHECKS:
            return False
        if year == current.assessment.patient.year_of_birth:
            return True
        failed = current.failed_checks + 1
        Invitation.objects.filter(pk=current.pk).update(
            failed_checks=failed,
            locked_until=timezone.now() + timedelta(hours=LOCK_HOURS)
            if failed % LOCK_EVERY == 0
            else current.locked_until,
        )
        return False


def remember_confirmed(session, invitation: Invitation) -> None:
    confirmed = set(session.get(CONFIRMED_KEY, []))
    confirmed.add(invitation.pk)
    session[CONFIRMED_KEY] = sorted(confirmed)
    # A new session key once the check passes, so a session fixed before it gains nothing.
    session.cycle_key()


def is_confirmed(session, invitation: Invitation) -> bool:
    return invitation.pk in session.get(CONFIRMED_KEY, [])
