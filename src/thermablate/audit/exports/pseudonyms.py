"""Pseudonyms and date handling for exports that leave the hospital.

- Pseudonym: the first 16 hex digits of HMAC-SHA256(key, registry number), with
  key = SHA-256("thermablate-export:" + SECRET_KEY) (both strings UTF-8): derived from the
  installation's SECRET_KEY, and kept apart from Django's own uses of it by the prefix.
  Stable across exports of one installation (a register can link a patient's submissions)
  and not reversible without the key; the registry number itself is never exported in a
  pseudonymised file.
- CSV: dates are reduced to intervals: days from the procedure (day 0), with the procedure
  given only as its year; age at the procedure in whole years replaces the year of birth.
- FHIR: dates must be dates, so each patient's dates are shifted by the same offset, from
  -182 to +182 days, drawn from the keyed hash: intervals within a patient are kept, calendar
  dates are not. No birth date is exported.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta
from functools import lru_cache

from django.conf import settings

MAX_SHIFT_DAYS = 182


@lru_cache(maxsize=2)
def _key_for(secret_key: str) -> bytes:
    return hashlib.sha256(("thermablate-export:" + secret_key).encode()).digest()


def _digest(registry_number: str) -> bytes:
    # The key of the current SECRET_KEY, looked up at each call rather than fixed at the first:
    # a changed setting (a test, a new key) gives the pseudonyms of its own key.
    key = _key_for(settings.SECRET_KEY)
    return hmac.new(key, registry_number.encode(), hashlib.sha256).digest()


def pseudonym(registry_number: str) -> str:
    return _digest(registry_number).hex()[:16]


def date_shift_days(registry_number: str) -> int:
    value = int.from_bytes(_digest(registry_number)[16:20], "big")
    return value % (2 * MAX_SHIFT_DAYS + 1) - MAX_SHIFT_DAYS


def shifted(value: date | None, shift_days: int) -> date | None:
    return None if value is None else value + timedelta(days=shift_days)


def days_between(start: date, value: date | None) -> int | None:
    return None if value is None else (value - start).days
