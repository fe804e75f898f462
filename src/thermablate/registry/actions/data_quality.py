"""Writers of data-quality records: a finding acknowledged with its reason, and the trail's
entry for a download of findings."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from thermablate.registry import data_quality
from thermablate.registry.actions.base import create_audited
from thermablate.registry.models import AuditEvent, DataQualityAcknowledgement, Patient


def _patient_of(record) -> Patient | None:
    """The patient a record belongs to (through its procedure or assessment for a cycle or
    an analgesic entry), for the audit entry's patient column."""
    if isinstance(record, Patient):
        return record
    for parent_name in ("patient", "procedure", "assessment"):
        parent = getattr(record, parent_name, None)
        if parent is not None:
            return _patient_of(parent)
    return None


@transaction.atomic
def acknowledge_finding(
    rule: data_quality.Rule, record, *, acting_user, reason: str
) -> DataQualityAcknowledgement:
    """Accept a finding as a true value, with the reason: it then leaves the open count.

    Refused without a reason, when the record is not of the rule's kind, when the rule does
    not fire on the record (it was corrected meanwhile: nothing to acknowledge) and when the
    finding was already acknowledged (the unique constraint's message)."""
    if not isinstance(record, rule.record_type.model):
        raise ValidationError(f"The rule '{rule.title}' is about another kind of record.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason the value is right as it is."})
    records = data_quality.live(type(record).objects.filter(pk=record.pk))
    if not data_quality.firing(records, rule, timezone.localdate()).exists():
        raise ValidationError(
            "This finding no longer applies: the record was corrected, so there is nothing to "
            "acknowledge."
        )
    return create_audited(
        DataQualityAcknowledgement(
            rule=rule.code,
            record_type=rule.record_type.key,
            object_id=record.pk,
            reason=reason,
            acknowledged_by=acting_user,
        ),
        acting_user=acting_user,
        patient=_patient_of(record),
    )


def record_findings_export(*, acting_user, filters: dict) -> None:
    """A download of findings lists patients by registry number: the trail says who
    downloaded which list, as it does for every export."""
    AuditEvent.objects.create(
        actor=acting_user,
        action="export",
        model="dataqualityacknowledgement",
        object_id="",
        changes={"format": "csv", "what": "data-quality findings", "filters": filters},
    )
