"""The data-quality findings kept per record (``StoredFinding``), which the Data quality page
counts instead of evaluating every rule over the whole site (issue 12: its counts in under 2 s
at 100,000 procedures).

How they stay equal to what the rules say over the live records:

- **Every write marks its patient stale, in its own transaction.** Database triggers on the
  patient and on every table a rule reads (lesions, MDT decisions, consents, procedures and
  their governance, the approval's decision, cycles, assessments, analgesic entries, adverse
  events) mark the patient of the row inserted, changed or deleted (``StoredFindingsState``).
  Triggers rather than model signals: the actions write cycles and follow-up schedules with
  ``bulk_create`` and patients with ``QuerySet.update``, which send no signal, and a trigger
  also catches the admin, imports, bulk loads, data migrations and hand edits. It costs the
  writer no round trip (the import's query budget is unchanged), and a write that rolls back
  marks nothing. Corrections, "entered in error" and its undoing are such writes.
- **The next read rebuilds the stale patients first** (``refresh``): it claims their flags,
  deletes their findings and inserts them again from the rules' own conditions, one
  ``INSERT ... SELECT`` per rule, in one transaction per chunk of patients. On PostgreSQL a
  flag held by a writer's open transaction is skipped (``SKIP LOCKED``): that writer sets it
  again when it commits, so its patient is rebuilt by the next read, and a reader never waits
  on a long import. SQLite's transactions are one at a time (``IMMEDIATE``).
- **Rules that change with the day are never kept** (``Rule.changes_with_today``: a follow-up
  window closing, a patient's age): the page works them out from the records when it is read
  (``data_quality.count_in``).
- **When the rules change**, so does the digest of their SQL (``derivation``), and every
  patient is marked stale. **When a trigger is missing** (SQLite drops a table's triggers when
  a migration rebuilds the table) ``install_triggers`` puts it back after ``migrate`` and marks
  every patient stale.
  Only a missing trigger is noticed: a change to the triggers' SQL below needs a migration
  that installs them again (``remove_triggers`` then ``install_triggers``).
- Acknowledgements change no record's findings: they are matched to the kept findings when the
  counts are read.

``tests/registry/test_findings_store.py`` compares the kept counts with the rules evaluated from
scratch after creates, corrections, "entered in error", acknowledgements and the passing of days.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import lru_cache

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, Value
from django.utils import timezone

from thermablate.registry import data_quality as dq
from thermablate.registry.models import (
    DataQualityAcknowledgement,
    StoredFinding,
    StoredFindingsState,
    StoredFindingsVersion,
)

# Patients rebuilt per transaction: bounds the ids passed to each query and how long a
# rebuild holds their flags.
CHUNK = 2_000

KEPT_RULES = tuple(rule for rule in dq.RULES if not rule.changes_with_today)
READ_RULES = tuple(rule for rule in dq.RULES if rule.changes_with_today)

# ---- the triggers ----------------------------------------------------------------------------

_OWN_PATIENT = "SELECT {row}.patient_id AS patient_id"
_PROCEDURES_PATIENT = (
    "SELECT patient_id FROM registry_procedure WHERE registry_procedure.id = {row}.procedure_id"
)
# Per table a rule reads: the patients whose findings a row of it can change ({row}: NEW/OLD).
# Besides its own patient, a row's findings read through foreign keys, which wrong data can
# point at another patient's records (the rules are there to catch it): an MDT decision reads
# its lesion's diagnosis, an adverse event its procedure's date and cement, an assessment
# whether its procedure is entered in error. Those rows' patients are marked too.
WATCHED_TABLES = {
    "registry_patient": "SELECT {row}.id AS patient_id",
    "registry_lesion": (
        "SELECT {row}.patient_id AS patient_id UNION "
        "SELECT patient_id FROM registry_mdtdecisionrecord WHERE lesion_id = {row}.id"
    ),
    "registry_mdtdecisionrecord": _OWN_PATIENT,
    "registry_consent": _OWN_PATIENT,
    "registry_procedure": (
        "SELECT {row}.patient_id AS patient_id UNION "
        "SELECT patient_id FROM registry_assessment WHERE procedure_id = {row}.id UNION "
        "SELECT patient_id FROM registry_adverseevent WHERE procedure_id = {row}.id"
    ),
    "registry_proceduregovernance": _PROCEDURES_PATIENT,
    "registry_ablationcycle": _PROCEDURES_PATIENT,
    "registry_assessment": _OWN_PATIENT,
    "registry_analgesicentry": (
        "SELECT patient_id FROM registry_assessment "
        "WHERE registry_assessment.id = {row}.assessment_id"
    ),
    "registry_adverseevent": _OWN_PATIENT,
}
# An approval's decision is read by a rule of every procedure recorded under it (approvals are
# created before their procedures, so only its changes matter).
APPROVAL_TABLE = "registry_localapproval"
_APPROVALS_PATIENTS = (
    "SELECT registry_procedure.patient_id AS patient_id FROM registry_proceduregovernance "
    "JOIN registry_procedure ON registry_procedure.id = registry_proceduregovernance.procedure_id "
    "WHERE registry_proceduregovernance.approval_id = {row}.id"
)
_STATE = StoredFindingsState._meta.db_table
_EVERY_PATIENT = "SELECT id AS patient_id FROM registry_patient"


def _mark_sql(patients: str, vendor: str) -> str:
    """One statement marking stale the patients that ``patients`` selects."""
    selected = (
        f"SELECT patient_id, {{true}} FROM ({patients}) AS marked WHERE patient_id IS NOT NULL"  # noqa: S608 (our own SQL, no input)
    )
    if vendor == "postgresql":
        return (
            f"INSERT INTO {_STATE} (patient_id, stale) {selected.format(true='TRUE')} "
            # Only a fresh flag is written: one already stale is locked, not rewritten (each
            # rewrite would leave PostgreSQL one more row version to step over).
            f"ON CONFLICT (patient_id) DO UPDATE SET stale = TRUE WHERE NOT {_STATE}.stale"
        )
    return f"INSERT OR REPLACE INTO {_STATE} (patient_id, stale) {selected.format(true='1')}"


def _trigger_names(vendor: str) -> list[str]:
    tables = [*WATCHED_TABLES, APPROVAL_TABLE]
    if vendor == "postgresql":
        return [f"stale_findings_{table}" for table in tables]
    events = ("insert", "update", "delete")
    return [f"stale_findings_{table}_{event}" for table in WATCHED_TABLES for event in events] + [
        f"stale_findings_{APPROVAL_TABLE}_update"
    ]


def _postgresql_statements() -> list[str]:
    statements = []
    tables = {**WATCHED_TABLES, APPROVAL_TABLE: _APPROVALS_PATIENTS}
    for table, patients in tables.items():
        name = f"stale_findings_{table}"
        if table == APPROVAL_TABLE:
            body = (
                "IF NEW.decision IS DISTINCT FROM OLD.decision THEN "
                f"{_mark_sql(patients.format(row='NEW'), 'postgresql')}; END IF;"
            )
            events = "AFTER UPDATE"
        else:
            body = (
                f"IF TG_OP <> 'DELETE' THEN {_mark_sql(patients.format(row='NEW'), 'postgresql')}; "
                "END IF; "
                f"IF TG_OP <> 'INSERT' THEN {_mark_sql(patients.format(row='OLD'), 'postgresql')}; "
                "END IF;"
            )
            events = "AFTER INSERT OR UPDATE OR DELETE"
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
    return statements


def _sqlite_statements() -> list[str]:
    statements = []
    for table, patients in WATCHED_TABLES.items():
        rows = {"insert": ("NEW",), "update": ("NEW", "OLD"), "delete": ("OLD",)}
        for event, marked in rows.items():
            name = f"stale_findings_{table}_{event}"
            body = "; ".join(_mark_sql(patients.format(row=row), "sqlite") for row in marked)
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} BEGIN {body}; END",
            ]
    name = f"stale_findings_{APPROVAL_TABLE}_update"
    statements += [
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} AFTER UPDATE OF decision ON {APPROVAL_TABLE} "
        "WHEN NEW.decision IS NOT OLD.decision "
        f"BEGIN {_mark_sql(_APPROVALS_PATIENTS.format(row='NEW'), 'sqlite')}; END",
    ]
    return statements


def installed_triggers(conn=connection) -> set[str]:
    """The names of the triggers above that the database has (and, on PostgreSQL, enabled)."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgenabled <> 'D'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()} & set(_trigger_names(conn.vendor))


