"""Select a report's cohort, and build the tables case summaries are derived from
(``analysis.tables``) from the registry.

One SQL query per table, whatever the cohort size: the querysets are compiled by the ORM and
their rows fetched with the database cursor (no model instances, no per-row queries). Scores
are derived here from the raw answers with ``thermablate.clinical``: the EQ-5D index under the
default value set, the OME of each distinct analgesic entry (drug, dose, unit, route,
frequency), and the ODI and BPI scores of each distinct set of answers, each computed once and
shared by every assessment that has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import QuerySet

from thermablate.audit.analysis import tables as t
from thermablate.audit.models import CaseSummary
from thermablate.clinical import bpi, eq5d, odi, opioids
from thermablate.registry import choices as c
from thermablate.registry import data_quality as dq
from thermablate.registry.models import (
    FOLLOW_UP_ENDED,
    AnalgesicEntry,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Procedure,
    Site,
)

EVENT_TYPES = dict(c.AdverseEventType.choices)
PROCEDURE_TYPES = dict(c.ProcedureType.choices)
SINS_CATEGORIES = dict(c.SinsCategory.choices)


@dataclass(frozen=True)
class CohortFilter:
    """Which procedures a report covers. ``None`` means no restriction."""

    site: Site
    procedure_type: str | None = None
    guidance: str | None = None  # a NICE guidance key, e.g. HTG670
    operator_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    # Of the treated lesion: SINS category (derived from its components) and Bilsky grade.
    sins_category: str | None = None
    bilsky_grade: str | None = None
    # Whether the treated level or site had been irradiated before (yes, no, not known).
    prior_radiotherapy: str | None = None

    def describe(self) -> str:
        parts = [self.site.name]
        if self.procedure_type:
            parts.append(PROCEDURE_TYPES.get(self.procedure_type, self.procedure_type))
        if self.guidance:
            parts.append(f"procedures under {self.guidance}")
        if self.sins_category:
            label = SINS_CATEGORIES.get(self.sins_category, self.sins_category)
            parts.append(f"lesions scored {label[0].lower()}{label[1:]}")
        if self.bilsky_grade:
            parts.append(f"lesions of Bilsky grade {self.bilsky_grade}")
        if self.prior_radiotherapy:
            parts.append(
                {
                    "yes": "lesions irradiated before",
                    "no": "lesions not irradiated before",
                }.get(self.prior_radiotherapy, "lesions with prior radiotherapy not known")
            )
        if self.date_from or self.date_to:
            start = f"{self.date_from:%d %b %Y}" if self.date_from else "the start"
            end = f"{self.date_to:%d %b %Y}" if self.date_to else "today"
            parts.append(f"procedures from {start} to {end}")
        return "; ".join(parts)


def procedure_types_for_guidance(key: str) -> list[str]:
    """The procedure types a NICE guidance governs (the guidance app's mapping)."""
    from thermablate.guidance.governance import guidance_key_for

    return [code for code in c.ProcedureType.values if guidance_key_for(code) == key]


def procedures_in(cohort: CohortFilter) -> QuerySet:
    """The cohort's procedures that count: those not marked "entered in error" (a procedure
    in error takes its follow-up and adverse events out of the audit with it)."""
    return _restricted(
        Procedure.objects.live(),
        cohort,
        site="patient__site",
        operators="operators",
        lesion="lesion",
    )


def summaries_in(cohort: CohortFilter) -> QuerySet:
    """The cohort's case summaries (``audit.summaries``), selected by their own copies of the
    procedure's site, type and date, exactly as ``procedures_in`` selects procedures (the
    lesion's staging through the summary's procedure), and by its copy of the procedure's
    "entered in error" mark: a summary made stale by the mark still counts by its old copy
    until ``summaries.refresh`` rebuilds it, which every report does first."""
    return _restricted(
        CaseSummary.objects.filter(entered_in_error=False),
        cohort,
        site="site",
        operators="procedure__operators",
        lesion="procedure__lesion",
    )


_SINS_INPUTS = ("id", "spinal_levels", "lesion_type", *Lesion.SINS_FIELDS)


def lesions_in_sins_category(site: Site, category: str) -> list[int]:
    """Ids of the site's lesions whose SINS falls in ``category``. The total is derived, not
    stored (its location comes from the levels), so it is scored here with the registry's own
    rule over the answered lesions: one query, no model saved."""
    answered = Lesion.objects.live().filter(patient__site=site).exclude(spinal_levels="")
    for name in Lesion.SINS_FIELDS:
        answered = answered.exclude(**{name: ""})
    wanted = []
    for row in answered.order_by().values(*_SINS_INPUTS):
        score = Lesion(**row).sins_score
        if score is not None and score.category == category:
            wanted.append(row["id"])
    return wanted


def _restricted(
    queryset: QuerySet, cohort: CohortFilter, *, site: str, operators: str, lesion: str
):
    """``queryset`` of procedures or summaries restricted to ``cohort``; ``site``,
    ``operators`` and ``lesion`` are the lookups of the site, the operators and the treated
    lesion from its model."""
    queryset = queryset.filter(**{site: cohort.site})
    if cohort.bilsky_grade:
        queryset = queryset.filter(**{f"{lesion}__bilsky_grade": cohort.bilsky_grade})
    if cohort.prior_radiotherapy:
        queryset = queryset.filter(**{f"{lesion}__prior_radiotherapy": cohort.prior_radiotherapy})
    if cohort.sins_category:
        ids = lesions_in_sins_category(cohort.site, cohort.sins_category)
        queryset = queryset.filter(**{f"{lesion}__in": ids})
    if cohort.procedure_type:
        queryset = queryset.filter(procedure_type=cohort.procedure_type)
    if cohort.guidance:
        queryset = queryset.filter(procedure_type__in=procedure_types_for_guidance(cohort.guidance))
    if cohort.operator_id:
        queryset = queryset.filter(**{operators: cohort.operator_id})
    if cohort.date_from:
        queryset = queryset.filter(procedure_date__gte=cohort.date_from)
    if cohort.date_to:
        queryset = queryset.filter(procedure_date__lte=cohort.date_to)
    return queryset


def operator_name(first_name: str, last_name: str, username: str) -> str:
    """How reports and exports name an operator: full name, else the user name."""
    return " ".join(filter(None, (first_name, last_name))) or username


def fetch(queryset: QuerySet, fields: tuple[str, ...], *, binary: bool = False) -> list[tuple]:
    """Rows of ``fields`` in one query through the cursor, without model instances.

    ``binary``: on PostgreSQL, ask for the results in binary form, so that numbers and dates
    arrive as bytes rather than text to parse (the report's 100,000-row reads take a third
    less time). For reads of numbers, dates and flags: a JSON or text column would come back
    as psycopg makes it, not as Django's cursor would.
    """
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    if binary and connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        # A cursor of the same connection (same transaction); Django's binds client-side,
        # which has no binary results.
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, binary=True)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _convert(drug: str, dose: float, unit: str, route: str, per_day: float) -> tuple[float, int]:
    """OME mg/day of one entry and whether it could not be converted (1) or could (0)."""
    entry = opioids.AnalgesicEntry(
        drug=drug,
        dose=float(dose),
        unit=unit,
        route=route,
        doses_per_day=None if np.isnan(per_day) else float(per_day),
    )
    result = opioids.ome_breakdown([entry])
    return result.total_mg_per_day, len(result.not_convertible)


