"""The database itself refuses to change audit-trail entries.

The hash chain detects tampering after the fact (``thermablate audit verify``); these triggers
stop an UPDATE (and, on PostgreSQL, a DELETE) of an entry at the source, whatever wrote the
SQL: a bug, a script, an injected statement. Someone who owns the schema can still drop a
trigger, which is why the chain remains the proof.

SQLite guards UPDATE only: Django empties SQLite tables with DELETE (tests, ``restore
--force``), while PostgreSQL uses TRUNCATE, which row triggers do not see. SQLite drops a
table's triggers when a migration rebuilds the table, so tests/registry/test_audit_trail.py
checks that the guard is still installed after the latest migration.
"""

from django.db import migrations

GUARD_NAME = "registry_auditevent_append_only"

SQLITE_FORWARD = [
    f"""CREATE TRIGGER {GUARD_NAME} BEFORE UPDATE ON registry_auditevent
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"""
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {GUARD_NAME}"]

POSTGRESQL_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION {GUARD_NAME}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only (%% refused)', TG_OP;
    END $$""",
    f"""CREATE TRIGGER {GUARD_NAME} BEFORE UPDATE OR DELETE ON registry_auditevent
    FOR EACH ROW EXECUTE FUNCTION {GUARD_NAME}()""",
]
POSTGRESQL_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {GUARD_NAME} ON registry_auditevent",
    f"DROP FUNCTION IF EXISTS {GUARD_NAME}()",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_BACKWARD),
}


def _run(schema_editor, direction: int) -> None:
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        return  # another database: the hash chain alone
    for sql in statements[direction]:
        schema_editor.execute(sql)


def install(apps, schema_editor):
    _run(schema_editor, 0)


def remove(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_role_security_policy")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
