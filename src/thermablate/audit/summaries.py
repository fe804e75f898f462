"""Per-procedure summaries (``CaseSummary``) that the governance report reads.

Why they exist: the report's figures need, for every procedure, its steps before the
procedure and the values of its six assessments with their analgesics converted to oral
morphine equivalents. Read from the registry's own tables at 100,000 procedures that is
600,000 assessments and a million analgesic entries: several seconds on either database
however the queries are written. A summary row per procedure turns that into one narrow
read. Each summary is derived from its procedure's records by ``queries.tables_for`` and
``analysis.cohort``'s per-procedure flags; the tests check the report's figures against a
reference path that computes them from the registry's own tables (``tests/audit/reference``).

How they stay right:

- Any save of a patient or procedure, and any save or delete of an assessment, an analgesic
  entry, an MDT decision or a consent, marks the summaries it touches stale (signal
  receivers below, inside the writer's transaction: a write that rolls back marks nothing;
  ``connect_signals`` says why signals rather than calls from the registry's writers).
  The registry's writers (``registry.actions``) save model instances; ``QuerySet.update``
  and ``bulk_create`` send no signals, so data written that way (the benchmark's bulk load)
  must be followed by ``refresh`` (``thermablate summaries``). Marking a record "entered in
  error" or undoing it, recording a patient's status and closing a time point as "could not be
  done" are such saves (``registry.actions.corrections`` saves the instance).
- ``refresh`` rebuilds, before a report reads them, the summaries of the cohort that are
  stale, missing, or derived under another conversion table or value set (``derivation``).
  It clears the stale flags *before* it reads the records, and storing a summary never
  touches the flag: a write that commits while it reads marks its summary stale (again),
  to be rebuilt by the next report, instead of being overwritten by figures from before it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save

from thermablate.audit import queries
from thermablate.audit.analysis import cohort
from thermablate.audit.models import TIMEPOINT_FIELDS, CaseSummary
from thermablate.clinical import eq5d, opioids
from thermablate.registry.models import (
    AnalgesicEntry,
    Assessment,
    Consent,
    MdtDecisionRecord,
    Patient,
    Procedure,
)

# Raise when the way a summary is derived changes, so that every summary is rebuilt.
# 2: "done" means done within the window; assessments outside it are counted apart.
# 3: records "entered in error" leave the figures; time points closed by the patient's status
#    (not eligible, lost) or as "could not be done" (``closed_<tp>``).
# 4: the MDT arrangement is a decision to proceed, the latest about the lesion on or before the
#    procedure (the pathway rules of registry.data_quality), not any decision before it.
# 5: the EQ VAS, ODI and BPI scores, and whether the patient reported the assessment.
SUMMARY_FORMAT = 5
# Procedures per rebuild transaction: bounds memory and how long a rebuild holds locks.
CHUNK = 2_000
ARRANGEMENT_FIELDS = {
    "mdt": "mdt_before",
    "written_information": "written_information_before",
    "nice_information": "nice_information_before",
    "uncertainties": "uncertainties_before",
    "consent": "consent_before",
}
# Per time point, the summary's value fields and the ASSESSMENTS column each comes from.
VALUE_COLUMNS = (
    "pain_worst",
    "eq5d_index",
    "ome_mg_per_day",
    "ome_not_convertible",
    "eq5d_vas",
    "odi",
    "bpi_severity",
    "bpi_interference",
)
_PROCEDURE_FIELDS = (
    "entered_in_error",
    "site",
    "patient",
    "procedure_type",
    "procedure_date",
    "device_lot_recorded",
    "with_cement",
    "cement_volume_recorded",
)
_SUMMARY_FIELDS = [
    *_PROCEDURE_FIELDS,
    *ARRANGEMENT_FIELDS.values(),
    *TIMEPOINT_FIELDS,
    "derivation",
]


def derivation() -> str:
    """What the summaries' figures depend on besides the records themselves."""
    value_set = eq5d.VALUE_SETS[eq5d.DEFAULT_VALUE_SET]
    return (
        f"summary {SUMMARY_FORMAT}; OME table {opioids.CONVERSION_TABLE_VERSION}; "
        f"EQ-5D-5L {value_set.name} {value_set.version}"
    )


