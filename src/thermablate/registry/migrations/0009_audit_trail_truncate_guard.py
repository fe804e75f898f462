"""The database refuses to empty or shorten the audit trail, not only to change an entry.

Migration 0007 refuses UPDATE of an entry (and DELETE on PostgreSQL). Still open were:

- TRUNCATE (PostgreSQL): row triggers do not see it, so ``TRUNCATE registry_auditevent`` (or
  ``TRUNCATE auth_user CASCADE``, which reaches the trail through its actor column) emptied
  the trail. Statement-level BEFORE TRUNCATE triggers refuse it on both audit tables.
- DELETE (SQLite): not guarded at all. A BEFORE DELETE trigger refuses it.
- The chain head: deleting the newest entries and moving ``AuditChainHead`` back to the new
  newest entry passed ``audit verify``. The head row cannot be deleted, and an UPDATE may only
  move it forward, to the newest entry, from an entry that still exists before it: exactly
  what appending does (one entry, or a batch chained at the end of a long transaction).

Django empties every table with TRUNCATE (PostgreSQL) or DELETE (SQLite) in ``flush`` (run
between tests) and in ``thermablate restore``. Those replace the whole database, so they lift
the erasure guards inside their own transaction and put them back before it commits
(``registry.audit_trail.erasure_guards_lifted``); lifting needs the right to alter the tables.

Someone who owns the schema can still drop a trigger: the hash chain, checked against anchors
kept outside the database (``thermablate audit head`` / ``audit verify --anchors``), remains
the proof. SQLite drops a table's triggers when a migration rebuilds the table, and refuses to
rebuild ``registry_auditevent`` while the head's trigger refers to it (a later migration that
rebuilds it must drop ``registry_auditchainhead_forward_only`` first and recreate it after);
tests/registry/test_audit_trail.py checks that every guard is installed after the latest
migration.
"""

from django.db import migrations

GENESIS_HASH = "0" * 64
HEAD_MOVES_FORWARD = "the audit chain head only moves forward, to the newest entry"

# The head may become the newest entry's hash, coming from genesis or from an entry that still
# exists before it. The same condition on both databases.
FORWARD_CONDITION = f"""
    NEW.id = OLD.id
    AND NEW.last_hash = (SELECT entry_hash FROM registry_auditevent ORDER BY id DESC LIMIT 1)
    AND (
        OLD.last_hash = '{GENESIS_HASH}'
        OR EXISTS (
            SELECT 1 FROM registry_auditevent AS older
            WHERE older.entry_hash = OLD.last_hash
            AND older.id < (SELECT MAX(id) FROM registry_auditevent)
        )
    )"""  # noqa: S608 (constants only)

SQLITE_FORWARD = [
    """CREATE TRIGGER registry_auditevent_no_delete BEFORE DELETE ON registry_auditevent
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE refused)'); END""",
    """CREATE TRIGGER registry_auditchainhead_no_delete BEFORE DELETE ON registry_auditchainhead
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE of its head refused)'); END""",
    f"""CREATE TRIGGER registry_auditchainhead_forward_only
    BEFORE UPDATE ON registry_auditchainhead WHEN NOT ({FORWARD_CONDITION})
    BEGIN SELECT RAISE(ABORT, '{HEAD_MOVES_FORWARD}'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS registry_auditchainhead_forward_only",
    "DROP TRIGGER IF EXISTS registry_auditchainhead_no_delete",
    "DROP TRIGGER IF EXISTS registry_auditevent_no_delete",
]

POSTGRESQL_FORWARD = [
    """CREATE OR REPLACE FUNCTION registry_audit_trail_no_erasure() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only (%% of %% refused)', TG_OP, TG_TABLE_NAME;
    END $$""",
    """CREATE TRIGGER registry_auditevent_no_truncate BEFORE TRUNCATE ON registry_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_trail_no_erasure()""",
    """CREATE TRIGGER registry_auditchainhead_no_truncate BEFORE TRUNCATE ON registry_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_trail_no_erasure()""",
    """CREATE TRIGGER registry_auditchainhead_no_delete BEFORE DELETE ON registry_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION registry_audit_trail_no_erasure()""",
    f"""CREATE OR REPLACE FUNCTION registry_auditchainhead_forward_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT ({FORWARD_CONDITION}) THEN
            RAISE EXCEPTION '{HEAD_MOVES_FORWARD}';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER registry_auditchainhead_forward_only BEFORE UPDATE ON registry_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION registry_auditchainhead_forward_only()""",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS registry_auditchainhead_forward_only ON registry_auditchainhead",
    "DROP FUNCTION IF EXISTS registry_auditchainhead_forward_only()",
    "DROP TRIGGER IF EXISTS registry_auditchainhead_no_delete ON registry_auditchainhead",
    "DROP TRIGGER IF EXISTS registry_auditchainhead_no_truncate ON registry_auditchainhead",
    "DROP TRIGGER IF EXISTS registry_auditevent_no_truncate ON registry_auditevent",
    "DROP FUNCTION IF EXISTS registry_audit_trail_no_erasure()",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_BACKWARD),
}


def _run(schema_editor, direction: int) -> None:
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        return  # another database: the hash chain and its anchors alone
    for sql in statements[direction]:
        schema_editor.execute(sql)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def remove(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_move_local_approvals")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
