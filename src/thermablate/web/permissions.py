"""The one permission check for pages that show no patient data (the NICE catalogue):
an active, signed-in user whose role grants the permission. Patient pages use
``thermablate.registry.access``, which also confines a user to their own site."""

from django.core.exceptions import PermissionDenied


def require_permission(user, permission: str) -> None:
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("Sign in first.")
    if not user.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")