def mark_stale(procedure_ids: Iterable[int | None]) -> None:
    """Flag these procedures' summaries for rebuilding (creating the flag row if need be)."""
    ids = {pk for pk in procedure_ids if pk is not None}
    if ids:
        CaseSummary.objects.bulk_create(
            [CaseSummary(procedure_id=pk, stale=True) for pk in sorted(ids)],
            update_conflicts=True,
            unique_fields=["procedure"],
            update_fields=["stale"],
        )


def stale_or_missing(procedures: QuerySet, selected: QuerySet | None = None) -> list[int]:
    """Ids, in order, of ``procedures`` whose summary needs building, and of the procedures
    of the stale summaries among ``selected``."""
    needed = Q(
        id__in=procedures.order_by()
        .filter(
            Q(case_summary__isnull=True)
            | Q(case_summary__stale=True)
            | ~Q(case_summary__derivation=derivation())
        )
        .values("id")
    )
    if selected is not None:
        needed |= Q(id__in=selected.order_by().filter(stale=True).values("procedure_id"))
    # In id order, as mark_stale writes: two rebuilds never wait on each other's rows in
    # opposite orders (a deadlock on PostgreSQL).
    return list(Procedure.objects.filter(needed).order_by("id").values_list("id", flat=True))


def refresh(procedures: QuerySet, selected: QuerySet | None = None) -> int:
    """Bring the summaries of ``procedures`` up to date; how many were rebuilt.

    ``selected``: the summaries a report will then read (``queries.summaries_in``, which
    selects by the summaries' copies of site, type and date). Their stale ones are rebuilt
    too: a procedure whose date or type has changed may have left the cohort, and must not
    be counted from its old copy.
    """
    ids = stale_or_missing(procedures, selected)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            # Claim the stale ones first (stale = False), then read: see the module's
            # docstring. Missing and out-of-date summaries need no claim: the store below
            # never sets ``stale``, so a write marking one meanwhile keeps its mark. (One
            # write per summary where possible: on PostgreSQL each is a row version.)
            CaseSummary.objects.filter(procedure_id__in=chunk, stale=True).update(stale=False)
            CaseSummary.objects.bulk_create(
                build(Procedure.objects.filter(id__in=chunk)),
                update_conflicts=True,
                unique_fields=["procedure"],
                update_fields=_SUMMARY_FIELDS,
            )
    # Summaries of deleted procedures (see CaseSummary.procedure): few, and always stale.
    # Looked for first, so that a report takes SQLite's write lock only when it must.
    orphans = list(
        CaseSummary.objects.filter(stale=True)
        .exclude(procedure_id__in=Procedure.objects.values("id"))
        .values_list("procedure_id", flat=True)
    )
    if orphans:
        CaseSummary.objects.filter(procedure_id__in=orphans, stale=True).delete()
    return len(ids)


def build(procedures: QuerySet) -> list[CaseSummary]:
    """The summaries of ``procedures``, computed from their records (not saved)."""
    tables = queries.tables_for(procedures)
    copied = {
        pk: (site, in_error)
        for pk, site, in_error in procedures.values_list(
            "id", "patient__site_id", "entered_in_error"
        )
    }
    # Plain dicts: looking values up in a DataFrame row by row would take most of the time.
    flags = cohort.arrangement_flags(tables).to_dict("index")
    key_fields = cohort.key_field_flags(tables.procedures).to_dict("index")
    by_procedure = _timepoint_values(tables.assessments)
    current = derivation()
    summaries = []
    for row in tables.procedures.itertuples(index=False):
        pk = int(row.procedure_id)
        site, in_error = copied[pk]
        fields = {
            "entered_in_error": in_error,
            "site_id": site,
            "patient_id": int(row.patient_id),
            "procedure_type": row.procedure_type,
            "procedure_date": row.procedure_date.date(),
            **{name: bool(value) for name, value in key_fields[pk].items()},
            **{field: bool(flags[pk][item]) for item, field in ARRANGEMENT_FIELDS.items()},
            **by_procedure.get(pk, {}),
        }
        summaries.append(CaseSummary(procedure_id=pk, stale=False, derivation=current, **fields))
    return summaries


