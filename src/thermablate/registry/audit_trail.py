"""The audit trail's hash chain: checking it, anchoring it outside the database, chaining a
long transaction's entries at its end, lifting its database guards to replace the whole
database, and recording views and exports of identifiable data."""

import hashlib
import hmac
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from thermablate.registry.audit_staging import StagedEntry, staging
from thermablate.registry.models import GENESIS_HASH, AuditChainHead, AuditEvent

# Checking the chain --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problems: list[str]
    anchors: int = 0  # anchors the chain was checked against

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(anchors: Sequence["Anchor"] = ()) -> ChainReport:
    """Walk every entry in order: each must hash to its stored hash and follow the one before.

    An edited entry fails its own hash; a deleted or inserted entry breaks the link; entries
    removed from the end no longer reach the head kept in AuditChainHead. Someone able to move
    the head too (or to rewrite every hash from the first entry on) is caught by ``anchors``:
    each anchored entry must still be in the chain, with its anchored hash, at its position.
    """
    problems: list[str] = []
    expected_previous = GENESIS_HASH
    checked = 0
    anchored = defaultdict(list)
    for anchor in anchors:
        anchored[anchor.newest_id].append(anchor)
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
        for anchor in anchored.pop(entry.pk, ()):
            problems.extend(anchor.mismatches(entry, position=checked))
        expected_previous = entry.entry_hash
    for anchor in (a for pending in anchored.values() for a in pending):
        if anchor.newest_id is not None:
            problems.append(
                f"{anchor.name}: entry {anchor.newest_id} of {anchor.newest_at} is missing: "
                "the trail was shortened or rewritten after it was anchored"
            )
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None and checked:
        problems.append("the chain head is missing: it was deleted, so entries may be missing")
    elif head is not None and head.last_hash != expected_previous:
        problems.append("the newest entries are missing: the chain ends before its recorded head")
    return ChainReport(checked, problems, len(anchors))


# Anchors: the head, signed, kept outside the database ----------------------------------------

ANCHOR_KEY_VARIABLE = "THERMABLATE_AUDIT_ANCHOR_KEY"
MINIMUM_KEY_LENGTH = 32  # characters: a guessable key would let a forger re-sign anchors
ANCHOR_FORMAT = 1


class AnchorKeyError(Exception):
    pass


class AnchorError(Exception):
    pass


