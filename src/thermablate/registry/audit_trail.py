"""Checking the audit trail's hash chain, and recording views and exports of identifiable data."""

from dataclasses import dataclass

from thermablate.registry.models import GENESIS_HASH, AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain() -> ChainReport:
    """Walk every entry in order: each must hash to its stored hash and follow the one before.

    An edited entry fails its own hash; a deleted or inserted entry breaks the link; entries
    removed from the end no longer reach the head kept in AuditChainHead.
    """
    problems: list[str] = []
    expected_previous = GENESIS_HASH
    checked = 0
    for entry in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        if entry.previous_hash != expected_previous:
            problems.append(
                f"entry {entry.pk} does not follow the entry before it: an entry was deleted or inserted"
            )
        if entry.content_hash(entry.previous_hash) != entry.entry_hash:
            problems.append(
                f"entry {entry.pk} ({entry.action} {entry.model} {entry.object_id}) was changed after it was written"
            )
        expected_previous = entry.entry_hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != expected_previous:
        problems.append("the newest entries are missing: the chain ends before its recorded head")
    return ChainReport(checked, problems)


def record_access(user, action: str, instance, patient=None, detail: dict | None = None) -> None:
    """A view, search or export of identifiable data (NHS number), kept in the same trail as
    writes. ``detail`` says what was shown or how it was found, never the identifier itself."""
    AuditEvent.objects.create(
        actor=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        patient=patient,
        changes=detail or {},
    )


def record_identifiers_shown(user, patients, via: str) -> None:
    """One ``view`` entry per patient whose NHS number was shown to ``user`` (page or API)."""
    for patient in patients:
        record_access(user, "view", patient, patient, {"shown": ["nhs_number"], "via": via})


def record_found_by_nhs_number(user, patients) -> None:
    """A search by NHS number links a person to a record even when no number is displayed."""
    for patient in patients:
        record_access(user, "search", patient, patient, {"found_by": "nhs_number"})
