"""Writer of the NICE guidance catalogue: a parsed document stored, a changed one versioned,
each with its audit entry."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from thermablate.guidance.catalogue import load_catalogue
from thermablate.guidance.models import Guidance, GuidanceVersion
from thermablate.guidance.record import GuidanceRecord
from thermablate.registry.actions.base import record_audit, snapshot


def record_key(record: GuidanceRecord) -> str:
    if record.guidance_id:
        return record.guidance_id
    if record.project_id:
        return f"ID{record.project_id}"
    raise ValidationError(
        "The document has neither a guidance id nor a project ID, so it cannot be catalogued."
    )


def _merged(stored: dict, new: dict) -> dict:
    """The new document's values, except where it states nothing and the catalogue already
    knows the value (a page that omits its own id must not erase the id)."""

    def empty(value) -> bool:
        return value in (None, "", [], {})

    merged = {
        k: stored.get(k) if empty(v) and not empty(stored.get(k)) else v for k, v in new.items()
    }
    dates = merged.get("dates") or {}
    merged["unparsed"] = [
        name
        for name in new.get("unparsed", [])
        if empty(
            dates.get(name.removeprefix("dates."))
            if name.startswith("dates.")
            else merged.get(name)
        )
    ]
    return merged


def _content(record: dict) -> dict:
    """What a document says, without where this copy came from."""
    return {k: v for k, v in record.items() if k not in {"source", "unparsed"}}


@transaction.atomic
def import_record(
    record: GuidanceRecord, *, key: str | None = None, acting_user=None, source: str = ""
) -> tuple[Guidance, str]:
    """Store a parsed document; a changed document becomes a new version, history kept.

    Returns the guidance and what happened: "created", "updated" or "unchanged".
    """
    if record.kind == "other":
        raise ValidationError("This is not a NICE guidance document (read as kind 'other').")
    key = key or record_key(record)
    data = record.to_dict()
    fields = {
        "kind": record.kind,
        "guidance_id": record.guidance_id or "",
        "project_id": record.project_id or "",
        "title": (record.title or key)[:300],
        "recommendation": record.recommendation or "",
        "record": data,
        "source": (source or record.source or "")[:500],
    }
    guidance = Guidance.objects.select_for_update().filter(key=key).first()
    if guidance is not None:
        data = _merged(guidance.record, data)
        record = GuidanceRecord.from_dict(data)
        fields.update(
            guidance_id=record.guidance_id or "",
            project_id=record.project_id or "",
            title=(record.title or key)[:300],
            recommendation=record.recommendation or "",
            record=data,
        )
    if guidance is None:
        guidance = Guidance(key=key, version=1, **fields)
        guidance.full_clean()
        guidance.save()
        outcome = "created"
    elif _content(guidance.record) == _content(data):
        return guidance, "unchanged"
    else:
        before = snapshot(guidance)
        for name, value in fields.items():
            setattr(guidance, name, value)
        guidance.version += 1
        guidance.updated_at = timezone.now()
        guidance.full_clean()
        guidance.save()
        changes = {
            k: {"old": before[k], "new": v} for k, v in snapshot(guidance).items() if before[k] != v
        }
        record_audit(acting_user, "update", guidance, None, changes)
        outcome = "updated"
    GuidanceVersion.objects.create(
        guidance=guidance,
        version=guidance.version,
        record=data,
        source=fields["source"],
        imported_by=acting_user,
    )
    if outcome == "created":
        record_audit(
            acting_user,
            "create",
            guidance,
            None,
            {"new": {"key": key, "recommendation": guidance.recommendation}},
        )
    return guidance, outcome


def load_shipped_catalogue(**_kwargs) -> None:
    """Load the guidance shipped with Thermablate (run after migrate; idempotent)."""
    for entry in load_catalogue():
        existing = Guidance.objects.filter(key=entry.key).first()
        if existing is None:
            import_record(
                entry.record, key=entry.key, source=entry.source_document.get("address") or ""
            )
