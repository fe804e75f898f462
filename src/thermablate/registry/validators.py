from django.core.exceptions import ValidationError
from django.utils import timezone
from nhs_number import is_valid


def validate_nhs_number(value: str) -> None:
    """Ten digits whose last is the modulus-11 check digit (NHS Data Dictionary: NHS Number)."""
    if not (isinstance(value, str) and len(value) == 10 and value.isdigit() and is_valid(value)):
        raise ValidationError(
            "Enter a valid 10-digit NHS number; check the digits, the check digit does not match."
        )


def normalise_nhs_number(raw: str) -> str:
    """Accept the usual written forms: '943 476 5919', '943-476-5919'."""
    return "".join(ch for ch in str(raw) if not ch.isspace() and ch != "-")


def validate_not_future(value) -> None:
    if value and value > timezone.localdate():
        raise ValidationError("The date cannot be in the future.")
