"""Whether audit entries are being staged, to be chained at the end of their transaction
(``audit_trail.entries_chained_at_end``), and the staging itself.

Apart from ``audit_trail`` because ``AuditEvent.save`` asks it, and ``audit_trail`` needs the
models: this module needs neither, so the models and the trail each import it, not each
other.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.db import transaction

# Database aliases whose audit entries are being staged, in this thread or task.
staging: ContextVar[frozenset[str]] = ContextVar("audit_entries_staged", default=frozenset())


class StagedEntry:
    """An audit entry waiting for the end of its ``entries_chained_at_end`` block, held as a
    commit callback that does nothing.

    Django discards the commit callbacks registered inside a savepoint that rolls back (the
    documented behaviour of ``transaction.on_commit``), so a refused import row takes its
    entries with it, as its database rows go, without a query. The block takes the entries
    that are still there, in the order they were recorded, before it ends; the callback itself
    never runs.
    """

    __slots__ = ("entry",)

    def __init__(self, entry) -> None:
        self.entry = entry

    def __call__(self) -> None:
        pass


def stage_if_chained_at_end(entry, using: str) -> bool:
    """Called by ``AuditEvent.save``: inside ``entries_chained_at_end``, stage the entry (True);
    otherwise leave it to be chained at once (False)."""
    if using not in staging.get():
        return False
    transaction.on_commit(StagedEntry(entry), using=using)
    return True