def _timepoint_values(assessments: pd.DataFrame) -> dict[int, dict]:
    """Per procedure, the summary's time-point fields from its assessments."""
    # Only an assessment within its window is done, and only its values are outcomes: a
    # 12-month score taken at day 15 is not a 12-month outcome (docs/audit.md).
    states = cohort.follow_up_states(assessments)
    done = states == cohort.DONE
    # Python values (None for missing), converted column by column rather than row by row.
    columns = {
        "opens": _python_dates(assessments.window_opens),
        "closes": _python_dates(assessments.window_closes),
        "done": done.tolist(),
        "outside": (states == cohort.OUTSIDE).tolist(),
        "closed": states.where(states.isin(cohort.CLOSED_STATES), "").tolist(),
        "patient_reported": (done & (assessments.reported_by == "patient")).tolist(),
        **{name: _python_numbers(assessments[name].where(done)) for name in VALUE_COLUMNS},
    }
    values: dict[int, dict] = {}
    for number, (procedure_id, tp) in enumerate(
        zip(assessments.procedure_id.tolist(), assessments.timepoint.tolist(), strict=True)
    ):
        fields = values.setdefault(int(procedure_id), {})
        for name, column in columns.items():
            fields[f"{name}_{tp}"] = column[number]
    return values


def _python_dates(column: pd.Series) -> list:
    return [None if pd.isna(value) else value.date() for value in column]


def _python_numbers(column: pd.Series) -> list:
    return [None if np.isnan(value) else value for value in column.astype(float).tolist()]


# Signal receivers: which procedures a saved or deleted record belongs to.


def _procedure_changed(sender, instance, raw=False, **kwargs):
    if not raw:  # a restore empties the summaries; refresh rebuilds them all
        mark_stale([instance.pk])


def _assessment_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        mark_stale([instance.procedure_id])


def _analgesic_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        mark_stale(
            Assessment.objects.filter(pk=instance.assessment_id).values_list(
                "procedure_id", flat=True
            )
        )


def _patient_changed(sender, instance, raw=False, **kwargs):
    # Summaries copy the patient's site, and their time points are closed by the patient's
    # status (died, withdrew, lost to follow-up) from its date.
    if not raw:
        mark_stale(Procedure.objects.filter(patient=instance).values_list("id", flat=True))


def _patient_step_changed(sender, instance, raw=False, **kwargs):
    # An MDT decision or consent counts for every procedure of the patient dated after it.
    if not raw:
        mark_stale(
            Procedure.objects.filter(patient_id=instance.patient_id).values_list("id", flat=True)
        )


def connect_signals() -> None:
    """Connect the receivers above; called once, from ``AuditConfig.ready``.

    Why model signals rather than a call from the registry's writer module: the registry is a
    lower layer than the audit and must not import it (imports run only downward), and a
    signal is how a lower layer's writes reach a higher layer without knowing it exists.
    Signals also catch every writer that saves these models, not only ``registry.actions``:
    the admin site, a shell, a command or a future writer that forgets the audit. Restores
    save raw (``loaddata``); the receivers skip those, since a restore leaves the summaries
    out and ``refresh`` builds the missing ones. Not caught, by any scheme short of database
    triggers: ``QuerySet.update``, ``bulk_create`` and data migrations (their historical
    models are other classes than the senders below); after those, run ``refresh``.

    This is the one place the summaries' invalidation is wired up; the ``dispatch_uid``s make
    a second call a no-op, so a receiver never runs twice for one write.
    """
    # A deleted procedure takes its summary with it, so only its saves are watched.
    post_save.connect(_procedure_changed, sender=Procedure, dispatch_uid="case-summary-procedure")
    post_save.connect(_patient_changed, sender=Patient, dispatch_uid="case-summary-patient")
    receivers = (
        (Assessment, _assessment_changed),
        (AnalgesicEntry, _analgesic_changed),
        (MdtDecisionRecord, _patient_step_changed),
        (Consent, _patient_step_changed),
    )
    for model, receiver in receivers:
        uid = f"case-summary-{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid)
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}-delete")