def install_triggers(conn=connection) -> bool:
    """Install the triggers if any is missing, and then mark every patient stale (writes may
    have gone unmarked while it was missing); True if they were installed."""
    if conn.vendor not in ("postgresql", "sqlite"):
        return False
    if set(_trigger_names(conn.vendor)) <= installed_triggers(conn):
        return False
    statements = _postgresql_statements() if conn.vendor == "postgresql" else _sqlite_statements()
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute(_mark_sql(_EVERY_PATIENT, conn.vendor))
    return True


def remove_triggers(conn=connection) -> None:
    with conn.cursor() as cursor:
        for name in _trigger_names(conn.vendor):
            if conn.vendor == "postgresql":
                table = name.removeprefix("stale_findings_")
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def triggers_after_migrate(sender, using, **kwargs) -> None:
    """``post_migrate``: put back the triggers a migration dropped (see the module's docstring)."""
    from django.db import connections

    conn = connections[using]
    if _STATE in conn.introspection.table_names():  # not when migrated back before them
        install_triggers(conn)


# ---- the rebuild -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def derivation(vendor: str) -> str:
    """A digest of the SQL that finds each kept rule's findings (``vendor`` keys the cache):
    when a rule's condition or the records that count (``data_quality.live``) change, so does
    this. Worked out once per process: the code does not change under a running one."""
    text = []
    for rule in KEPT_RULES:
        try:
            sql, params = _found(rule, [-1], date(2000, 1, 1)).query.sql_with_params()
        except EmptyResultSet:  # no record can count: nothing to find
            sql, params = "", ()
        # A JSON parameter is a psycopg wrapper: its value, not the wrapper, is the rule's.
        values = [getattr(param, "obj", param) for param in params]
        text.append(f"{rule.code}\n{sql}\n{values!r}")
    return hashlib.sha256("\n\n".join(text).encode()).hexdigest()


