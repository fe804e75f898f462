"""The rule of two-factor sign-in: which step a signed-in session still owes after its
password. One rule for the pages (``thermablate.web`` middleware and set-up page) and the API
(its session authentication), so they cannot disagree about which sessions are fully signed in.
"""

from dataclasses import dataclass

from django_otp.plugins.otp_totp.models import TOTPDevice

from thermablate.registry.models import RoleSecurityPolicy, StaffProfile


@dataclass(frozen=True)
class SecondFactorStep:
    """A sign-in step that a session still owes after its password."""

    page: str  # URL name of the page where the user takes the step
    instruction: str  # what an API client is told instead, as it cannot be sent to that page


ENTER_CODE = SecondFactorStep(
    "two_factor_verify",
    "This session has not finished signing in: complete two-factor sign-in in the browser "
    "(enter the code from your authenticator app), then try again.",
)
SET_UP_AUTHENTICATOR = SecondFactorStep(
    "two_factor_setup",
    "Your role requires two-factor sign-in: set up an authenticator app in the browser, "
    "then try again.",
)


def has_confirmed_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def role_requires_two_factor(user) -> bool:
    try:
        role = user.staff.role
    except StaffProfile.DoesNotExist:
        return False
    return RoleSecurityPolicy.objects.filter(role=role, require_two_factor=True).exists()


def session_is_verified(user) -> bool:
    """Whether this session gave a code from one of the user's confirmed authenticators."""
    # django-otp's OTPMiddleware installs is_verified(); where it has not run, no code was
    # checked, so the answer is no rather than an AttributeError.
    is_verified = getattr(user, "is_verified", None)
    return is_verified is not None and is_verified()


def pending_second_factor(user) -> SecondFactorStep | None:
    """The step a signed-in session must take before it may see or change anything, or None.

    A user with a confirmed authenticator gives its code at every sign-in; a user whose role
    requires two-factor sign-in (RoleSecurityPolicy) and has no authenticator sets one up first.
    """
    if not user.is_authenticated or session_is_verified(user):
        return None
    if has_confirmed_authenticator(user):
        return ENTER_CODE
    if role_requires_two_factor(user):
        return SET_UP_AUTHENTICATOR
    return None
