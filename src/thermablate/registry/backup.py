"""Backup and restore of the whole database, the same way on SQLite and PostgreSQL.

A backup is a Django serialisation of every table as JSON lines (natural keys for content
types and permissions, so it restores into any freshly migrated database, SQLite or
PostgreSQL), after a first line holding the manifest: the row count of each table and the
applied migrations. It is gzip-compressed, then encrypted and authenticated with
THERMABLATE_BACKUP_KEY (``backup_crypto``), and streamed through both on the way to and from
the disk: no plaintext touches the disk and no more than a segment of the file is held in
memory. Identifiers are also still encrypted with the field keys inside it, so restoring needs
those too (docs/backup.md).
"""

import gzip
import io
import json
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.core.management.commands import dumpdata
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from thermablate.registry.backup_crypto import (
    BackupFileError,
    BackupKeyError,
    SealedReader,
    SealedWriter,
    configured_keys,
)

# Rebuilt by `migrate` in the target database, so not carried over.
EXCLUDED = ["contenttypes", "auth.permission", "sessions"]
FORMAT_VERSION = 2  # 1: a plain gzip of one JSON document, neither encrypted nor authenticated
_GZIP_MAGIC = b"\x1f\x8b"


def _derived(model) -> bool:
    """Figures computed from other tables (a model saying ``backed_up = False``): rebuilt
    after a restore, so neither saved nor counted."""
    return getattr(model, "backed_up", True) is False


def table_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in {"contenttypes", "sessions"}
        and model._meta.label != "auth.Permission"
        and not model._meta.proxy
        and model._meta.managed
        and not _derived(model)
    }


def applied_migrations() -> list[str]:
    return sorted(
        f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()
    )


def excluded() -> list[str]:
    """Rebuilt by migrate, derived from other tables, or without a table (unmanaged models
    that only carry permissions)."""
    skipped = [m._meta.label for m in apps.get_models() if not m._meta.managed or _derived(m)]
    return EXCLUDED + skipped


def write_backup(path: Path) -> dict:
    """Write the backup to ``path`` atomically: into a temporary file beside it (created
    owner-only, encrypted from its first byte), renamed over ``path`` once complete."""
    key = configured_keys()[0]  # refuse before writing anything
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "wb") as raw:
            sealed = SealedWriter(raw, key)
            with (
                gzip.GzipFile(fileobj=sealed, mode="wb", mtime=0) as zipped,
                io.TextIOWrapper(zipped, encoding="utf-8", newline="\n") as text,
            ):
                manifest = _dump(text)
            sealed.finish()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return manifest


def _dump(text: io.TextIOBase) -> dict:
    """The manifest line, then one line per row, all read in one snapshot."""
    with transaction.atomic():
        _snapshot_isolation()
        manifest = {
            "format": FORMAT_VERSION,
            "counts": table_counts(),
            "migrations": applied_migrations(),
        }
        text.write(json.dumps({"manifest": manifest}) + "\n")
        # Through a command object whose output adds nothing: call_command's own wrapper ends
        # every write with a newline, which splits JSON lines.
        dumper = dumpdata.Command(stdout=text)
        dumper.stdout.ending = ""
        call_command(
            dumper,
            "--natural-foreign",
            *[f"--exclude={e}" for e in excluded()],
            "--format=jsonl",
        )
    return manifest


def _snapshot_isolation() -> None:
    """PostgreSQL's default READ COMMITTED gives each statement the latest commits, so rows
    written while a backup runs would be in its data but not its counts (or a child without
    its parent). REPEATABLE READ makes the whole transaction read one snapshot; SQLite's read
    transaction is one already. Only possible as the transaction's first statement, so not
    inside an outer transaction (tests), which then holds the snapshot."""
    outermost = len(connection.atomic_blocks) == 1
    if connection.vendor == "postgresql" and outermost:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: a directory entry is data of the directory)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _empty_restored_tables() -> None:
    """Empty every table the backup restores; content types and permissions stay, since the
    backup refers to them by natural key."""
    from django.core.management.color import no_style

    from thermablate.registry.audit_trail import erasure_guards_lifted

    kept = {"django_content_type", "auth_permission", "django_session"}
    tables = [
        t for t in connection.introspection.django_table_names(only_existing=True) if t not in kept
    ]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    # The audit trail's guards refuse emptying it; a restore replaces it with the backup's.
    with erasure_guards_lifted():
        connection.ops.execute_sql_flush(sql)


