"""Identifiers encrypted at rest, with a keyed hash to find them.

The NHS number is stored as a Fernet token (AES-128-CBC with HMAC-SHA256, from the
``cryptography`` package), so a database dump alone does not reveal it. Fernet tokens are
randomised, so equality lookups use a separate HMAC-SHA256 of the value under its own key.
Keys come from settings (``FIELD_ENCRYPTION_KEYS``: newest first, older ones still decrypt,
which is how a key is rotated; ``IDENTIFIER_HASH_KEY``).
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
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


def identifier_hash(value: str) -> str:
    key = settings.IDENTIFIER_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the database."""

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
