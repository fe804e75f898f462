"""Data-quality rules: named checks over the registry's records, in the manner of REDCap's
data quality rules.

Each rule is data (``Rule`` in ``RULES``): a code, what a coordinator reads, a severity, the
kind of record it looks at, why it exists (a guidance number or an audit definition of
``docs/audit.md``, whose "Data-quality rules" section lists them all) and its condition, a
database filter (a ``Q``) over that kind of record. That one condition is used three ways:

- the Data quality page's counts, a whole site at a time: kept per record and counted by
  ``registry.findings_store`` (which builds them from these conditions); ``count_findings``
  here counts them from the records themselves, one aggregate query per kind of record (the
  rules that change with the day, and the benchmark's and tests' peer);
- the page's list and its CSV, a page or a chunk at a time (``FindingList``, ``iter_findings``);
- the warning shown when a record is saved (``findings_for``): the same condition, filtered to
  that record.

A *finding* is one rule firing on one record. It is resolved by correcting the record (the
rule then no longer fires and the finding is gone) or acknowledged with a reason
(``registry.actions.acknowledge_finding``): it then shows as acknowledged and leaves the open
count.

Records entered in error must not count: every query here goes through ``live``, the one place
that says which records count.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache, reduce
from operator import or_

from django.db import connection, models, transaction
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.functions import Trim
from django.db.models.lookups import Exact, In
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from thermablate.registry import choices as c
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    Correctable,
    DataQualityAcknowledgement,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
)

# The records a record counts through: marked "entered in error", they take it out with them
# (a procedure its cycles, follow-ups and adverse events; an assessment its analgesics).
_COUNTS_THROUGH = {
    AblationCycle: ("procedure",),
    Assessment: ("procedure",),
    AdverseEvent: ("procedure",),
    AnalgesicEntry: ("assessment", "assessment__procedure"),
}


def live(queryset: models.QuerySet) -> models.QuerySet:
    """The records of ``queryset`` that count for data quality: not marked "entered in error",
    nor belonging to a record that is (docs/corrections.md).

    Every query of this module, the records a rule looks at and the records its condition looks
    for (an MDT decision, a consent, a cycle), comes through here: the one place that says
    which records count."""
    model = queryset.model
    if issubclass(model, Correctable):
        queryset = queryset.filter(entered_in_error=False)
    for path in _COUNTS_THROUGH.get(model, ()):
        queryset = queryset.filter(
            Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__entered_in_error": False})
        )
    return queryset


# ---- kinds of record -------------------------------------------------------------------------


def _date_text(value) -> str:
    return date_format(value, "j M Y") if value else ""


@dataclass(frozen=True)
class RecordType:
    """A kind of record the rules look at: where its site is, what the list shows of it and
    the page a user opens to see or correct it."""

    key: str  # the model's name, as the audit trail and the acknowledgements store it
    label: str
    model: type[models.Model]
    site_path: str
    patient_path: str  # the patient the record belongs to (findings are kept per patient)
    # Values the list reads for each finding, as ``QuerySet.values`` takes them.
    values: dict[str, str]
    describe: Callable[[dict], str]
    link: Callable[[dict], str]


def _patient_page(row: dict) -> str:
    return reverse("patient_detail", args=[row["registry_number"]])


PATIENT = RecordType(
    "patient",
    "Patient",
    Patient,
    "site",
    "pk",
    {"registry_number": "registry_number"},
    lambda row: "Patient details",
    _patient_page,
)
LESION = RecordType(
    "lesion",
    "Lesion",
    Lesion,
    "patient__site",
    "patient",
    {
        "registry_number": "patient__registry_number",
        "levels": "spinal_levels",
        "bone_site": "bone_site",
    },
    lambda row: f"Lesion {row['levels'] or row['bone_site']}".strip(),
    _patient_page,
)
MDT_DECISION = RecordType(
    "mdtdecisionrecord",
    "MDT decision",
    MdtDecisionRecord,
    "patient__site",
    "patient",
    {"registry_number": "patient__registry_number", "day": "meeting_date"},
    lambda row: f"MDT decision of {_date_text(row['day'])}",
    _patient_page,
)
CONSENT = RecordType(
    "consent",
    "Consent",
    Consent,
    "patient__site",
    "patient",
    {"registry_number": "patient__registry_number", "day": "consent_date"},
    lambda row: f"Consent of {_date_text(row['day'])}",
    _patient_page,
)
PROCEDURE = RecordType(
    "procedure",
    "Procedure",
    Procedure,
    "patient__site",
    "patient",
    {"registry_number": "patient__registry_number", "day": "procedure_date"},
    lambda row: f"Procedure of {_date_text(row['day'])}",
    lambda row: reverse("procedure_detail", args=[row["pk"]]),
)
ABLATION_CYCLE = RecordType(
    "ablationcycle",
    "Ablation cycle",
    AblationCycle,
    "procedure__patient__site",
    "procedure__patient",
    {
        "registry_number": "procedure__patient__registry_number",
        "day": "procedure__procedure_date",
        "order": "order",
        "procedure": "procedure_id",
    },
    lambda row: f"Cycle {row['order']} of the procedure of {_date_text(row['day'])}",
    lambda row: reverse("procedure_detail", args=[row["procedure"]]),
)
_TIMEPOINTS = dict(c.Timepoint.choices)
ASSESSMENT = RecordType(
    "assessment",
    "Assessment",
    Assessment,
    "patient__site",
    "patient",
    {
        "registry_number": "patient__registry_number",
        "timepoint": "timepoint",
        "day": "procedure__procedure_date",
    },
    lambda row: (
        f"{_TIMEPOINTS.get(row['timepoint'], row['timepoint'])} assessment "
        f"of the procedure of {_date_text(row['day'])}"
    ),
    lambda row: reverse("assessment_record", args=[row["pk"]]),
)
ANALGESIC_ENTRY = RecordType(
    "analgesicentry",
    "Analgesic entry",
    AnalgesicEntry,
    "assessment__patient__site",
    "assessment__patient",
    {
        "registry_number": "assessment__patient__registry_number",
        "drug": "drug",
        "timepoint": "assessment__timepoint",
        "assessment": "assessment_id",
    },
    lambda row: (
        f"{row['drug']} at the "
        f"{_TIMEPOINTS.get(row['timepoint'], row['timepoint']).lower()} assessment"
    ),
    lambda row: reverse("assessment_record", args=[row["assessment"]]),
)
ADVERSE_EVENT = RecordType(
    "adverseevent",
    "Adverse event",
    AdverseEvent,
    "patient__site",
    "patient",
    {"registry_number": "patient__registry_number", "day": "onset_date"},
    lambda row: f"Adverse event of {_date_text(row['day'])}",
    _patient_page,
)
RECORD_TYPES = (
    PATIENT,
    LESION,
    MDT_DECISION,
    CONSENT,
    PROCEDURE,
    ABLATION_CYCLE,
    ASSESSMENT,
    ANALGESIC_ENTRY,
    ADVERSE_EVENT,
)
RECORD_TYPE_BY_KEY = {record_type.key: record_type for record_type in RECORD_TYPES}
RECORD_TYPE_OF_MODEL = {record_type.model: record_type for record_type in RECORD_TYPES}


# ---- rules -------------------------------------------------------------------------------------


class Severity(StrEnum):
    ERROR = "error"  # the record contradicts itself, the pathway or a definition: correct it
    WARNING = "warning"  # missing or unusual: check it, correct it or acknowledge it


SEVERITY_LABELS = {Severity.ERROR: "Error", Severity.WARNING: "Warning"}


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    message: str  # what a coordinator reads: what is wrong and what to do
    severity: Severity
    record_type: RecordType
    source: str  # why the rule exists
    where: Callable[[date], Q]  # the records it fires on, given today's date
    # True when the rule can start (or stop) firing on a record by the passing of days alone,
    # with no write: its findings are then worked out whenever they are read, never kept
    # (registry.findings_store). A test compiles every rule for two days and fails if one
    # that is not marked reads the day.
    changes_with_today: bool = False

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]


def _blank(field: str) -> Q:
    """Empty or only spaces (SQL's TRIM removes spaces)."""
    return Q(Exact(Trim(field), ""))


def _mdt_decisions_covering_procedure(procedure=OuterRef) -> models.QuerySet:
    """MDT decisions of a procedure's patient dated on or before it, about its lesion or about
    no lesion in particular (a decision about another lesion does not cover it).

    ``procedure`` reaches the procedure's fields: ``OuterRef`` when the procedure is the query
    just outside, ``lambda name: OuterRef(OuterRef(name))`` one level further out."""
    return live(
        MdtDecisionRecord.objects.filter(
            Q(lesion__isnull=True) | Q(lesion=procedure("lesion")),
            patient=procedure("patient"),
            meeting_date__lte=procedure("procedure_date"),
        )
    )


def _latest_mdt_decision_against() -> Q:
    """The latest MDT decision covering the procedure (by meeting date, then the order it was
    recorded in) was against it: a covering decision against it, with no covering decision
    after it. Said with EXISTS rather than as "the latest decision's value", which the
    databases would look up, sorted, for every procedure, even where no decision is against
    (0.5 of the page's 1.5 s on PostgreSQL at 100,000 procedures)."""
    later = _mdt_decisions_covering_procedure(lambda name: OuterRef(OuterRef(name))).filter(
        Q(meeting_date__gt=OuterRef("meeting_date"))
        | Q(meeting_date=OuterRef("meeting_date"), pk__gt=OuterRef("pk"))
    )
    against = _mdt_decisions_covering_procedure().filter(
        ~Q(Exists(later)),
        decision__in=[c.MdtDecision.NOT_SUITABLE, c.MdtDecision.OTHER_TREATMENT],
    )
    return Q(Exists(against))


def _spinal_metastasis_of_patient() -> Exists:
    return Exists(
        live(
            Lesion.objects.filter(
                patient=OuterRef("patient"), diagnosis=c.Diagnosis.SPINAL_METASTASIS
            )
        )
    )


def _outside_window() -> Q:
    return Q(assessed_on__isnull=False) & (
        Q(assessed_on__lt=F("window_opens")) | Q(assessed_on__gt=F("window_closes"))
    )


# Plausibility limits (docs/audit.md, "Data-quality rules"): wide enough that no real value
# falls outside them, so a value that does is almost certainly a typing error.
OLDEST_PLAUSIBLE_AGE = 110  # years
# Body temperature is 37 °C: a target below 40 °C ablates nothing. Water boils at 100 °C and
# no bone RF system targets above it (the registry refuses over 100 °C); 110 °C leaves room.
CYCLE_TEMPERATURE_RANGE_C = (40, 110)
# IPG53 heats the nidus for 4-6 minutes; a cycle over 30 minutes (five times that) is more
# likely the whole procedure's time, or minutes typed as seconds.
LONGEST_PLAUSIBLE_CYCLE_S = 30 * 60

_SINS_BONE_LESION_TYPES = list(c.SINS_BONE_LESION_OF_LESION_TYPE)

HTG670 = "NICE HTG670"
AUDIT_DOC = "docs/audit.md"

RULES: tuple[Rule, ...] = (
    # -- patient
    Rule(
        "patient_age_implausible",
        "Age over 110",
        f"The patient would be over {OLDEST_PLAUSIBLE_AGE} years old this year: check the "
        "year of birth.",
        Severity.WARNING,
        PATIENT,
        f"Plausibility limit ({AUDIT_DOC}, Data-quality rules): ages feed the EQ-5D-5L value "
        "set's age bands and the exports' age at the procedure.",
        lambda today: Q(year_of_birth__lt=today.year - OLDEST_PLAUSIBLE_AGE),
        changes_with_today=True,  # a patient turns 111 on New Year's Day
    ),
    # -- lesion
    Rule(
        "lesion_metastasis_without_primary",
        "Metastasis without its primary tumour",
        "The primary tumour of this metastasis is not recorded.",
        Severity.WARNING,
        LESION,
        "Key field of a metastasis (Lesion.primary_tumour); outcomes are submitted to "
        "registers by primary (HTG670 3.9 encourages register submission).",
        lambda today: (
            Q(diagnosis__in=[c.Diagnosis.SPINAL_METASTASIS, c.Diagnosis.BONE_METASTASIS])
            & _blank("primary_tumour")
        ),
    ),
    Rule(
        "lesion_spinal_metastasis_without_level",
        "Spinal metastasis without a spinal level",
        "This lesion is a spinal metastasis but has no spinal level (a bone site is given "
        "instead): record the level, or correct the diagnosis.",
        Severity.ERROR,
        LESION,
        "Inconsistent combination: SINS location, the Bilsky grade and OPCS-4 V55 (levels of "
        "spine, NICE IPG319 coding notes) all need the level.",
        lambda today: Q(diagnosis=c.Diagnosis.SPINAL_METASTASIS) & _blank("spinal_levels"),
    ),
    Rule(
        "lesion_sins_incomplete",
        "SINS not complete",
        "The Spinal Instability Neoplastic Score of this spinal metastasis cannot be worked "
        "out: answer pain, alignment, collapse and posterolateral involvement, and give the "
        "lesion type (lytic, mixed or sclerotic).",
        Severity.WARNING,
        LESION,
        "SINS (Fisher et al., Spine 2010;35(22):E1221-E1229, doi:10.1097/BRS.0b013e3181e16ae2) "
        "is what the spinal oncology MDT weighs for stability (issue 12, item 9).",
        lambda today: (
            Q(diagnosis=c.Diagnosis.SPINAL_METASTASIS)
            & ~_blank("spinal_levels")
            & (
                reduce(or_, (_blank(name) for name in Lesion.SINS_FIELDS))
                | ~Q(lesion_type__in=_SINS_BONE_LESION_TYPES)
            )
        ),
    ),
    # -- MDT decision
    Rule(
        "mdt_ecog_missing",
        "Performance status not recorded",
        "This MDT decision concerns a spinal metastasis but its performance status (ECOG) is "
        "not recorded.",
        Severity.WARNING,
        MDT_DECISION,
        "ECOG performance status (Oken et al., Am J Clin Oncol 1982;5(6):649-655), assessed "
        "at the spinal oncology MDT (issue 12, item 9).",
        lambda today: (
            Q(ecog_performance_status__isnull=True)
            & (
                Q(lesion__diagnosis=c.Diagnosis.SPINAL_METASTASIS)
                | Q(lesion__isnull=True) & Q(_spinal_metastasis_of_patient())
            )
        ),
    ),
    # -- procedure
    Rule(
        "procedure_not_coded",
        "Procedure without OPCS-4 codes",
        "No OPCS-4 codes are recorded for this procedure: accept or enter them on the "
        "procedure page.",
        Severity.WARNING,
        PROCEDURE,
        "NICE gives the OPCS-4 codes of each procedure (IPG319 coding notes: NHS "
        "Classifications Service); hospital activity is counted from them.",
        lambda today: Q(opcs_codes=[]),
    ),
    Rule(
        "procedure_without_prior_mdt",
        "No MDT decision before the procedure",
        "No MDT decision about this lesion is dated on or before the procedure: record the "
        "decision, or correct its date or the procedure's.",
        Severity.ERROR,
        PROCEDURE,
        f"{HTG670} 1.3 (patient selection by a multidisciplinary team); {AUDIT_DOC}, "
        "arrangements before the procedure.",
        lambda today: ~Q(Exists(_mdt_decisions_covering_procedure())),
    ),
    Rule(
        "procedure_against_mdt_decision",
        "Procedure after an MDT decision against it",
        "The latest MDT decision before this procedure was 'Not suitable' or 'Other "
        "treatment recommended'.",
        Severity.ERROR,
        PROCEDURE,
        f"{HTG670} 1.3: patients are selected by the multidisciplinary team.",
        lambda today: _latest_mdt_decision_against(),
    ),
    Rule(
        "procedure_without_prior_consent",
        "No consent before the procedure",
        "No consent is dated on or before this procedure: record the consent, or correct its "
        "date or the procedure's.",
        Severity.ERROR,
        PROCEDURE,
        f"{HTG670} 1.1 (standard arrangements for consent); IP consultation ID1783 1.2 "
        f"(special arrangements); {AUDIT_DOC}, arrangements before the procedure.",
        lambda today: (
            ~Q(
                Exists(
                    live(
                        Consent.objects.filter(
                            patient=OuterRef("patient"),
                            consent_date__lte=OuterRef("procedure_date"),
                        )
                    )
                )
            )
        ),
    ),
    Rule(
        "procedure_special_without_written_consent",
        "Special arrangements: no written information before the procedure",
        "This procedure was done under special arrangements but no consent with written "
        "information (the leaflet given) is dated on or before it: record the consent, or "
        "correct its date or the procedure's.",
        Severity.ERROR,
        PROCEDURE,
        "IP consultation ID1783 (2022) 1.2: under special arrangements, patients are given "
        "clear written information before they consent; NICE's description of special "
        "arrangements.",
        lambda today: (
            # "Has governance" first: a procedure without it has no approval decision (NULL),
            # and NULL AND x makes the database work out x (the consents) for every one of them.
            Q(governance__isnull=False)
            & Q(governance__approval__decision=c.ApprovalDecision.SPECIAL)
            & ~Q(
                Exists(
                    live(
                        Consent.objects.filter(
                            ~_blank("leaflet_title"),
                            patient=OuterRef("patient"),
                            consent_date__lte=OuterRef("procedure_date"),
                        )
                    )
                )
            )
        ),
    ),
    Rule(
        "procedure_cement_mismatch",
        "Cement does not match the procedure type",
        "The cement recorded does not match the procedure type: RF ablation alone, osteoid "
        "osteoma thermocoagulation and IDET use none; RF ablation with vertebroplasty or "
        "kyphoplasty uses that cement.",
        Severity.ERROR,
        PROCEDURE,
        f"{HTG670} 2.4 (vertebroplasty or kyphoplasty at the same time as the ablation); "
        "OPCS-4 coding follows the cement.",
        lambda today: reduce(
            or_,
            (
                Q(procedure_type=procedure_type) & ~Q(cement=cement)
                for procedure_type, cement in c.CEMENT_OF_PROCEDURE_TYPE.items()
            ),
        ),
    ),
    Rule(
        "procedure_cement_volume_inconsistent",
        "Cement volume does not agree with the cement",
        "The cement volume does not agree with the cement recorded: a volume is given but no "
        "cement was used, or cement was used and no volume is given.",
        Severity.ERROR,
        PROCEDURE,
        f"{AUDIT_DOC}, key fields: cement volume where cement was used.",
        lambda today: (
            Q(cement=c.Cement.NONE, cement_volume_ml__gt=0)
            | ~Q(cement=c.Cement.NONE) & (Q(cement_volume_ml__isnull=True) | Q(cement_volume_ml=0))
        ),
    ),
    Rule(
        "procedure_device_lot_missing",
        "Device lot number missing",
        "The device lot number is not recorded: a Yellow Card report or a recall needs it.",
        Severity.WARNING,
        PROCEDURE,
        f"{AUDIT_DOC}, key fields: device lot number; the MHRA Yellow Card device report asks "
        "for it.",
        lambda today: _blank("device_lot"),
    ),
    Rule(
        "procedure_without_cycles",
        "No ablation cycle",
        "No ablation cycle is recorded for this procedure.",
        Severity.ERROR,
        PROCEDURE,
        "Every procedure is recorded with its cycles (registry.actions.record_procedure); "
        "predicted and observed ablation are compared from them.",
        # Not through ``live``: a cycle counts through its procedure, and that is the record
        # this rule looks at (already live); ``live`` would join it again for every procedure.
        lambda today: ~Q(Exists(AblationCycle.objects.filter(procedure=OuterRef("pk")))),
    ),
    # -- ablation cycle
    Rule(
        "cycle_temperature_implausible",
        "Cycle temperature outside 40-110 °C",
        "The target temperature of this cycle is outside 40-110 °C: check it (bone RF "
        "ablation targets about 70-95 °C).",
        Severity.WARNING,
        ABLATION_CYCLE,
        "NICE IPG53 (85-90 °C); plausibility limit in docs/audit.md, Data-quality rules.",
        lambda today: (
            Q(target_temp_c__lt=CYCLE_TEMPERATURE_RANGE_C[0])
            | Q(target_temp_c__gt=CYCLE_TEMPERATURE_RANGE_C[1])
        ),
    ),
    Rule(
        "cycle_duration_implausible",
        "Cycle longer than 30 minutes",
        "This cycle is recorded as over 30 minutes at its target temperature: check that the "
        "time is in seconds and is this cycle's, not the whole procedure's.",
        Severity.WARNING,
        ABLATION_CYCLE,
        "NICE IPG53 (4-6 minutes at temperature); plausibility limit in docs/audit.md, "
        "Data-quality rules.",
        lambda today: Q(time_at_target_s__gt=LONGEST_PLAUSIBLE_CYCLE_S),
    ),
    # -- assessment
    Rule(
        "assessment_baseline_missing",
        "Baseline not recorded",
        "The baseline assessment is not recorded and its window has closed: the audit cannot "
        "measure this procedure's change in pain, analgesic use or quality of life.",
        Severity.WARNING,
        ASSESSMENT,
        f"{HTG670} 3.2 (key efficacy outcomes are changes); {AUDIT_DOC}, key fields and "
        "efficacy (paired with the baseline).",
        lambda today: Q(
            timepoint=c.Timepoint.BASELINE, assessed_on__isnull=True, window_closes__lt=today
        ),
        changes_with_today=True,  # the window closes by itself
    ),
    Rule(
        "assessment_outside_window_unmarked",
        "Outside its window, not marked",
        "This assessment is dated outside its time point's window but is not marked 'outside "
        "the window': correct the date, or mark it and give the reason.",
        Severity.ERROR,
        ASSESSMENT,
        f"{AUDIT_DOC}, follow-up windows (an assessment outside its window needs the mark and "
        "a reason).",
        lambda today: _outside_window() & Q(outside_window=False),
    ),
    Rule(
        "assessment_outside_window",
        "Recorded outside its window",
        "This assessment was recorded outside its window (marked, with a reason): the audit "
        "counts it as out of window, never as done. Check the date; acknowledge it if it is "
        "right.",
        Severity.WARNING,
        ASSESSMENT,
        f"{AUDIT_DOC}, follow-up completeness (out of window).",
        lambda today: _outside_window() & Q(outside_window=True),
    ),
    Rule(
        "assessment_without_worst_pain",
        "Assessment without worst pain",
        "This assessment is recorded as done but has no worst-pain score.",
        Severity.WARNING,
        ASSESSMENT,
        f"{HTG670} 3.2 (reduction in pain, a key efficacy outcome); {AUDIT_DOC}, efficacy "
        "(worst pain in 24 hours).",
        lambda today: Q(assessed_on__isnull=False, pain_worst__isnull=True),
    ),
    Rule(
        "assessment_pain_out_of_range",
        "Pain score outside 0-10",
        "A pain score of this assessment is outside the 0-10 scale.",
        Severity.ERROR,
        ASSESSMENT,
        "The numeric rating scale runs from 0 to 10 (BPI items 3 and 5).",
        lambda today: Q(pain_worst__gt=10) | Q(pain_average__gt=10),
    ),
    Rule(
        "assessment_average_above_worst",
        "Average pain above worst pain",
        "The average pain is higher than the worst pain: one of them is wrong.",
        Severity.ERROR,
        ASSESSMENT,
        "Inconsistent combination: an average cannot exceed the worst (BPI items 3 and 5).",
        lambda today: Q(pain_average__gt=F("pain_worst")),
    ),
    Rule(
        "assessment_no_analgesics_with_entries",
        "'No analgesics' with analgesics listed",
        "This assessment is marked 'takes no analgesics' but lists analgesics.",
        Severity.ERROR,
        ASSESSMENT,
        f"Inconsistent combination: the oral morphine equivalent ({HTG670} 3.2, reduction in "
        "opioid use) is read from the list.",
        lambda today: (
            Q(no_analgesics=True)
            & Q(Exists(live(AnalgesicEntry.objects.filter(assessment=OuterRef("pk")))))
        ),
    ),
    # -- analgesic entry
    Rule(
        "analgesic_frequency_missing",
        "Analgesic without doses a day",
        "The number of doses a day is not recorded for this analgesic: its morphine "
        "equivalent cannot be worked out.",
        Severity.WARNING,
        ANALGESIC_ENTRY,
        "Oral morphine equivalent = dose x factor x doses per day (clinical/opioids.py, "
        "Opioids Aware); only a patch needs none.",
        lambda today: ~Q(unit=c.DoseUnit.MICROGRAM_PER_HOUR) & Q(doses_per_day__isnull=True),
    ),
    Rule(
        "analgesic_patch_not_transdermal",
        "Patch dose by another route",
        "This analgesic is dosed in microgram/hour, the unit of a patch, but its route is not "
        "transdermal.",
        Severity.ERROR,
        ANALGESIC_ENTRY,
        "Inconsistent combination: microgram/hour is a transdermal patch's release rate "
        "(Opioids Aware).",
        lambda today: Q(unit=c.DoseUnit.MICROGRAM_PER_HOUR) & ~Q(route=c.Route.TRANSDERMAL),
    ),
    # -- adverse event
    Rule(
        "adverse_event_before_procedure",
        "Adverse event before its procedure",
        "This adverse event starts before the procedure it is recorded against.",
        Severity.ERROR,
        ADVERSE_EVENT,
        f"Inconsistent dates; {HTG670} 3.3 (safety outcomes of the procedure).",
        lambda today: Q(onset_date__lt=F("procedure__procedure_date")),
    ),
    Rule(
        "adverse_event_grade5_not_fatal",
        "Grade 5 without a fatal outcome",
        "This adverse event is graded 5 (death) but its outcome is not 'Fatal'.",
        Severity.ERROR,
        ADVERSE_EVENT,
        "CTCAE v5.0: grade 5 is death related to the adverse event.",
        lambda today: Q(severity=c.Severity.GRADE_5) & ~Q(outcome=c.EventOutcome.FATAL),
    ),
    Rule(
        "adverse_event_fatal_not_grade5",
        "Fatal outcome below grade 5",
        "This adverse event's outcome is 'Fatal' but it is not graded 5 (death).",
        Severity.ERROR,
        ADVERSE_EVENT,
        "CTCAE v5.0: an adverse event that leads to death is grade 5.",
        lambda today: Q(outcome=c.EventOutcome.FATAL) & ~Q(severity=c.Severity.GRADE_5),
    ),
    Rule(
        "adverse_event_cement_leak_without_cement",
        "Cement leakage without cement",
        "A cement leakage is recorded against a procedure that used no cement.",
        Severity.ERROR,
        ADVERSE_EVENT,
        f"Inconsistent combination; cement leakage is a key safety outcome ({HTG670} 3.3).",
        lambda today: Q(
            event_type=c.AdverseEventType.CEMENT_LEAKAGE, procedure__cement=c.Cement.NONE
        ),
    ),
    Rule(
        "adverse_event_device_not_reported",
        "Device-related event not reported",
        "This adverse event is related to the device but no Yellow Card report is recorded: "
        "report it to the MHRA and record the date.",
        Severity.WARNING,
        ADVERSE_EVENT,
        "NICE IPG53 and HTG670: problems related to a medical device should be reported to the "
        "MHRA using the Yellow Card Scheme.",
        lambda today: Q(device_related=c.DeviceRelated.YES, yellow_card_reported_on__isnull=True),
    ),
)
RULE_BY_CODE = {rule.code: rule for rule in RULES}
assert len(RULE_BY_CODE) == len(RULES), "rule codes must be unique"

# The pathway rules (issue 12, item 4): a procedure breaking one of them is refused when it is
# recorded (page, API, import: registry.actions.record_governed_procedure) unless the user
# gives a reason to override, which the Governance page lists. Each is also a finding here, for
# records stored before the rule or changed since (an MDT decision corrected or marked in error
# after the procedure). Consent before the procedure is a rule only under special
# arrangements; under standard ones a missing consent record is a warning
# (procedure_without_prior_consent): consent may be recorded in the hospital's own notes.
PATHWAY_RULES: tuple[str, ...] = (
    "procedure_without_prior_mdt",
    "procedure_against_mdt_decision",
    "procedure_special_without_written_consent",
)
assert all(code in RULE_BY_CODE for code in PATHWAY_RULES)


def meets(codes: Iterable[str], *, today: date | None = None) -> models.Expression:
    """A boolean expression over records, true where none of the rules of ``codes`` fires: for
    a figure that must count what the rules count (the audit's "MDT decision to proceed
    before the procedure")."""
    today = today or timezone.localdate()
    fires = reduce(or_, (RULE_BY_CODE[code].where(today) for code in codes))
    return ExpressionWrapper(~fires, output_field=models.BooleanField())


# The MDT part of the pathway: a decision to proceed, the latest about the lesion on or before
# the procedure (what the patient page's checklist and the audit's arrangements count).
MDT_PATHWAY_RULES = ("procedure_without_prior_mdt", "procedure_against_mdt_decision")


def breaches(instance: models.Model, codes: Iterable[str], *, today: date | None = None):
    """The rules of ``codes`` that ``instance`` (saved, in this transaction) breaks, acknowledged
    or not: one query, each rule's condition an EXISTS of its own in it.

    Every procedure recorded asks this (an import, of each of its rows), and building the
    rules' expressions and compiling them to SQL cost about 9 ms of the 11 ms a call took on
    PostgreSQL (the database itself answered in 0.13 ms): the SQL is compiled once per kind of
    record, rules, day and database (:func:`_breaches_sql`) and run with the record's id."""
    today = today or timezone.localdate()
    model = type(instance)
    own = tuple(code for code in codes if RULE_BY_CODE[code].record_type.model is model)
    if not own:
        return []
    sql, params, at = _breaches_sql(model, own, today, connection.vendor)
    params = list(params)
    params[at] = instance.pk
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        broken = cursor.fetchone()
    if broken is None:  # not saved (or not in this transaction): nothing to judge
        return []
    return [RULE_BY_CODE[code] for code, breaks in zip(own, broken, strict=True) if breaks]


# Stands for the record's id while the query is compiled: no real record has a negative id.
_ANY_RECORD_PK = -918_273_645


@lru_cache(maxsize=64)
def _breaches_sql(model, codes: tuple[str, ...], today: date, vendor: str):
    """The SQL of :func:`breaches` for one record of ``model`` whose id is left open: the SQL,
    its parameters, and the position of the id among them (``vendor`` only keys the cache: the
    SQL is the default database's)."""
    tests = {
        f"breaks_{index}": Exists(
            model._base_manager.filter(RULE_BY_CODE[code].where(today), pk=OuterRef("pk"))
        )
        for index, code in enumerate(codes)
    }
    query = model._base_manager.filter(pk=_ANY_RECORD_PK).annotate(**tests).values_list(*tests)
    sql, params = query[:1].query.sql_with_params()
    at = [index for index, value in enumerate(params) if value == _ANY_RECORD_PK]
    if len(at) != 1:  # the rules' own parameters never hold it: say so if one ever does
        raise AssertionError(f"the record's id is not one parameter of {sql!r}: {params!r}")
    return sql, tuple(params), at[0]


def rules_of(record_type: RecordType, rules: Iterable[Rule] = RULES) -> list[Rule]:
    return [rule for rule in rules if rule.record_type is record_type]


# ---- evaluation ----------------------------------------------------------------------------------


def site_records(record_type: RecordType, site) -> models.QuerySet:
    """The records of one kind at ``site`` that count."""
    return live(record_type.model.objects.filter(**{record_type.site_path: site}))


@contextmanager
def compiled_without_jit():
    """Run the queries of the block without PostgreSQL's JIT compilation (other databases
    have none; a no-op there).

    PostgreSQL compiles a query to machine code when its estimated cost passes
    ``jit_above_cost``, as any query over a site's 100,000 procedures does. The rules' many
    small conditions make that compilation slow and the queries short: EXPLAIN ANALYZE of
    the assessments' counts gave 1.4 s of compiling in 1.5 s. The setting is local to a
    transaction (a savepoint within the caller's), and put back as it was."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        previous = cursor.fetchone()[0]
        yield
        cursor.execute("SELECT set_config('jit', %s, true)", [previous])


def _acknowledged(rule: Rule) -> Exists:
    return Exists(
        DataQualityAcknowledgement.objects.filter(rule=rule.code, object_id=OuterRef("pk"))
    )


@dataclass(frozen=True)
class RuleCount:
    rule: Rule
    open: int
    acknowledged: int

    @property
    def total(self) -> int:
        return self.open + self.acknowledged


def _pk_among(candidates: models.QuerySet) -> In:
    """The record's id is one of ``candidates``, tested as membership, never as an index key.

    Given ``pk IN (subquery)`` beside the join from the site, SQLite (without ANALYZE's
    statistics, as Django leaves it) looked each patient's records up by (patient, id) once
    for every id in the list: patients x candidates probes. With every lesion a candidate at
    100,000 procedures the counts never finished (over 40 minutes); ``id + 0`` is no index
    key, so the list is only looked up for each joined row: 0.06 s for those lesions."""
    return In(ExpressionWrapper(F("pk") + 0, output_field=models.BigIntegerField()), candidates)


def count_in(queryset: models.QuerySet, rules: list[Rule], today: date) -> dict[str, RuleCount]:
    """Findings and acknowledged findings of each rule among ``queryset`` (records of the
    rules' one kind): two aggregate queries, whatever the number of records or rules.

    - The findings: the records any rule fires on are found in the records' own table first
      (the conditions OR-ed, an uncorrelated ``IN``), so only those are joined to their site
      and their parents; each rule's condition then filters one count. Filtering the joined
      rows instead, SQLite walked from the site through every patient and assessment to every
      analgesic entry (0.65 s against 0.15 s at 100,000 procedures).
    - The acknowledged findings are counted from the acknowledgements: each one's record is
      looked up by its id and the rule's condition tested on it. Their cost follows the number
      of acknowledgements, not of records; a test of every record against the
      acknowledgements was a correlated subquery per record and rule.
    """
    if not rules:
        return {}
    conditions = [rule.where(today) for rule in rules]
    candidates = queryset.model._base_manager.filter(reduce(or_, conditions)).values("pk")
    fired = queryset.filter(_pk_among(candidates)).aggregate(
        **{
            f"fired_{index}": Count("pk", filter=condition)
            for index, condition in enumerate(conditions)
        }
    )
    acknowledged = DataQualityAcknowledgement.objects.filter(
        rule__in=[rule.code for rule in rules]
    ).aggregate(
        **{
            f"acknowledged_{index}": Count(
                "pk",
                filter=Q(rule=rule.code)
                & Q(Exists(queryset.filter(condition, pk=OuterRef("object_id")))),
            )
            for index, (rule, condition) in enumerate(zip(rules, conditions, strict=True))
        }
    )
    return {
        rule.code: RuleCount(
            rule,
            open=fired[f"fired_{index}"] - acknowledged[f"acknowledged_{index}"],
            acknowledged=acknowledged[f"acknowledged_{index}"],
        )
        for index, rule in enumerate(rules)
    }


def count_findings(
    site, *, today: date | None = None, rules: Iterable[Rule] = RULES
) -> list[RuleCount]:
    """Open and acknowledged findings of each rule at ``site``, in the rules' order: two
    queries per kind of record."""
    today = today or timezone.localdate()
    rules = list(rules)
    counts: dict[str, RuleCount] = {}
    with compiled_without_jit():
        for record_type in RECORD_TYPES:
            group = rules_of(record_type, rules)
            if group:
                counts.update(count_in(site_records(record_type, site), group, today))
    return [counts[rule.code] for rule in rules]


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ALL = "all"


@dataclass(frozen=True)
class Finding:
    """One rule firing on one record."""

    rule: Rule
    object_id: int
    registry_number: str
    record: str  # the record in words: "Procedure of 3 Mar 2025"
    url: str
    acknowledgement: DataQualityAcknowledgement | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledgement is None

    @property
    def status(self) -> Status:
        return Status.OPEN if self.is_open else Status.ACKNOWLEDGED


def _with_status(queryset: models.QuerySet, rule: Rule, status: Status) -> models.QuerySet:
    if status == Status.OPEN:
        return queryset.filter(~Q(_acknowledged(rule)))
    if status == Status.ACKNOWLEDGED:
        return queryset.filter(_acknowledged(rule))
    return queryset


def firing(
    queryset: models.QuerySet, rule: Rule, today: date, status: Status = Status.ALL
) -> models.QuerySet:
    """The records of ``queryset`` that ``rule`` fires on, oldest record first."""
    return _with_status(queryset.filter(rule.where(today)), rule, status).order_by("pk")


def _findings(rule: Rule, rows: list[dict]) -> list[Finding]:
    acknowledgements = {
        ack.object_id: ack
        for ack in DataQualityAcknowledgement.objects.filter(
            rule=rule.code, object_id__in=[row["pk"] for row in rows]
        ).select_related("acknowledged_by")
    }
    record_type = rule.record_type
    rows = [_unprefixed(row) for row in rows]
    return [
        Finding(
            rule,
            row["pk"],
            row["registry_number"],
            record_type.describe(row),
            record_type.link(row),
            acknowledgements.get(row["pk"]),
        )
        for row in rows
    ]


_VALUE_PREFIX = "dq_"  # an annotation may not take a field's name ("drug", "order")


def row_values(queryset: models.QuerySet, record_type: RecordType) -> models.QuerySet:
    """The values the list shows of each record of ``queryset`` (prefixed: see below)."""
    return queryset.values(
        "pk", **{_VALUE_PREFIX + name: F(path) for name, path in record_type.values.items()}
    )


def _unprefixed(row: dict) -> dict:
    return {name.removeprefix(_VALUE_PREFIX): value for name, value in row.items()}


class FindingList:
    """The findings of several rules at a site, rule after rule, each rule's by record id: a
    sequence ``django.core.paginator.Paginator`` can page through. Its length comes from the
    counts, so a page reads only the rows it shows."""

    def __init__(
        self, site, rules: list[Rule], counts: dict[str, RuleCount], status: Status, today: date
    ):
        self.site, self.rules, self.status, self.today = site, rules, status, today
        self.sizes = [self._size(counts[rule.code]) for rule in rules]

    def _size(self, count: RuleCount) -> int:
        return {
            Status.OPEN: count.open,
            Status.ACKNOWLEDGED: count.acknowledged,
            Status.ALL: count.total,
        }[self.status]

    def count(self) -> int:
        return sum(self.sizes)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Finding]:
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count()
        found: list[Finding] = []
        offset = 0
        for rule, size in zip(self.rules, self.sizes, strict=True):
            if offset >= stop:
                break
            if size and start < offset + size:
                low, high = max(start - offset, 0), min(stop - offset, size)
                found.extend(_findings(rule, self.rows(rule, low, high)))
            offset += size
        return found

    def rows(self, rule: Rule, low: int, high: int) -> list[dict]:
        """The list's values of the findings ``low`` to ``high`` of ``rule`` (by record id)."""
        records = site_records(rule.record_type, self.site)
        rows = row_values(firing(records, rule, self.today, self.status), rule.record_type)
        return list(rows[low:high])


def iter_findings(
    site, rules: Iterable[Rule], status: Status, *, today: date | None = None, chunk: int = 2000
) -> Iterator[Finding]:
    """Every finding of ``rules`` at ``site`` with ``status``, read a chunk at a time (the CSV)."""
    today = today or timezone.localdate()
    for rule in rules:
        records = site_records(rule.record_type, site)
        rows = row_values(firing(records, rule, today, status), rule.record_type)
        batch: list[dict] = []
        for row in rows.iterator(chunk_size=chunk):
            batch.append(row)
            if len(batch) == chunk:
                yield from _findings(rule, batch)
                batch = []
        yield from _findings(rule, batch)


# ---- one record, when it is saved -------------------------------------------------------------

# Records saved on the same page as their parent, whose findings the page's warning shows too.
_SAVED_WITH = {Procedure: ("cycles", ABLATION_CYCLE), Assessment: ("analgesics", ANALGESIC_ENTRY)}


def findings_for(
    instance: models.Model, *, today: date | None = None, include_acknowledged: bool = False
) -> list[Finding]:
    """The open findings of a record just saved (and of the rows saved with it: a procedure's
    cycles, an assessment's analgesic entries), for the warning on the page. The same rule
    conditions as the Data quality page, filtered to these records."""
    today = today or timezone.localdate()
    status = Status.ALL if include_acknowledged else Status.OPEN
    record_type = RECORD_TYPE_OF_MODEL.get(type(instance))
    if record_type is None or instance.pk is None:
        return []
    groups = [(record_type, live(record_type.model.objects.filter(pk=instance.pk)))]
    if type(instance) in _SAVED_WITH:
        related_name, child_type = _SAVED_WITH[type(instance)]
        children = getattr(instance, related_name).all()
        groups.append((child_type, live(child_type.model.objects.filter(pk__in=children))))
    found: list[Finding] = []
    for kind, queryset in groups:
        for rule in rules_of(kind):
            rows = row_values(firing(queryset, rule, today, status), kind)
            found.extend(_findings(rule, list(rows)))
    return found


def finding(rule: Rule, object_id: int, site, *, today: date | None = None) -> Finding | None:
    """The finding of ``rule`` on one record of ``site``, or None when the rule does not fire
    on it (the record was corrected) or the record is not the site's."""
    today = today or timezone.localdate()
    records = site_records(rule.record_type, site).filter(pk=object_id)
    rows = list(row_values(firing(records, rule, today), rule.record_type))
    return _findings(rule, rows)[0] if rows else None
