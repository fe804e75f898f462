"""The report's figures with the counting done by the database.

``queries.load_tables`` + ``analysis.summary.analyse`` read every assessment and analgesic
entry of the cohort into pandas: at 100,000 procedures that is 600,000 assessments and a
million analgesic entries, a minute of work. Here the database does the counting, with ORM
aggregates that run on SQLite and PostgreSQL alike:

- cohort size, special arrangements and key-field completeness: one aggregate over the
  procedures (``Exists`` for the steps before the procedure);
- follow-up completeness (scheduled, done, missed, open): one ``GROUP BY timepoint``;
- adverse events per type, any, serious and device-related: two small aggregates;
- paired outcomes: one row per procedure with its worst pain, EQ-5D-5L profile code, OME and
  unconvertible-entry count at each time point (conditional aggregates over the completed
  assessments and their analgesic entries). The OME of each distinct analgesic entry (drug,
  dose, unit, route, doses per day) is computed once in Python with ``clinical.opioids``
  and handed to the database as a CASE expression; EQ-5D indices are looked up in NumPy.
  That table goes through the same pure function as the pandas path
  (``outcomes.outcomes_from_wide``);
- CUSUM and funnel: one narrow row per (procedure, operator) with its complication flag,
  through ``analysis.summary.monitoring``.

The tests check that both paths give the same figures for the same cohort.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trim

from thermablate.audit import queries
from thermablate.audit.analysis import cohort, outcomes, safety
from thermablate.audit.analysis import tables as t
from thermablate.audit.analysis.summary import AuditFigures, monitoring
from thermablate.clinical import eq5d, opioids
from thermablate.registry import choices as c
from thermablate.registry.models import (
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    MdtDecisionRecord,
    Procedure,
)

TIMEPOINTS = tuple(t.TIMEPOINT_LABELS)
# The CASE that maps each distinct analgesic entry to its OME is tested branch by branch on every
# row and repeated in the six time-point columns with six parameters a branch. 200 entries make
# about 7,000 parameters, well inside the 32,766 some SQLite builds allow; with 1,500 the query
# ran 8 times slower than the pure path. A registry with more distinct entries (doses typed
# over the years add up) takes the pure path for the outcome table: slower, never wrong.
MAX_CASE_ENTRIES = 200
_EQ5D_FIELDS = tuple(name for name, _ in c.EQ5D_DIMENSIONS)


def figures(
    cohort_filter: queries.CohortFilter,
    as_of: date,
    event_types: Mapping[str, str] = queries.EVENT_TYPES,
) -> AuditFigures:
    """Every figure of the governance report for the cohort, as ``analyse`` computes them."""
    procedures = queries.procedures_in(cohort_filter).order_by()
    ids = procedures.values("id")
    totals = _procedure_totals(procedures)
    by_timepoint = _assessment_counts(ids, as_of)
    wide = outcome_table(ids)
    followed_up = wide[[("ome_not_convertible", tp) for tp in t.FOLLOW_UP_TIMEPOINTS]].notna()
    baseline = wide.xs("baseline", axis=1, level="timepoint")
    charts, operator_funnel = monitoring(*_operator_cases(ids))
    total = totals["procedures"]
    return AuditFigures(
        as_of=as_of,
        size=cohort.CohortSize(
            procedures=total,
            patients=totals["patients"],
            operators=_operator_count(ids),
            first_procedure=totals["first_procedure"],
            last_procedure=totals["last_procedure"],
        ),
        follow_up=cohort.follow_up_from_counts({tp: row[:4] for tp, row in by_timepoint.items()}),
        overdue=sum(row[2] for tp, row in by_timepoint.items() if tp != "baseline"),
        fields=cohort.field_completeness(
            cohort.FieldCounts(
                procedures=total,
                baseline_pain=by_timepoint.get("baseline", (0,) * 6)[4],
                baseline_eq5d=by_timepoint.get("baseline", (0,) * 6)[5],
                baseline_analgesics=int(baseline["ome_mg_per_day"].notna().sum()),
                device_lot=totals["device_lot"],
                with_cement=totals["with_cement"],
                cement_volume=totals["cement_volume"],
                any_follow_up=int(followed_up.any(axis=1).sum()),
            )
        ),
        arrangements=cohort.arrangement_compliance(
            cohort.ArrangementCounts(
                procedures=total,
                mdt=totals["mdt"],
                written_information=totals["written_information"],
                nice_information=totals["nice_information"],
                uncertainties=totals["uncertainties"],
                consent=totals["consent"],
                baseline=int(baseline["ome_not_convertible"].notna().sum()),
            )
        ),
        outcomes=outcomes.outcomes_from_wide(wide),
        unconvertible_analgesics=int(wide.xs("ome_not_convertible", axis=1, level=0).sum().sum()),
        events=safety.rates_from_counts(_event_counts(ids, total, event_types), event_types),
        cusum=charts,
        operator_funnel=operator_funnel,
    )


def _procedure_totals(procedures) -> dict:
    """Cohort size, arrangements before the procedure and procedure-level key fields."""
    steps = {"patient": OuterRef("patient_id")}
    mdt = MdtDecisionRecord.objects.filter(**steps, meeting_date__lte=OuterRef("procedure_date"))
    consents = Consent.objects.filter(**steps, consent_date__lte=OuterRef("procedure_date"))
    # TRIM removes spaces only (the pure path's str.strip() also tabs and newlines): a title
    # or lot number of nothing but tabs would count here, not there. Forms strip input.
    written = consents.annotate(title=Trim("leaflet_title")).exclude(title="")
    with_cement = ~Q(cement=c.Cement.NONE)
    return procedures.alias(
        lot=Trim("device_lot"),
        has_mdt=Exists(mdt),
        has_written=Exists(written),
        has_nice=Exists(consents.filter(nice_information_offered=True)),
        has_uncertainties=Exists(consents.filter(uncertainties_discussed=True)),
        has_consent=Exists(consents),
    ).aggregate(
        procedures=Count("id"),
        patients=Count("patient_id", distinct=True),
        first_procedure=Min("procedure_date"),
        last_procedure=Max("procedure_date"),
        device_lot=Count("id", filter=~Q(lot="")),
        with_cement=Count("id", filter=with_cement),
        cement_volume=Count("id", filter=with_cement & Q(cement_volume_ml__isnull=False)),
        mdt=Count("id", filter=Q(has_mdt=True)),
        written_information=Count("id", filter=Q(has_written=True)),
        nice_information=Count("id", filter=Q(has_nice=True)),
        uncertainties=Count("id", filter=Q(has_uncertainties=True)),
        consent=Count("id", filter=Q(has_consent=True)),
    )


def _assessment_counts(ids, as_of: date) -> dict[str, tuple[int, ...]]:
    """Per time point: scheduled, done, missed, open, with pain, with all five EQ-5D answers."""
    not_done = Q(assessed_on__isnull=True)
    all_eq5d = Q(**{f"{name}__isnull": False for name in _EQ5D_FIELDS})

    def count(condition: Q) -> Count:
        # COUNT(CASE ...) rather than COUNT(...) FILTER: twice as fast on SQLite.
        return Count(Case(When(condition, then=Value(1))))

    rows = (
        Assessment.objects.filter(procedure__in=ids)
        .order_by()
        .values("timepoint")
        .annotate(
            scheduled=Count("id"),
            done=Count("assessed_on"),
            missed=count(not_done & Q(window_closes__lt=as_of)),
            open=count(not_done & Q(window_opens__lte=as_of, window_closes__gte=as_of)),
            pain=Count("pain_worst"),
            eq5d=count(all_eq5d),
        )
    )
    return {
        row["timepoint"]: (
            row["scheduled"],
            row["done"],
            row["missed"],
            row["open"],
            row["pain"],
            row["eq5d"],
        )
        for row in rows
    }


def _entry_scores() -> list[tuple[tuple, float, int]]:
    """(drug, dose, unit, route, doses per day), its OME mg/day and unconvertible count, for
    each distinct analgesic entry in the registry, converted once."""
    keys = (
        AnalgesicEntry.objects.order_by()
        .values_list("drug", "dose", "unit", "route", "doses_per_day")
        .distinct()
    )
    scores = []
    for key in keys:
        drug, dose, unit, route, per_day = key
        result = opioids.ome_breakdown(
            [
                opioids.AnalgesicEntry(
                    drug=drug,
                    dose=float(dose),
                    unit=unit,
                    route=route,
                    doses_per_day=None if per_day is None else float(per_day),
                )
            ]
        )
        scores.append((key, result.total_mg_per_day, len(result.not_convertible)))
    return scores


def _entry_is(key: tuple, prefix: str = "") -> Q:
    """The analgesic entry (reached through ``prefix``) matches ``key``: the cheap text tests
    first, then the numbers."""
    drug, dose, unit, route, per_day = key

    def q(lookup: str, value) -> Q:
        return Q(**{prefix + lookup: value})

    match = q("drug", drug) & q("route", route) & q("unit", unit)
    if per_day is None:
        match &= q("doses_per_day__isnull", True)
    else:
        match &= q("doses_per_day", _number(per_day))
    return match & q("dose", _number(dose))


def _number(value):
    """A dose as the database compares it fastest with its decimal column: SQLite would
    convert Django's text form of a Decimal on every row, PostgreSQL would cast the column
    to float for a float (the values are equal either way)."""
    if connection.vendor == "sqlite":
        return Value(float(value), output_field=FloatField())
    return value


def _eq5d_code():
    """The five levels as one integer (2,1,3,2,5 -> 21325); NULL unless all five answered."""
    weights = (10_000, 1_000, 100, 10, 1)
    code = None
    for name, weight in zip(_EQ5D_FIELDS, weights, strict=True):
        term = F(name) * weight
        code = term if code is None else code + term
    return code


def outcome_table(ids) -> pd.DataFrame:
    """The ``outcomes.wide_table`` of the cohort, built by the database.

    One row per procedure with a completed assessment: its worst pain, EQ-5D-5L index, OME
    mg/day and unconvertible-entry count at each time point, NaN where not done. One query
    over the completed assessments and their analgesic entries (LEFT JOIN), grouped by
    procedure, a column per (value, time point).
    """
    scores = _entry_scores()
    if sum(1 for _, mg, bad in scores if mg or bad) > MAX_CASE_ENTRIES:
        # Too many distinct entries to hand to the database as a CASE: the pure path.
        return outcomes.wide_table(queries.assessments_table(ids))
    # Per analgesic entry: its OME (non-opioids and unconvertible entries add 0, as in
    # opioids.ome_breakdown), NULL where the assessment lists none (so that SUM is NULL).
    ome = Case(
        When(analgesics__id__isnull=True, then=Value(None)),
        *(When(_entry_is(key, "analgesics__"), then=Value(mg)) for key, mg, _ in scores if mg),
        default=Value(0.0),
        output_field=FloatField(),
    )
    unconvertible = Case(
        *(When(_entry_is(key, "analgesics__"), then=Value(bad)) for key, _, bad in scores if bad),
        default=Value(0),
        output_field=IntegerField(),
    )
    no_analgesics = Case(When(no_analgesics=True, then=Value(0.0)), output_field=FloatField())
    columns = {}
    for tp in TIMEPOINTS:
        at = Q(timepoint=tp)
        columns[f"pain_worst|{tp}"] = Max("pain_worst", filter=at)
        columns[f"eq5d_code|{tp}"] = Max(_eq5d_code(), filter=at)
        # Entries listed: their total; none but "no analgesics" ticked: 0; else unknown.
        columns[f"ome_mg_per_day|{tp}"] = Coalesce(
            Sum(ome, filter=at), Max(no_analgesics, filter=at), output_field=FloatField()
        )
        # A number (0 or more) exactly where the time point was done.
        columns[f"ome_not_convertible|{tp}"] = Sum(unconvertible, filter=at)
    done = Assessment.objects.filter(procedure__in=ids, assessed_on__isnull=False).order_by()
    values = _frame(done.values("procedure_id"), "procedure_id", columns)
    wide = {}
    for tp in TIMEPOINTS:
        for name in ("pain_worst", "ome_mg_per_day", "ome_not_convertible"):
            wide[(name, tp)] = values[f"{name}|{tp}"].to_numpy()
        wide[("eq5d_index", tp)] = _eq5d_indices(values[f"eq5d_code|{tp}"].to_numpy())
    table = pd.DataFrame(wide, index=values.index)
    table.columns = table.columns.set_names([None, "timepoint"])
    return table


def _frame(queryset, key: str, columns: dict) -> pd.DataFrame:
    """The grouped ``queryset`` as floats (NaN for NULL), indexed by ``key``."""
    names = list(columns)
    rows = queries.fetch(queryset.annotate(**columns), (key, *names))
    data = np.array(rows, dtype=float).reshape(len(rows), len(names) + 1)
    return pd.DataFrame(
        data[:, 1:], index=pd.Index(data[:, 0].astype(np.int64), name="procedure_id"), columns=names
    )


def _eq5d_indices(codes: np.ndarray) -> np.ndarray:
    known = ~np.isnan(codes)
    indices = np.full(len(codes), np.nan)
    indices[known] = _eq5d_lookup()[codes[known].astype(np.int64)]
    return indices


@lru_cache(maxsize=4)
def _eq5d_lookup(value_set: str = eq5d.DEFAULT_VALUE_SET) -> np.ndarray:
    """EQ-5D-5L index by profile code (11111-55555) as an array, NaN for codes not profiles."""
    table = np.full(55_556, np.nan)
    for code, value in eq5d.VALUE_SETS[value_set].values.items():
        table[int(code)] = value
    return table


def _event_counts(ids, total: int, event_types: Mapping[str, str]) -> safety.EventCounts:
    events = AdverseEvent.objects.filter(procedure__in=ids).order_by()
    by_type = {
        row["event_type"]: (row["events"], row["procedures"])
        for row in events.values("event_type").annotate(
            events=Count("id"), procedures=Count("procedure_id", distinct=True)
        )
    }
    serious = Q(severity__gte=safety.SERIOUS_GRADE)
    device = Q(device_related="yes")
    overall = events.aggregate(
        events=Count("id"),
        procedures=Count("procedure_id", distinct=True),
        serious_events=Count("id", filter=serious),
        serious_procedures=Count("procedure_id", distinct=True, filter=serious),
        device_events=Count("id", filter=device),
        device_procedures=Count("procedure_id", distinct=True, filter=device),
    )
    return safety.EventCounts(
        procedures=total,
        by_type=by_type,
        any=(overall["events"], overall["procedures"]),
        serious=(overall["serious_events"], overall["serious_procedures"]),
        device_related=(overall["device_events"], overall["device_procedures"]),
    )


def _operator_count(ids) -> int:
    through = Procedure.operators.through.objects.filter(procedure__in=ids).order_by()
    return through.aggregate(n=Count("user_id", distinct=True))["n"]


def _operator_cases(ids) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The tables ``summary.monitoring`` takes: each (procedure, operator) pair, the
    procedures' dates and whether each procedure had any adverse event."""
    through = Procedure.operators.through.objects.filter(procedure__in=ids).order_by()
    with_event = Exists(AdverseEvent.objects.filter(procedure=OuterRef("procedure_id")))
    rows = queries.fetch(
        through.annotate(complication=with_event),
        ("procedure_id", "user_id", "procedure__procedure_date", "complication"),
    )
    names = {
        pk: " ".join(filter(None, (first, last))) or username
        for pk, first, last, username in get_user_model()
        .objects.filter(pk__in={row[1] for row in rows})
        .values_list("pk", "first_name", "last_name", "username")
    }
    operators = t.frame(
        [(procedure, user, names[user]) for procedure, user, _, _ in rows], t.OPERATOR_COLUMNS
    )
    procedures = t.frame(
        {(procedure, when) for procedure, _, when, _ in rows}, ("procedure_id", "procedure_date")
    )
    flags = {procedure: int(bool(flag)) for procedure, _, _, flag in rows}
    complications = pd.Series(list(flags.values()), index=list(flags), dtype=int)
    return procedures, operators, complications
