"""The reference path of the outcomes audit: the oracle the production figures must equal.

Production computes each figure one way: the database counts over the per-procedure summaries
(``audit.aggregates`` over ``audit.summaries``). This package computes the same figures
another way, with pandas over every procedure, assessment, adverse event, MDT decision and
consent of the cohort read from the registry's own tables (``load_tables``), so that a
mistake in the summaries, their invalidation or the database's counting shows up as a
difference (``tests/audit/test_audit_aggregates.py``, ``test_audit_summaries.py``). Its own
figures are checked by hand in ``tests/audit/test_audit_analysis.py``.

It lives in the tests because nothing in production uses it; ``benchmarks/audit.py`` imports
it too, to time it as the peer of the production report.
"""

from tests.audit.reference.figures import analyse
from tests.audit.reference.loading import load_tables
from tests.audit.reference.tables import ReferenceTables, empty_tables

__all__ = ["ReferenceTables", "analyse", "empty_tables", "load_tables"]
