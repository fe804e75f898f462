"""Identifiers encrypted at rest, with a keyed hash to find them.

The NHS number is stored as a Fernet token (AES-128-CBC with HMAC-SHA256, from the
``cryptography`` package), so a database dump alone does not reveal it. Fernet tokens are
randomised, so equality lookups use a separate HMAC-SHA256 of the value under its own key.
Keys come from settings (``FIELD_ENCRYPTION_KEYS``: newest first, older ones still decrypt,
which is how a key is rotated; ``IDENTIFIER_HASH_KEY``). The hospital number (MRN) is kept
the same way.
"""

import hashlib
import hmac
import re
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

_PREFIX = "fernet:"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _PREFIX + cipher().encrypt(value.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(_PREFIX):
        return stored  # a value written before encryption; the migration encrypts these
    try:
        return cipher().decrypt(stored[len(_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError(
            "cannot decrypt an identifier: FIELD_ENCRYPTION_KEYS lacks the key it was written with"
        ) from None


def rotate(stored: str) -> str:
    """The same value encrypted with the newest key."""
    if not stored.startswith(_PREFIX):
        return encrypt(stored)
    return _PREFIX + cipher().rotate(stored[len(_PREFIX) :].encode()).decode()


def key_id(key: str) -> str:
    """A short name for a key that reveals nothing of it: the audit trail says which key a
    value was encrypted under, never the key or the value."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def newest_key_id() -> str:
    return key_id(settings.FIELD_ENCRYPTION_KEYS[0])


def key_id_of(stored: str) -> str:
    """Which configured key decrypts this stored token ("plaintext" for a value stored before
    encryption)."""
    if not stored.startswith(_PREFIX):
        return "plaintext"
    token = stored[len(_PREFIX) :].encode()
    for key in settings.FIELD_ENCRYPTION_KEYS:
        try:
            Fernet(key.encode()).decrypt(token)
        except InvalidToken:
            continue
        return key_id(key)
    raise ValueError(
        "cannot decrypt an identifier: FIELD_ENCRYPTION_KEYS lacks the key it was written with"
    )


def identifier_hash(value: str) -> str:
    key = settings.IDENTIFIER_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# A hospital number (MRN) has no national format: each trust issues its own. We accept what
# they have in common, 1-20 ASCII letters, digits and hyphens, so a stray space, a Unicode
# look-alike digit or a pasted name is refused rather than silently hashed into a number
# that no search will ever find again.
HOSPITAL_NUMBER_MAX_LENGTH = 20
_HOSPITAL_NUMBER = re.compile(rf"[A-Za-z0-9-]{{1,{HOSPITAL_NUMBER_MAX_LENGTH}}}", re.ASCII)


def normalise_hospital_number(raw: str) -> str:
    """Trimmed and in capitals, so "rx 123" typed twice is the same key: letters in an MRN
    do not distinguish patients by case."""
    return raw.strip().upper() if isinstance(raw, str) else raw


def validate_hospital_number(value: str) -> None:
    if not isinstance(value, str) or not _HOSPITAL_NUMBER.fullmatch(value):
        raise ValidationError(
            "Enter the hospital number as 1 to 20 letters (A-Z), digits (0-9) or hyphens, "
            "with no spaces.",
            code="invalid_hospital_number",
        )


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the database."""

    def formfield(self, **kwargs):
        # An identifier is one short line, not a paragraph: a text box, not a text area.
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off"}))
        return super().formfield(**kwargs)

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return value if value.startswith(_PREFIX) else encrypt(value)

    def value_to_string(self, obj):
        # Serialised (backups, fixtures) as ciphertext: a backup file reveals no more than the
        # database. Loading it stores the token unchanged.
        value = self.value_from_object(obj)
        return value if value in (None, "") or value.startswith(_PREFIX) else encrypt(value)


class KeyedHashField(models.CharField):
    """HMAC-SHA256 of another field, filled in on every save (bulk_create included)."""

    def __init__(self, *args, source: str = "", **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.source)
        if value and value.startswith(_PREFIX):  # loaded from a backup: still the token
            value = decrypt(value)
        digest = identifier_hash(value) if value else ""
        setattr(model_instance, self.attname, digest)
        return digest