def anchor_key(environ) -> bytes:
    """The anchors' HMAC key, from the environment, never from the database (whoever could
    rewrite the chain could otherwise re-sign its anchors)."""
    key = environ.get(ANCHOR_KEY_VARIABLE, "").strip()
    if not key:
        raise AnchorKeyError(
            f"{ANCHOR_KEY_VARIABLE} is not set: anchors are signed with a key kept outside the "
            "database (see docs/security.md); make one with "
            "`python3 -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    if len(key) < MINIMUM_KEY_LENGTH:
        raise AnchorKeyError(
            f"{ANCHOR_KEY_VARIABLE} is too short ({len(key)} characters): use at least "
            f"{MINIMUM_KEY_LENGTH} random characters"
        )
    return key.encode()


@dataclass(frozen=True)
class Anchor:
    """What the chain looked like at ``anchored_at``: its head, its length, its newest entry."""

    head: str
    entries: int
    newest_id: int | None
    newest_at: str | None
    anchored_at: str
    name: str = field(default="anchor", compare=False)  # where it was read, for messages

    def payload(self) -> dict:
        data = asdict(self)
        del data["name"]
        return {"format": ANCHOR_FORMAT, **data}

    def signature(self, key: bytes) -> str:
        canonical = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()

    def signed_line(self, key: bytes) -> str:
        return json.dumps({**self.payload(), "hmac": self.signature(key)}, sort_keys=True)

    def mismatches(self, entry: AuditEvent, *, position: int) -> list[str]:
        problems = []
        if entry.entry_hash != self.head:
            problems.append(
                f"{self.name}: entry {entry.pk} no longer has the hash anchored at "
                f"{self.anchored_at}: the chain up to it was rewritten"
            )
        if position != self.entries:
            problems.append(
                f"{self.name}: entry {entry.pk} is entry number {position} of the chain, the "
                f"anchor says {self.entries}: entries before it were deleted or inserted"
            )
        return problems


def current_anchor() -> Anchor:
    """The head as it is now. Entries are numbered in chain order (each is inserted under the
    head's lock), so counting those up to the head's entry is consistent without locking."""
    head = AuditChainHead.objects.filter(pk=1).first()
    anchored_at = timezone.now().isoformat(timespec="seconds")
    if head is None or head.last_hash == GENESIS_HASH:
        if AuditEvent.objects.exists():
            raise AnchorError(
                "the chain head is missing or reset while entries exist: run `thermablate audit verify`"
            )
        return Anchor(GENESIS_HASH, 0, None, None, anchored_at)
    newest = AuditEvent.objects.filter(entry_hash=head.last_hash).first()
    if newest is None:
        raise AnchorError(
            "the chain head names no entry (entries were removed): run `thermablate audit verify`"
        )
    return Anchor(
        head=newest.entry_hash,
        entries=AuditEvent.objects.filter(id__lte=newest.pk).count(),
        newest_id=newest.pk,
        newest_at=newest.at.isoformat(timespec="milliseconds"),
        anchored_at=anchored_at,
    )


def append_anchor(path: Path, line: str) -> None:
    """One line per anchor, appended and flushed to disk; a new file is readable by its owner
    only (it tells when the registry was written to)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_anchors(path: Path, key: bytes) -> tuple[list[Anchor], list[str]]:
    """The anchors whose signature holds, and a problem for each line that is not one."""
    anchors, problems = [], []
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            name = f"anchor at {path.name} line {number}"
            try:
                data = json.loads(text)
                signature = data.pop("hmac")
                if data.pop("format") != ANCHOR_FORMAT:
                    raise ValueError("unknown format")
                anchor = Anchor(**data, name=name)
                valid = (
                    isinstance(anchor.entries, int)
                    and isinstance(anchor.head, str)
                    and (anchor.newest_id is None or isinstance(anchor.newest_id, int))
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                problems.append(f"{name} is not an anchor written by `thermablate audit head`")
                continue
            if not valid or not hmac.compare_digest(str(signature), anchor.signature(key)):
                problems.append(
                    f"{name}: the signature does not match: the line was altered, or signed "
                    "with another key"
                )
                continue
            anchors.append(anchor)
    return anchors, problems


# Chaining a long transaction's entries at its end ---------------------------------------------


@contextmanager
def entries_chained_at_end(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """One transaction whose audit entries are chained together when it ends.

    Each entry needs the chain head, and holds it locked until its transaction commits, so a
    long transaction that writes entries one by one (an import of thousands of rows) made every
    other writer wait for it, and anyone opening a patient's page, which records the view. On
    PostgreSQL each update of the head also left one more version of its row for the next
    lookup to step over, inside the one transaction, so the import slowed as it went.

    Inside this block, entries are held in memory beside the transaction's commit callbacks
    (``StagedEntry``: a savepoint that rolls back takes its entries with it, as it would have),
    then chained and inserted together just before the block ends: the head is locked once,
    briefly, and moved once. It is still one transaction: nothing is stored if the block
    fails. Staged entries are not in ``AuditEvent`` until then (their ``pk`` stays None). A
    nested block joins the outer one.

    Staging used to insert each entry into a temporary table (a query per entry: a third of an
    import's queries, 11 per procedure).
    """
    connection = connections[using]
    if using in staging.get():
        with transaction.atomic(using=using):
            yield
        return
    with transaction.atomic(using=using):
        token = staging.set(staging.get() | {using})
        try:
            yield
        finally:
            staging.reset(token)
        if transaction.get_rollback(using=using):
            return  # the block is rolled back, its callbacks with it
        # Django's list of the transaction's commit callbacks: (savepoint ids, callback, robust).
        pending = connection.run_on_commit
        entries = [item[1].entry for item in pending if isinstance(item[1], StagedEntry)]
        connection.run_on_commit = [
            item for item in pending if not isinstance(item[1], StagedEntry)
        ]
        AuditEvent.append_to_chain(entries, using=using)


# Replacing the whole database -----------------------------------------------------------------

# The guards (migration 0009) that refuse emptying the audit tables the way Django empties
# every table: TRUNCATE on PostgreSQL, DELETE on SQLite.
ERASURE_GUARDS = {
    "postgresql": {
        "registry_auditevent_no_truncate": "registry_auditevent",
        "registry_auditchainhead_no_truncate": "registry_auditchainhead",
    },
    "sqlite": {
        "registry_auditevent_no_delete": "registry_auditevent",
        "registry_auditchainhead_no_delete": "registry_auditchainhead",
    },
}


@contextmanager
def erasure_guards_lifted(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """For what replaces the whole database (``flush``, ``thermablate restore``): one
    transaction in which the audit tables may be emptied.

    The guards are lifted and put back inside that transaction, so no other session ever sees
    the trail unguarded, and a failure puts them back with the rollback. Lifting alters the
    tables, which needs their owner's rights: an application account that does not own the
    schema cannot lift them.
    """
    connection = connections[using]
    guards = ERASURE_GUARDS.get(connection.vendor, {})
    quote = connection.ops.quote_name
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                lifted = []
                for name, table in guards.items():
                    cursor.execute(
                        "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                        "AND tgname = %s AND tgenabled <> 'D'",
                        [table, name],
                    )
                    if cursor.fetchone():
                        cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(name)}")
                        lifted.append(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(name)}")
            else:  # SQLite cannot disable a trigger: drop it, then create it again as it was
                lifted = []
                for name in guards:
                    cursor.execute(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                        [name],
                    )
                    found = cursor.fetchone()
                    if found:
                        cursor.execute(f"DROP TRIGGER {quote(name)}")
                        lifted.append(found[0])
        yield
        with connection.cursor() as cursor:
            for sql in lifted:
                cursor.execute(sql)


# Recording access to identifiable data ---------------------------------------------------------


def record_access(user, action: str, instance, patient=None, detail: dict | None = None) -> None:
    """A view, search or export of identifiable data (NHS number, MRN), kept in the same trail as
    writes. ``detail`` says what was shown or how it was found, never the identifier itself."""
    AuditEvent.objects.create(
        actor=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        patient=patient,
        changes=detail or {},
    )


def identifiers_of(patient) -> list[str]:
    """The identifiers a patient has, by field name: the NHS number always, the hospital
    number (MRN) when one was recorded."""
    return ["nhs_number", *(["mrn"] if patient.mrn else [])]


def record_identifiers_shown(user, patients, via: str) -> None:
    """One ``view`` entry per patient whose identifiers were shown to ``user`` (page or API),
    naming which were shown."""
    for patient in patients:
        record_access(
            user, "view", patient, patient, {"shown": identifiers_of(patient), "via": via}
        )


def record_found_by(user, patients, identifier: str) -> None:
    """A search by an identifier (``nhs_number`` or ``mrn``) links a person to a record,
    even when no identifier is displayed."""
    for patient in patients:
        record_access(user, "search", patient, patient, {"found_by": identifier})