def _ome_per_assessment(assessment_ids: QuerySet) -> pd.DataFrame:
    """OME mg/day and unconvertible entry count per assessment that lists any analgesic."""
    columns = ["assessment_id", "drug", "dose", "unit", "route", "doses_per_day"]
    rows = fetch(
        AnalgesicEntry.objects.filter(assessment__in=assessment_ids).order_by(), tuple(columns)
    )
    entries = pd.DataFrame.from_records(rows, columns=columns)
    if entries.empty:
        return pd.DataFrame({"assessment_id": [], "ome": [], "not_convertible": []})
    entries["dose"] = entries.dose.astype(float)
    entries["doses_per_day"] = entries.doses_per_day.astype(float)
    key = columns[1:]
    distinct = entries[key].drop_duplicates().reset_index(drop=True)
    converted = [_convert(*row) for row in distinct.itertuples(index=False)]
    distinct["ome"] = [ome for ome, _ in converted]
    distinct["not_convertible"] = [bad for _, bad in converted]
    merged = entries.merge(distinct, on=key, how="left")
    return merged.groupby("assessment_id", as_index=False).agg(
        ome=("ome", "sum"), not_convertible=("not_convertible", "sum")
    )


_EQ5D_FIELDS = tuple(name for name, _ in c.EQ5D_DIMENSIONS)
_ODI_FIELDS = tuple(name for name, _ in c.ODI_SECTIONS)
_BPI_SEVERITY_FIELDS = tuple(c.BPI_SEVERITY_FIELDS[item] for item in bpi.SEVERITY_ITEMS)
_BPI_INTERFERENCE_FIELDS = tuple(name for name, _ in c.BPI_INTERFERENCE)


