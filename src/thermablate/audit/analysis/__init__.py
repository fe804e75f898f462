"""Pure analysis of the outcomes audit: functions over plain pandas tables and counts, no Django.

The tables and their columns are documented in ``tables.py``; ``audit.queries`` builds them
from the registry and ``audit.summaries`` derives each procedure's summary from them with
``cohort``'s per-procedure flags; ``audit.aggregates`` then turns the database's counts over
the summaries into figures with the functions here. Each module has one job: ``stats``
(intervals), ``cohort`` (size, completeness, special arrangements), ``outcomes`` (change from
baseline), ``safety`` (adverse event rates), ``cusum`` and ``funnel`` (monitoring complications
per operator and site), ``summary`` (the report's figures in one object).

The pandas reference path that computes every figure from the raw tables lives in the tests
(``tests/audit/reference``), as the oracle the production figures must equal.
"""
