import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from nhs_number import is_valid

# Only these count as digits. str.isdigit() and int() also accept every script's decimal
# digits (fullwidth, Arabic-Indic, Devanagari...), and each spelling has its own keyed hash, so
# one person could be registered once per script and never be found by a search.
NHS_NUMBER_DIGITS = frozenset("0123456789")
# The separators of the usual printed forms: ASCII space and hyphen-minus, nothing else.
NHS_NUMBER_SEPARATORS = (" ", "-")


def validate_nhs_number(value: str) -> None:
    """Ten ASCII digits whose last is the modulus-11 check digit (NHS Data Dictionary: NHS
    Number)."""
    if not isinstance(value, str):
        raise ValidationError("Enter the NHS number as text: 10 digits.")
    stray = next((ch for ch in value if ch not in NHS_NUMBER_DIGITS), None)
    if stray is not None:
        raise ValidationError(
            "Enter the NHS number in the digits 0 to 9 only (spaces and hyphens are allowed); "
            f"it contains {_describe_character(stray)}."
        )
    if len(value) != 10:
        raise ValidationError(f"Enter a valid 10-digit NHS number; this has {len(value)} digits.")
    if not is_valid(value):
        raise ValidationError(
            "Enter a valid 10-digit NHS number; check the digits, the check digit does not match."
        )


def _describe_character(ch: str) -> str:
    # Named, because a fullwidth or Arabic-Indic digit looks like a digit to the person typing.
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".rstrip()


def normalise_nhs_number(raw: str) -> str:
    """Remove the separators of the usual written forms ('943 476 5919', '943-476-5919') and
    change nothing else, so that validate_nhs_number sees and refuses any other character."""
    text = str(raw)
    for separator in NHS_NUMBER_SEPARATORS:
        text = text.replace(separator, "")
    return text


def validate_not_future(value) -> None:
    if value and value > timezone.localdate():
        raise ValidationError("The date cannot be in the future.")