def scores(answers: pd.DataFrame, score) -> pd.Series:
    """``score`` (a scorer of ``thermablate.clinical`` taking a list of answers, None where
    unanswered) of each row's answers, NaN where it gives None. Scored once per distinct set
    of answers: the rows that answered none are skipped, and most of the others share theirs."""
    result = pd.Series(np.nan, index=answers.index)
    answered = answers[answers.notna().any(axis=1)]
    if answered.empty:
        return result
    codes = answered.astype(float).fillna(-1).astype(int)  # -1: unanswered
    for key, rows in codes.groupby(list(codes.columns)).groups.items():
        value = score([None if answer < 0 else int(answer) for answer in key])
        result[rows] = np.nan if value is None else value
    return result


def eq5d_indices(
    profiles: pd.DataFrame,
    ages: pd.Series,
    sexes: pd.Series,
    value_set: str = eq5d.DEFAULT_VALUE_SET,
) -> pd.Series:
    """Index of each row's five answers (NaN when not all answered, or for a respondent the
    value set does not cover), by table look-up. ``ages`` (whole years at the assessment)
    and ``sexes`` matter to the value sets that depend on them (the DSU mapping).

    Vectorised: the five levels become one integer code (e.g. 2,1,3,2,5 -> 21325) mapped
    through the table of each (age, sex) group, so 600,000 assessments take well under a
    second.
    """
    levels = profiles.astype(float).to_numpy()
    codes = pd.Series(
        levels @ np.array([10_000.0, 1_000.0, 100.0, 10.0, 1.0]), index=profiles.index
    )
    indices = pd.Series(np.nan, index=profiles.index)
    answered = codes.notna()
    groups = pd.DataFrame({"age": ages, "sex": sexes})[answered]
    if not isinstance(eq5d.VALUE_SETS[value_set], eq5d.AgeSexValueSet):
        groups = groups.assign(age=0, sex="")  # one table for everyone
    for (age, sex), rows in groups.groupby(["age", "sex"], dropna=False).groups.items():
        try:
            values = eq5d.values_for(value_set, age=None if pd.isna(age) else int(age), sex=sex)
        except ValueError:
            continue  # not covered by the value set (e.g. under 16 for the DSU mapping): NaN
        indices[rows] = codes[rows].map(_by_integer_code(values))
    return indices


_INTEGER_KEYED: dict[int, dict[int, float]] = {}


def _by_integer_code(values: Mapping[str, float]) -> dict[int, float]:
    """A value set's table keyed by integer code, made once per table (the tables live as
    long as the process, so their ids are stable keys; ages share their band's table)."""
    key = id(values)
    if key not in _INTEGER_KEYED:
        _INTEGER_KEYED[key] = {int(code): value for code, value in values.items()}
    return _INTEGER_KEYED[key]