def _rules_checked() -> None:
    """Mark every patient stale when the rules changed since the findings were kept."""
    current = derivation(connection.vendor)
    if StoredFindingsVersion.objects.filter(derivation=current).exists():
        return
    with transaction.atomic():
        StoredFindingsVersion.objects.all().delete()
        StoredFindingsVersion.objects.create(derivation=current)
        with connection.cursor() as cursor:
            cursor.execute(_mark_sql(_EVERY_PATIENT, connection.vendor))


def _found(rule: dq.Rule, patient_ids: list[int], today: date):
    """The findings of ``rule`` on the live records of ``patient_ids``, as the rows to keep."""
    kind = rule.record_type
    return (
        dq.live(kind.model.objects.filter(**{f"{kind.patient_path}__in": patient_ids}))
        .filter(rule.where(today))
        .annotate(
            dq_rule=Value(rule.code, output_field=CharField()),
            dq_patient=F(kind.patient_path),
            dq_site=F(kind.site_path),
        )
        .order_by()
        .values_list("dq_rule", "pk", "dq_patient", "dq_site")
    )


def _insert_findings(rule: dq.Rule, patient_ids: list[int], today: date) -> None:
    try:
        sql, params = _found(rule, patient_ids, today).query.sql_with_params()
    except EmptyResultSet:  # no record can count: nothing to keep
        return
    table = StoredFinding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (rule, object_id, patient_id, site_id) {sql}", params)  # noqa: S608 (the rules' own SQL)


