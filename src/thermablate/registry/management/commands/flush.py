"""Django's ``flush``, able to empty the audit trail that the database otherwise guards.

Flush replaces the whole database (Django runs it between transactional tests; an operator
runs it only to start again from nothing, after a confirmation). The audit tables refuse
TRUNCATE (PostgreSQL) and DELETE (SQLite) since migration 0009, so flush lifts those guards
around its emptying statements, in their transaction, and puts them back before it commits
(``registry.audit_trail.erasure_guards_lifted``), as ``thermablate restore`` does. Emptying
the trail alone, or shortening it, stays refused.
"""

from django.core.management.commands import flush
from django.db import connections

from thermablate.registry.audit_trail import erasure_guards_lifted


class Command(flush.Command):
    def handle(self, **options):
        database = options["database"]
        operations = connections[database].ops
        empty_tables = operations.execute_sql_flush

        def empty_tables_past_the_guards(sql_list):
            # Only the emptying itself: flush then re-creates content types, permissions and
            # shipped data (post_migrate), with the guards back in place.
            with erasure_guards_lifted(database):
                empty_tables(sql_list)

        # Django's flush empties the tables through this one method of the connection's
        # operations; the override lasts for this command only (the connection is this
        # thread's own).
        operations.execute_sql_flush = empty_tables_past_the_guards
        try:
            return super().handle(**options)
        finally:
            del operations.execute_sql_flush