def assessments_table(procedure_ids: QuerySet) -> pd.DataFrame:
    assessments = Assessment.objects.filter(procedure__in=procedure_ids).order_by()
    fields = (
        "id",
        "procedure_id",
        "timepoint",
        "window_opens",
        "window_closes",
        "assessed_on",
        "entered_in_error",
        "not_done_reason",
        "patient__status",
        "patient__status_date",
        "pain_worst",
        "pain_average",
        *_EQ5D_FIELDS,
        "eq5d_vas",
        *_ODI_FIELDS,
        "bpi_least",
        "bpi_now",
        *_BPI_INTERFERENCE_FIELDS,
        "reported_by",
        "no_analgesics",
        "patient__year_of_birth",
        "patient__sex",
    )
    raw = t.frame(fetch(assessments, fields), fields)
    if raw.empty:
        return t.frame([], t.ASSESSMENT_COLUMNS)
    ome = _ome_per_assessment(assessments.values("id"))
    raw = raw.merge(ome, left_on="id", right_on="assessment_id", how="left")
    raw["entered_in_error"] = raw.entered_in_error.astype(bool)
    raw["not_done"] = raw.not_done_reason.fillna("").str.strip() != ""
    # The patient's status, where it ended their follow-up (registry FOLLOW_UP_ENDED: the same
    # reading as Assessment.is_closed, which the follow-up lists use).
    ended = raw.patient__status.isin(FOLLOW_UP_ENDED) & raw.patient__status_date.notna()
    raw["follow_up_end"] = raw.patient__status.where(ended, "")
    raw["follow_up_ended_on"] = pd.to_datetime(raw.patient__status_date.where(ended))
    done = raw.assessed_on.notna()
    no_analgesics = raw.no_analgesics.fillna(False).astype(bool)
    raw["ome_mg_per_day"] = np.where(
        done & raw.ome.notna(), raw.ome, np.where(done & no_analgesics, 0.0, np.nan)
    )
    raw["ome_not_convertible"] = raw.not_convertible.fillna(0).astype(int)
    ages = raw.assessed_on.dt.year - raw.patient__year_of_birth  # eq5d.approximate_age
    raw["eq5d_index"] = eq5d_indices(raw[list(_EQ5D_FIELDS)], ages, raw.patient__sex)
    raw["odi"] = scores(raw[list(_ODI_FIELDS)], odi.score)
    raw["bpi_severity"] = scores(raw[list(_BPI_SEVERITY_FIELDS)], bpi.severity)
    raw["bpi_interference"] = scores(raw[list(_BPI_INTERFERENCE_FIELDS)], bpi.interference)
    for column in ("pain_worst", "pain_average", "eq5d_vas"):
        raw[column] = raw[column].astype(float)
    return raw[list(t.ASSESSMENT_COLUMNS)]


def tables_for(procedures: QuerySet) -> t.AuditTables:
    """The tables the case summaries of ``procedures`` (a queryset of ``Procedure``) are
    derived from."""
    procedures = procedures.order_by()
    ids = procedures.values("id")
    patients = procedures.values("patient_id")
    procedure_rows = fetch(
        # The MDT arrangement is the pathway rules' own condition, not a second definition.
        procedures.annotate(mdt_to_proceed=dq.meets(dq.MDT_PATHWAY_RULES)),
        (
            "id",
            "patient_id",
            "patient__site__code",
            "procedure_type",
            "procedure_date",
            "device_lot",
            "cement",
            "cement_volume_ml",
            "mdt_to_proceed",
        ),
    )
    procedure_table = t.frame(procedure_rows, t.PROCEDURE_COLUMNS)
    procedure_table["cement_volume_ml"] = procedure_table.cement_volume_ml.astype(float)
    procedure_table["mdt_to_proceed"] = procedure_table.mdt_to_proceed.astype(bool)
    # A decision or consent marked "entered in error" was never made, as far as the audit goes.
    mdt = t.frame(
        fetch(
            MdtDecisionRecord.objects.live().filter(patient__in=patients).order_by(),
            t.MDT_COLUMNS,
        ),
        t.MDT_COLUMNS,
    )
    consents = t.frame(
        fetch(Consent.objects.live().filter(patient__in=patients).order_by(), t.CONSENT_COLUMNS),
        t.CONSENT_COLUMNS,
    )
    for column in t.CONSENT_COLUMNS[3:]:
        consents[column] = consents[column].astype(bool)
    return t.AuditTables(
        procedures=procedure_table,
        assessments=assessments_table(ids),
        mdt=mdt,
        consents=consents,
    )