def mark_every_patient_stale() -> None:
    """Have the next ``refresh`` rebuild every patient's findings (``summaries --rebuild``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_mark_sql(_EVERY_PATIENT, connection.vendor))


def refresh(*, today: date | None = None) -> int:
    """Rebuild the findings of every stale patient; how many patients were rebuilt."""
    today = today or timezone.localdate()
    _rules_checked()
    rebuilt = 0
    # Looked for first: a read takes SQLite's write lock only when there is work.
    while StoredFindingsState.objects.filter(stale=True).exists():
        with transaction.atomic(), dq.compiled_without_jit():
            ids = list(
                StoredFindingsState.objects.select_for_update(skip_locked=True)
                .filter(stale=True)
                .order_by("patient_id")
                .values_list("patient_id", flat=True)[:CHUNK]
            )
            if not ids:  # the rest is held by writers, who mark it again as they commit
                break
            StoredFindingsState.objects.filter(patient_id__in=ids).update(stale=False)
            StoredFinding.objects.filter(patient_id__in=ids).delete()
            for rule in KEPT_RULES:
                _insert_findings(rule, ids, today)
        rebuilt += len(ids)
    return rebuilt


# ---- reading ---------------------------------------------------------------------------------


def _acknowledgement_of_kept() -> Exists:
    return Exists(
        DataQualityAcknowledgement.objects.filter(
            rule=OuterRef("rule"), object_id=OuterRef("object_id")
        )
    )


def _kept_counts(site, rules: list[dq.Rule]) -> dict[str, dq.RuleCount]:
    """Open and acknowledged findings of kept ``rules`` at ``site``: two grouped counts, one
    over the site's kept findings, one over the acknowledgements (which are few)."""
    codes = [rule.code for rule in rules]
    fired = dict(
        StoredFinding.objects.filter(site_id=site.pk, rule__in=codes)
        .values("rule")
        .annotate(n=Count("*"))
        .values_list("rule", "n")
    )
    acknowledged = dict(
        DataQualityAcknowledgement.objects.filter(rule__in=codes)
        .filter(
            Exists(
                StoredFinding.objects.filter(
                    site_id=site.pk, rule=OuterRef("rule"), object_id=OuterRef("object_id")
                )
            )
        )
        .values("rule")
        .annotate(n=Count("pk"))
        .values_list("rule", "n")
    )
    return {
        rule.code: dq.RuleCount(
            rule,
            open=fired.get(rule.code, 0) - acknowledged.get(rule.code, 0),
            acknowledged=acknowledged.get(rule.code, 0),
        )
        for rule in rules
    }


def count_findings(site, *, today: date | None = None) -> list[dq.RuleCount]:
    """Open and acknowledged findings of every rule at ``site``, in the rules' order: the
    stale patients rebuilt, the kept rules counted from their findings, the rules that change
    with the day from the records."""
    today = today or timezone.localdate()
    refresh(today=today)
    counts: dict[str, dq.RuleCount] = {}
    with dq.compiled_without_jit():
        counts.update(_kept_counts(site, list(KEPT_RULES)))
        for record_type in dq.RECORD_TYPES:
            group = dq.rules_of(record_type, READ_RULES)
            if group:
                counts.update(dq.count_in(dq.site_records(record_type, site), group, today))
    return [counts[rule.code] for rule in dq.RULES]


class FindingList(dq.FindingList):
    """The page's list: a kept rule's findings are read from the kept findings (by record id,
    a page at a time), then their records' values; the other rules' from the records."""

    def rows(self, rule: dq.Rule, low: int, high: int) -> list[dict]:
        if rule.changes_with_today:
            return super().rows(rule, low, high)
        kept = StoredFinding.objects.filter(site_id=self.site.pk, rule=rule.code)
        if self.status == dq.Status.OPEN:
            kept = kept.filter(~Q(_acknowledgement_of_kept()))
        elif self.status == dq.Status.ACKNOWLEDGED:
            kept = kept.filter(_acknowledgement_of_kept())
        ids = list(kept.order_by("object_id").values_list("object_id", flat=True)[low:high])
        records = dq.site_records(rule.record_type, self.site).filter(pk__in=ids).order_by("pk")
        return list(dq.row_values(records, rule.record_type))