class RestoreError(Exception):
    pass


# Models that moved app since an older backup was written: old label -> new label.
_MOVED_MODELS = {
    "guidance.localapproval": "registry.localapproval",
    "guidance.credentialedoperator": "registry.credentialedoperator",
    "guidance.proceduregovernance": "registry.proceduregovernance",
}


def _with_current_labels(manifest: dict, rows: Iterator[dict]) -> Iterator[dict]:
    """Let a backup written before a model moved app restore into today's schema: the
    manifest's counts are renamed at once, each row as it passes."""
    counts = manifest.get("counts", {})
    for old, new in _MOVED_MODELS.items():
        for label in [k for k in counts if k.lower() == old]:
            app, model = new.split(".")
            current = apps.get_model(app, model)._meta.label
            counts[current] = counts.pop(label)
    for row in rows:
        row["model"] = _MOVED_MODELS.get(row["model"].lower(), row["model"])
        yield row


def restore_backup(path: Path, *, force: bool = False, unencrypted: bool = False) -> dict:
    """Restore a backup, all or nothing. The whole file is authenticated before the database
    is touched; it is then read a second time, to load, inside one transaction (a file
    changed in between fails that second check and rolls everything back)."""
    path = Path(path)
    if unencrypted:
        return _restore_unencrypted(path, force=force)
    keys = _keys_for_restore()
    with _opened(path, keys) as lines:
        manifest = _manifest_of(next(lines, None), path)
        for _ in lines:  # authenticates every segment, parses every row
            pass
    _check_restorable(manifest, force=force)
    with _opened(path, keys) as lines:
        if next(lines, None) != {"manifest": manifest}:  # replaced by another backup meanwhile
            raise RestoreError(f"{path} changed while it was being restored: nothing restored")
        _load_replacing_everything(manifest, _with_current_labels(manifest, lines))
    return manifest


def _keys_for_restore() -> list[bytes]:
    try:
        return configured_keys()
    except BackupKeyError as exc:
        raise RestoreError(str(exc)) from None


@contextmanager
def _opened(path: Path, keys: list[bytes]) -> Iterator[Iterator[dict]]:
    """The backup's lines, each decrypted, authenticated and parsed as it is reached."""
    with ExitStack() as files:
        with _refused_unless_readable(path):  # opening only: the caller's errors stay its own
            raw = files.enter_context(path.open("rb"))
            if raw.read(2) == _GZIP_MAGIC:
                raise RestoreError(
                    f"{path} is an unencrypted backup written by an earlier version of "
                    f"Thermablate (format 1): nothing proves it unchanged since. If you trust "
                    f"it, restore it with `thermablate restore --unencrypted {path}`, then take "
                    f"a new backup."
                )
            raw.seek(0)
            sealed = SealedReader(raw, keys, name=str(path))
            zipped = files.enter_context(gzip.GzipFile(fileobj=sealed, mode="rb"))
            text = files.enter_context(io.TextIOWrapper(zipped, encoding="utf-8", newline="\n"))
        yield _parsed_lines(text, path)


def _parsed_lines(text: io.TextIOBase, path: Path) -> Iterator[dict]:
    with _refused_unless_readable(path):
        for line in text:
            yield json.loads(line)


