"""What every writer shares: the snapshot of a record, its audit entry, and the validated
create and update that write both in the caller's transaction."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from thermablate.registry.models import AuditEvent, Patient

# Fields whose values the audit trail records as "changed" but not in clear, so the trail
# itself does not become a second copy of the identifiers.
_REDACTED_FIELDS = {"nhs_number", "nhs_number_hash", "mrn", "mrn_hash"}
# A model may name more of its own (``REDACTED_IN_AUDIT``): a patient's contact details.


def _jsonable(value):
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model, *, redact: bool = True) -> dict:
    data = {}
    redacted = _REDACTED_FIELDS | getattr(type(instance), "REDACTED_IN_AUDIT", frozenset())
    for field in instance._meta.concrete_fields:
        if field.name == "id":
            continue
        value = _jsonable(getattr(instance, field.attname))
        data[field.attname] = "[redacted]" if redact and field.name in redacted else value
    return data


def record_audit(
    acting_user, action: str, instance: models.Model, patient: Patient | None, changes: dict
) -> None:
    AuditEvent.objects.create(
        actor=acting_user,
        action=action,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        patient=patient,
        changes=changes,
    )


class StaleRecordError(ValidationError):
    """The record was changed by someone else after the user read it (optimistic locking).

    A ValidationError, so every page shows it on the form; the API answers it with 409."""


def _held_foreign_keys(instance: models.Model) -> set[str]:
    """Foreign keys whose target the writer holds as a saved record it loaded or created in
    this transaction, with no choice limits to check."""
    held = set()
    for field in instance._meta.concrete_fields:
        # A one-to-one is a foreign key too (Django gives it one_to_one, not many_to_one).
        if not ((field.many_to_one or field.one_to_one) and field.is_cached(instance)):
            continue
        target = field.get_cached_value(instance)
        if target is not None and target.pk is not None and not field.get_limit_choices_to():
            held.add(field.name)
    return held


def _check_set_by_actions(instance: models.Model) -> None:
    """Django checks a field's choices only when a person may edit it (``Field.validate``
    returns early for ``editable=False``), so a value the actions set themselves, such as a
    patient's status, would be saved unchecked: a wrong one would be silently wrong."""
    errors = {}
    for field in instance._meta.concrete_fields:
        if field.editable or not field.choices:
            continue
        value = getattr(instance, field.attname)
        if value in field.empty_values:
            continue
        if value not in {key for key, _ in field.flatchoices}:
            errors[field.name] = f"{value!r} is not a valid {field.verbose_name}."
    if errors:
        raise ValidationError(errors)


def validate(instance: models.Model, *, check_constraints: bool = True) -> None:
    """``full_clean``, less one database query per foreign key the writer already holds.

    Django checks that a foreign key's target exists by asking the database, every time: for a
    procedure with its cycles and follow-up schedule that was a third of an import's queries.
    A target the writer holds was read or written in this transaction, and the database's own
    foreign-key constraint still guards the rest. Unique checks and constraints still see every
    field (``full_clean(exclude=...)`` would skip the ones naming an excluded field).
    ``check_constraints=False`` skips the unique checks and constraints (a query each), for a
    writer that knows no clash can exist: say why there.
    """
    errors: dict = {}
    for stage in (
        lambda: instance.clean_fields(exclude=_held_foreign_keys(instance)),
        lambda: _check_set_by_actions(instance),
        instance.clean,
    ):
        try:
            stage()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    later = (instance.validate_unique, instance.validate_constraints) if check_constraints else ()
    for stage in later:
        try:  # as full_clean: only fields that passed their own checks
            stage(exclude={name for name in errors if name != NON_FIELD_ERRORS})
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def create_audited(instance: models.Model, *, acting_user, patient: Patient | None) -> models.Model:
    validate(instance)
    instance.save()
    record_audit(acting_user, "create", instance, patient, {"new": snapshot(instance)})
    return instance


def update_audited(
    instance: models.Model,
    fields: dict,
    *,
    acting_user,
    patient: Patient | None,
    expected_version: int | None = None,
    reason: str = "",
) -> models.Model:
    """Validate and save ``fields`` on ``instance``, with an audit entry of the values that
    changed (and ``reason``, for a correction); nothing is written if nothing changed."""
    # Compare with the stored row, not the instance: a ModelForm may already have written the
    # new values into the instance it was given.
    stored = locked_current(instance, expected_version)
    versioned = hasattr(stored, "version")
    before, shown_before = snapshot(stored, redact=False), snapshot(stored)
    for name, value in fields.items():
        setattr(instance, name, value)
    if versioned:
        instance.version = stored.version
    validate(instance)
    after, shown_after = snapshot(instance, redact=False), snapshot(instance)
    # Compare real values; record redacted ones, so a changed NHS number shows as changed.
    changed = {
        k: {"old": shown_before[k], "new": shown_after[k]}
        for k in after
        if before.get(k) != after[k]
    }
    if changed:
        if versioned:
            instance.version = stored.version + 1
        instance.save()
        record_audit(
            acting_user,
            "update",
            instance,
            patient,
            {**changed, **({"reason": reason} if reason else {})},
        )
    return instance


def locked_current(instance: models.Model, expected_version: int | None) -> models.Model:
    """The stored row, locked until the transaction ends (which serialises concurrent edits),
    refused if someone changed it since the user read ``expected_version``."""
    stored = type(instance)._base_manager.select_for_update().get(pk=instance.pk)
    versioned = hasattr(stored, "version")
    if versioned and expected_version is not None and expected_version != stored.version:
        raise StaleRecordError(_edited_meanwhile(stored, expected_version))
    return stored


def _edited_meanwhile(stored: models.Model, expected_version: int) -> str:
    """Optimistic locking: say who changed the record since the form was opened, and what."""
    edits = (
        AuditEvent.objects.filter(
            model=stored._meta.model_name, object_id=str(stored.pk), action="update"
        )
        .select_related("actor")
        .order_by("-id")[: max(1, stored.version - expected_version)]
    )
    details = "; ".join(
        f"{(e.actor.get_full_name() or e.actor.username) if e.actor else 'system'} changed "
        f"{', '.join(sorted(e.changes))} at {e.at:%H:%M}"
        for e in edits
    )
    return (
        "This record was changed by someone else after you opened it, so your changes were not saved"
        f"{': ' + details if details else ''}. Reload the page to see the current values."
    )


def error_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, errors in exc.message_dict.items() for m in errors]
    return list(exc.messages)
