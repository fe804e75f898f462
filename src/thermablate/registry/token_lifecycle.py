"""The life of an API bearer token: issued with a scope and an expiry, checked on every request,
revoked one at a time or all together, and revoked for good when its account is deactivated.

Each step is written to the hash-chained audit trail (``model="apitoken"``, ``object_id`` = the
token's row, ``public_id`` in the changes); the secret never is, nor its hash. The command line
(``thermablate api_token``) issues and revokes; the API's bearer authentication
(``registry.api.BearerToken``) calls ``authenticate``; ``connect_token_lifecycle`` (from
``RegistryConfig.ready``) ties the tokens to their account's active status.

Why revoke at deactivation rather than check the account at each request only: a check of
``is_active`` alone lets every token work again the moment an account is reactivated, which
is how a leaver's forgotten feed would come back. Revoking is a stored fact, kept with its
time, so reactivation brings no token back. The account's own model signal catches every
path that saves it (the admin pages, the shell, a command); a bulk update that bypasses the
signal is caught at the next presentation of a token (refused and revoked, since its account
is inactive) or when the account is saved active again (which revokes whatever is still live).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from thermablate.registry.actions import record_audit
from thermablate.registry.models import ApiToken, AuditEvent

TOKEN_PREFIX = "tb_"
DEFAULT_LIFETIME_DAYS = 90
# A year and a leap day: a token outlives no annual review of who holds one.
MAX_LIFETIME_DAYS = 366
# Methods that change nothing (RFC 9110, section 9.2.1); any other method is a write.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Audit actions (at most 10 characters, the trail's column).
ISSUED, REVOKED, USED, REFUSED = "create", "revoke", "token-use", "token-fail"


class TokenRefused(Exception):
    """A known token that may no longer be used (revoked, expired, or its account inactive).

    ``str()`` is the message for the caller; ``reason`` is the short word for the trail."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    api_token: ApiToken
    bearer: str  # the whole token: shown once, then only its hash exists


def token_hash(bearer: str) -> str:
    # The token carries 256 random bits, so a plain SHA-256 suffices: there is no small space
    # of guesses that a slow, salted hash would protect (as there is for a password).
    return hashlib.sha256(bearer.encode()).hexdigest()


def local_time(moment) -> str:
    """A token's dates as people read them (local time, to the minute); "" for none."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _start_of_today():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def _unused_public_id() -> str:
    while True:
        public_id = ApiToken._meta.get_field("public_id").get_default()
        if not ApiToken.objects.filter(public_id=public_id).exists():
            return public_id


# ---- issuing and revoking -------------------------------------------------------------------


@transaction.atomic
def issue_token(
    user,
    *,
    name: str,
    scope: str = ApiToken.Scope.READ,
    lifetime_days: int = DEFAULT_LIFETIME_DAYS,
    acting_user=None,
) -> IssuedToken:
    """A new token for ``user``; ``acting_user`` is who issued it (None: the command line)."""
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise ValidationError(
            f"A token's lifetime must be between 1 and {MAX_LIFETIME_DAYS} days, "
            f"not {lifetime_days}."
        )
    public_id = _unused_public_id()
    bearer = f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    api_token = ApiToken(
        user=user,
        name=name,
        public_id=public_id,
        key_hash=token_hash(bearer),
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    api_token.full_clean()
    api_token.save()
    record_audit(
        acting_user,
        ISSUED,
        api_token,
        None,
        {
            "user": user.username,
            "name": name,
            "public_id": public_id,
            "scope": scope,
            "expires_at": api_token.expires_at.isoformat(),
        },
    )
    return IssuedToken(api_token, bearer)


@transaction.atomic
def revoke_token(api_token: ApiToken, *, acting_user, reason: str) -> bool:
    """Mark the token revoked (it is kept, for the trail); False if it already was."""
    now = timezone.now()
    # Conditional, so two revocations at once write one entry and keep the first time.
    if not ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    api_token.revoked_at = now
    record_audit(
        acting_user,
        REVOKED,
        api_token,
        None,
        {"public_id": api_token.public_id, "user": api_token.user.username, "reason": reason},
    )
    return True


@transaction.atomic
def revoke_all_tokens(user, *, acting_user, reason: str) -> int:
    """Revoke every live token of ``user`` (active or not); how many were revoked."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True).select_related("user")
    return sum(revoke_token(t, acting_user=acting_user, reason=reason) for t in live)


# ---- checking a presented token ---------------------------------------------------------------