@contextmanager
def _refused_unless_readable(path: Path):
    """Reading errors as the restore's refusals. Once authenticated, the plaintext is what a
    backup wrote, so the last group only meets a file sealed by something else with our key."""
    try:
        yield
    except (BackupFileError, BackupKeyError) as exc:
        raise RestoreError(str(exc)) from None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise RestoreError(f"{path} is not a Thermablate backup: {exc}") from None


def _manifest_of(first: dict | None, path: Path) -> dict:
    manifest = (first or {}).get("manifest") if isinstance(first, dict) else None
    if not isinstance(manifest, dict):
        raise RestoreError(f"{path} is not a Thermablate backup: it has no manifest")
    if manifest.get("format") != FORMAT_VERSION:
        raise RestoreError(f"{path}: unsupported backup format {manifest.get('format')!r}")
    return manifest


def _check_restorable(manifest: dict, *, force: bool) -> None:
    missing = set(manifest["migrations"]) - set(applied_migrations())
    if missing:
        raise RestoreError(
            f"the database lacks migrations the backup needs (run `thermablate migrate`): {sorted(missing)[:3]}"
        )
    from thermablate.registry.models import Patient

    if Patient.objects.exists() and not force:
        raise RestoreError(
            "the database already holds patients: restore into an empty database (or --force to replace)"
        )


def _restore_unencrypted(path: Path, *, force: bool) -> dict:
    """A format-1 backup: one gzip-compressed JSON document, read whole (as it was written)."""
    with _refused_unless_readable(path), gzip.open(path, "rt", encoding="utf-8") as src:
        backup = json.load(src)
    manifest = backup.get("manifest") if isinstance(backup, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise RestoreError(f"{path} is not an unencrypted (format 1) Thermablate backup")
    _check_restorable(manifest, force=force)
    _load_replacing_everything(manifest, _with_current_labels(manifest, iter(backup["data"])))
    return manifest


def _load_replacing_everything(manifest: dict, rows: Iterator[dict]) -> None:
    with transaction.atomic():
        # Clear what migrate created (role groups, shipped guidance) so the backup's own
        # rows, with their ids, come back exactly; all or nothing.
        _empty_restored_tables()
        _load_rows(rows)
        counts = table_counts()
        if counts != manifest["counts"]:
            diff = {
                k: (manifest["counts"].get(k), counts.get(k))
                for k in set(counts) | set(manifest["counts"])
                if counts.get(k) != manifest["counts"].get(k)
            }
            raise RestoreError(f"restored row counts differ from the backup's manifest: {diff}")


def _load_rows(rows: Iterator[dict]) -> None:
    """Save serialised rows as ``loaddata`` saves a fixture, without a fixture file: raw saves
    (receivers skip derived work), foreign-key checks off while loading and the keys checked
    once at the end, references to rows further on saved afterwards, then the sequences moved
    past the restored ids (PostgreSQL) so the next record gets a free id."""
    from django.core.management.color import no_style

    models = set()
    deferred = []
    saving = None  # the row being saved, to name it in an error
    try:
        with connection.constraint_checks_disabled():
            for item in serializers.deserialize("python", rows, handle_forward_references=True):
                saving = item.object
                models.add(type(item.object))
                # The tables were just emptied: insert without first trying an UPDATE of the
                # same id, which loaddata does for fixtures over existing rows (a third of the
                # time of a restore, measured on a demo cohort).
                item.save(force_insert=True)
                if item.deferred_fields:
                    deferred.append(item)
                saving = None
            for item in deferred:
                saving = item.object
                item.save_deferred_fields()
            saving = None
        connection.check_constraints(table_names=[model._meta.db_table for model in models])
    except (DeserializationError, DatabaseError, ValueError) as exc:
        # psycopg raises ValueError for a NUL character; loaddata names the row the same way.
        where = "" if saving is None else f" {saving._meta.label}(pk={saving.pk})"
        raise RestoreError(f"could not restore the backup's rows{where}: {exc}") from None
    if models:
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
