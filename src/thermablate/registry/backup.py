"""Backup and restore of the whole database, the same way on SQLite and PostgreSQL.

A backup is a gzip-compressed Django serialisation of every table (with natural keys for content types and permissions, so it restores into any freshly migrated database, SQLite or
PostgreSQL), plus a manifest with the row count of each table and the applied migrations.
Identifiers stay encrypted in the file; restoring needs the same field keys.
"""

import gzip
import io
import json
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

# Rebuilt by `migrate` in the target database, so not carried over.
EXCLUDED = ["contenttypes", "auth.permission", "sessions"]
FORMAT_VERSION = 1


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
    buffer = io.StringIO()
    with transaction.atomic():  # one consistent snapshot on PostgreSQL (repeatable within the dump)
        call_command(
            "dumpdata",
            "--natural-foreign",
            *[f"--exclude={e}" for e in excluded()],
            "--format=json",
            stdout=buffer,
        )
        manifest = {
            "format": FORMAT_VERSION,
            "counts": table_counts(),
            "migrations": applied_migrations(),
        }
    with gzip.open(path, "wt", encoding="utf-8") as out:
        json.dump({"manifest": manifest, "data": json.loads(buffer.getvalue())}, out)
    return manifest


def _empty_restored_tables() -> None:
    """Empty every table the backup restores; content types and permissions stay, since the
    backup refers to them by natural key."""
    from django.core.management.color import no_style

    kept = {"django_content_type", "auth_permission", "django_session"}
    tables = [
        t for t in connection.introspection.django_table_names(only_existing=True) if t not in kept
    ]
    sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(sql)


class RestoreError(Exception):
    pass


def restore_backup(path: Path, *, force: bool = False) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as src:
            backup = json.load(src)
    except (OSError, ValueError) as exc:
        raise RestoreError(f"{path} is not a Thermablate backup: {exc}") from None
    manifest = backup.get("manifest", {})
    if manifest.get("format") != FORMAT_VERSION:
        raise RestoreError(f"{path}: unsupported backup format {manifest.get('format')!r}")
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
    fixture = Path(path).with_suffix(".restore.json")
    fixture.write_text(json.dumps(backup["data"]))
    try:
        with transaction.atomic():
            # Clear what migrate created (role groups, shipped guidance) so the backup's own
            # rows, with their ids, come back exactly; all or nothing.
            _empty_restored_tables()
            call_command("loaddata", str(fixture), verbosity=0)
            counts = table_counts()
            if counts != manifest["counts"]:
                diff = {
                    k: (manifest["counts"].get(k), counts.get(k))
                    for k in set(counts) | set(manifest["counts"])
                    if counts.get(k) != manifest["counts"].get(k)
                }
                raise RestoreError(f"restored row counts differ from the backup's manifest: {diff}")
    finally:
        fixture.unlink(missing_ok=True)
    return manifest