def authenticate(bearer: str, *, method: str, path: str, address: str | None) -> ApiToken | None:
    """The token's row if it may make this request; None for a token nobody issued.

    Raises ``TokenRefused`` for a revoked or expired token or one whose account is inactive,
    and ``PermissionDenied`` for a write with a read-only token: one place, for every
    operation of the API, since the authentication sees every request's method first."""
    api_token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(bearer)).first()
    if api_token is None:
        return None  # nothing to name in the trail; the caller answers 401
    request = {"method": method, "path": path, "address": address}
    try:
        _check_still_valid(api_token)
    except TokenRefused as refused:
        _record_refusal(api_token, refused.reason, request)
        raise
    _record_use(api_token, request)
    if method.upper() not in READ_METHODS and not api_token.can_write:
        raise PermissionDenied(
            f"This API token ({api_token.public_id}) is read-only: it may read but not "
            f"{method.upper()}. A system that writes needs a token issued with "
            "--scope read-write."
        )
    return api_token


def _check_still_valid(api_token: ApiToken) -> None:
    if api_token.revoked_at is not None:
        raise TokenRefused(
            f"This API token ({api_token.public_id}) was revoked on "
            f"{local_time(api_token.revoked_at)}; ask an administrator for a new one.",
            "revoked",
        )
    if not api_token.user.is_active:
        # Deactivated without the account's save (a bulk update): revoke now, for good.
        revoke_token(api_token, acting_user=None, reason="account inactive")
        raise TokenRefused(
            f"The account of this API token ({api_token.public_id}) is inactive, so the token "
            "has been revoked; ask an administrator for a new one.",
            "account inactive",
        )
    if api_token.expires_at <= timezone.now():
        raise TokenRefused(
            f"This API token ({api_token.public_id}) has expired: it was valid until "
            f"{local_time(api_token.expires_at)}; ask an administrator for a new one.",
            "expired",
        )


def _record_use(api_token: ApiToken, request: dict) -> None:
    """Note the time of every use; audit the first use of each day.

    Once a day rather than every request: a feed polling each minute would otherwise put
    1,440 entries a day in a trail whose every entry is chained through one locked row, while
    what it does with the records is audited by the actions and views themselves. The
    conditional update makes exactly one concurrent request the day's first."""
    now = timezone.now()
    with transaction.atomic():
        first_today = (
            ApiToken.objects.filter(pk=api_token.pk)
            .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=_start_of_today()))
            .update(last_used_at=now)
        )
        if first_today:
            record_audit(
                api_token.user, USED, api_token, None, {"public_id": api_token.public_id, **request}
            )
        else:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)


def _record_refusal(api_token: ApiToken, reason: str, request: dict) -> None:
    """Audit a dead token presented: once a day per token and reason, for the same reason as
    uses (a misconfigured feed retries for ever); the first shows when and from where."""
    already = AuditEvent.objects.filter(
        model=ApiToken._meta.model_name,
        object_id=str(api_token.pk),
        action=REFUSED,
        at__gte=_start_of_today(),
        changes__reason=reason,
    ).exists()
    if not already:
        record_audit(
            None,
            REFUSED,
            api_token,
            None,
            {
                "public_id": api_token.public_id,
                "user": api_token.user.username,
                "reason": reason,
                **request,
            },
        )


# ---- the account's active status ----------------------------------------------------------------


def _note_whether_tokens_end(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Before an account is saved: will it be, or was it, inactive? Then no token may live."""
    instance._tokens_end = False
    if raw or instance.pk is None:
        return  # a restore loads rows as they were; a new account has no token yet
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. last_login at each sign-in: the status cannot change
    was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    instance._tokens_end = not instance.is_active or was_active is False


def _revoke_tokens_of_inactive_account(sender, instance, created, **kwargs) -> None:
    if getattr(instance, "_tokens_end", False):
        instance._tokens_end = False
        # The account change itself is audited, with who made it, by the admin pages.
        reason = "account deactivated" if not instance.is_active else "account reactivated"
        revoke_all_tokens(instance, acting_user=None, reason=reason)


def connect_token_lifecycle() -> None:
    """Connect the receivers (from ``RegistryConfig.ready``; the ids keep it idempotent)."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save, pre_save

    user_model = get_user_model()
    pre_save.connect(
        _note_whether_tokens_end, sender=user_model, dispatch_uid="token_lifecycle_pre_save"
    )
    post_save.connect(
        _revoke_tokens_of_inactive_account,
        sender=user_model,
        dispatch_uid="token_lifecycle_post_save",
    )
