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
) -> AuditEvent:
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
            "system_user": system_user,
        },
    )
