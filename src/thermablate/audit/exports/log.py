"""Every export is recorded in the registry's audit trail (action "export"): who, what, how."""

from __future__ import annotations

import getpass

from thermablate.registry.models import AuditEvent


def record_export(
    *,
    acting_user,
    export_format: str,
    pseudonymised: bool,
    scope: str,
    patients: int,
    procedures: int,
    destination: str,
    left_out: dict[str, int] | None = None,
) -> AuditEvent:
    """``left_out``: patients who would have been exported but were not, by reason (e.g.
    {"withdrew_consent": 2}); the entry always says so, 0 included."""
    try:
        system_user = getpass.getuser()
    except (KeyError, OSError):
        system_user = "unknown"
    return AuditEvent.objects.create(
        actor=acting_user,
        action="export",
        model="export",
        object_id=export_format,
        patient=None,
        changes={
            "format": export_format,
            "pseudonymised": pseudonymised,
            "identifiable": not pseudonymised,
            "scope": scope,
            "patients": patients,
            "procedures": procedures,
            "destination": destination,
            "left_out": dict(left_out or {}),
            "system_user": system_user,
        },
    )
