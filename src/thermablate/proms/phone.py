"""UK mobile numbers, as GOV.UK Notify accepts them for text messages.

Ofcom's National Telephone Numbering Plan gives UK mobile numbers as 07 followed by nine
digits (the 07 range also holds personal numbers, 070, and pagers, 076, which cannot receive
text messages reliably, so those two are refused). Written in the international form the same
number is +44 7..., or 0044 7....
"""

import re

from django.core.exceptions import ValidationError

_MOBILE = re.compile(r"07[1-57-9]\d{8}")


def normalise_uk_mobile(raw: str) -> str:
    """07... with no spaces, brackets or hyphens; +44 and 0044 prefixes become 0."""
    digits = re.sub(r"[\s()\-]", "", raw or "")
    for prefix in ("+44", "0044"):
        if digits.startswith(prefix):
            digits = "0" + digits[len(prefix) :].removeprefix("0")
    return digits


def validate_uk_mobile(value: str) -> None:
    if value and not _MOBILE.fullmatch(normalise_uk_mobile(value)):
        raise ValidationError(
            "Enter a UK mobile number: 11 digits starting 07, for example 07700 900123.",
            code="invalid_mobile",
        )
