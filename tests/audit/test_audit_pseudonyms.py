"""The export pseudonym is the keyed hash its module documents: HMAC-SHA256 of the registry
number under key = SHA-256("thermablate-export:" + SECRET_KEY), first 16 hex digits. Not an
unkeyed hash, which anyone holding a registry number could recompute."""

import hashlib
import hmac

from thermablate.audit.exports.pseudonyms import date_shift_days, pseudonym

SECRET_KEY = "known-answer-test-key-not-for-production"
REGISTRY_NUMBER = "TB-4K7Q2M"
# Computed once with hashlib and hmac from the documented construction (see the next test).
KNOWN_ANSWER = "511a6358b394bd68"


def documented_pseudonym(secret_key: str, registry_number: str) -> str:
    key = hashlib.sha256(("thermablate-export:" + secret_key).encode("utf-8")).digest()
    digest = hmac.new(key, registry_number.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:16]


def test_it_gives_the_known_answer_under_a_fixed_key(settings):
    settings.SECRET_KEY = SECRET_KEY
    assert documented_pseudonym(SECRET_KEY, REGISTRY_NUMBER) == KNOWN_ANSWER
    assert pseudonym(REGISTRY_NUMBER) == KNOWN_ANSWER


def test_it_is_not_an_unkeyed_hash_of_the_registry_number(settings):
    settings.SECRET_KEY = SECRET_KEY
    unkeyed = hashlib.sha256(REGISTRY_NUMBER.encode("utf-8")).hexdigest()
    assert pseudonym(REGISTRY_NUMBER) not in (unkeyed[:16], unkeyed[-16:])


def test_another_key_gives_another_pseudonym_and_date_shift(settings):
    settings.SECRET_KEY = SECRET_KEY
    first = pseudonym(REGISTRY_NUMBER)
    shifts = [date_shift_days(f"TB-{n:06d}") for n in range(20)]
    settings.SECRET_KEY = SECRET_KEY + "-rotated"
    assert pseudonym(REGISTRY_NUMBER) != first
    assert pseudonym(REGISTRY_NUMBER) == documented_pseudonym(
        SECRET_KEY + "-rotated", REGISTRY_NUMBER
    )
    assert [date_shift_days(f"TB-{n:06d}") for n in range(20)] != shifts
