"""Pure analysis of the outcomes audit: functions over plain pandas tables, no Django.

The tables and their columns are documented in ``tables.py``; ``audit.queries`` builds them
from the registry. Each module has one job: ``stats`` (intervals), ``cohort`` (size and
completeness), ``outcomes`` (change from baseline), ``safety`` (adverse event rates),
``cusum`` and ``funnel`` (monitoring complications per operator and site).
"""
