"""Accounts in the hash-chained audit trail: who changed whose account, who signed in or failed
to, who was locked out, who set up or lost an authenticator app.

Every entry is about a user account (``model="user"``, ``object_id`` = the account's id, empty
when a sign-in named no existing account) and never carries a password or its hash: a new
password shows as "changed". The admin pages (``registry.admin``) record the changes they make
with ``record_account_change``; sign-ins, lock-outs and authenticator devices are recorded by
the signal receivers that ``connect_account_audit`` connects from ``RegistryConfig.ready``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model

from thermablate.registry.actions import record_audit
from thermablate.registry.models import AuditEvent, StaffProfile
from thermablate.web.client import client_address

# Who is acting, for changes that reach the trail through a model signal, which does not know
# the request (an administrator deleting an authenticator device).
_acting_user: ContextVar = ContextVar("account_audit_acting_user", default=None)

_PROFILE_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff")
_PRIVILEGE_FIELDS = ("is_superuser",)
_USERNAME_LIMIT = 150  # Django's username length: a longer "name" is not one


@contextmanager
def acting_as(user) -> Iterator[None]:
    """Name ``user`` as the actor of the account entries written inside the block."""
    token = _acting_user.set(user)
    try:
        yield
    finally:
        _acting_user.reset(token)


def account_state(user) -> dict:
    """What an account entry compares and records: identity, status, role, site, groups and
    permissions, and whether a password is set (never the password or its hash)."""
    profile = StaffProfile.objects.filter(user=user).select_related("site").first()
    state = {name: getattr(user, name) for name in _PROFILE_FIELDS + _PRIVILEGE_FIELDS}
    state["role"] = profile.role if profile else None
    state["site"] = profile.site.code if profile else None
    state["groups"] = sorted(user.groups.values_list("name", flat=True))
    state["user_permissions"] = sorted(
        f"{app}.{codename}"
        for app, codename in user.user_permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    state["password"] = "set" if user.has_usable_password() else "disabled"
    return state


def record_account_change(
    acting_user, account, before: dict | None, *, password_before: str | None = None
) -> None:
    """Write a ``create`` (``before`` is None) or ``update`` entry for ``account``, with old and
    new values of what changed; nothing when nothing did. ``password_before`` is the stored
    hash before the change: it is compared, never recorded."""
    account.refresh_from_db()
    after = account_state(account)
    if before is None:
        record_audit(acting_user, "create", account, None, {"new": after})
        return
    changes = {
        name: {"old": before[name], "new": after[name]}
        for name in after
        if name != "password" and before.get(name) != after[name]
    }
    if password_before is not None and password_before != account.password:
        changes["password"] = "changed"
    if changes:
        record_audit(acting_user, "update", account, None, changes)


def record_password_set(acting_user, account) -> None:
    """An administrator set (or disabled) an account's password on the admin page."""
    outcome = "changed" if account.has_usable_password() else "disabled"
    record_audit(acting_user, "password", account, None, {"password": outcome})


# ---- signal receivers --------------------------------------------------------------------


def _address(request) -> str | None:
    # django-axes has already worked out the client address (proxies included) when it runs.
    if request is None:
        return None
    return getattr(request, "axes_ip_address", None) or client_address(request)


def _record_about_name(action: str, username: str, detail: dict) -> None:
    """An entry about a user name that may belong to no account (a failed sign-in)."""
    account = get_user_model().objects.filter(username=username).first()
    AuditEvent.objects.create(
        actor=None,
        action=action,
        model="user",
        object_id=str(account.pk) if account else "",
        changes={"username": username, **detail},
    )


def record_sign_in(sender, request, user, **kwargs) -> None:
    record_audit(user, "sign-in", user, None, {"address": _address(request)})


def record_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in ``credentials``; only the name is kept.
    username = str(credentials.get("username") or "")[:_USERNAME_LIMIT]
    _record_about_name("sign-fail", username, {"address": _address(request)})


def record_lockout(sender, request, username, ip_address=None, **kwargs) -> None:
    _record_about_name("lockout", str(username or "")[:_USERNAME_LIMIT], {"address": ip_address})


def remember_device_confirmation(sender, instance, **kwargs) -> None:
    """Before a device is saved, note whether it was already confirmed, so that only its
    confirmation counts as an enrolment (every code check saves the device again)."""
    stored = sender.objects.filter(pk=instance.pk).values_list("confirmed", flat=True).first()
    instance._was_confirmed = bool(stored)


def record_enrolment(sender, instance, created, **kwargs) -> None:
    if instance.confirmed and not getattr(instance, "_was_confirmed", False):
        actor = _acting_user.get() or instance.user
        record_audit(actor, "2fa-enrol", instance.user, None, {"device": instance.name})
        instance._was_confirmed = True


def record_device_removed(sender, instance, **kwargs) -> None:
    # An unconfirmed device (a set-up never finished) protected nothing: removing it is no reset.
    if instance.confirmed:
        actor = _acting_user.get()
        record_audit(actor, "2fa-reset", instance.user, None, {"device": instance.name})


def connect_account_audit() -> None:
    """Connect the receivers (from ``RegistryConfig.ready``; the ids keep it idempotent)."""
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed
    from django.db.models.signals import post_delete, post_save, pre_save
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user_logged_in.connect(record_sign_in, dispatch_uid="account_audit_sign_in")
    user_login_failed.connect(record_failed_sign_in, dispatch_uid="account_audit_sign_fail")
    user_locked_out.connect(record_lockout, dispatch_uid="account_audit_lockout")
    pre_save.connect(
        remember_device_confirmation, sender=TOTPDevice, dispatch_uid="account_audit_device_pre"
    )
    post_save.connect(record_enrolment, sender=TOTPDevice, dispatch_uid="account_audit_enrol")
    post_delete.connect(
        record_device_removed, sender=TOTPDevice, dispatch_uid="account_audit_device_removed"
    )
