"""The patient page's timeline and the flags for what is missing."""

from dataclasses import dataclass
from datetime import date

from django.urls import reverse
from django.utils import timezone

from thermablate.clinical.followup import Status
from thermablate.registry import extensions
from thermablate.registry.models import Correctable, Lesion, MdtDecisionRecord, Patient


@dataclass(frozen=True)
class TimelineEntry:
    when: date
    kind: str  # mdt, plan, consent, procedure, assessment, adverse_event
    title: str
    detail: str
    url: str = ""
    record: Correctable | None = None  # what "correct" and "entered in error" act on

    @property
    def record_kind(self) -> str:
        return self.record._meta.model_name if self.record is not None else ""


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    url: str = ""


def lesion_staging(lesion: Lesion) -> str:
    """What the spinal oncology MDT weighs about a lesion: its SINS (derived from the recorded
    components) and its Bilsky grade, e.g. "SINS 9, indeterminate; Bilsky grade 1b"."""
    parts = []
    score = lesion.sins_score
    if score is not None:
        parts.append(f"SINS {score.total}, {score.category_label.lower()}")
    if lesion.bilsky_grade:
        parts.append(f"Bilsky grade {lesion.bilsky_grade}")
    if lesion.prior_radiotherapy == "yes":
        when = lesion.prior_radiotherapy_date
        parts.append("irradiated before" + (f" ({when:%B %Y})" if when else ""))
    elif lesion.prior_radiotherapy == "no":
        parts.append("not irradiated before")
    return "; ".join(parts)


def _mdt_detail(mdt: MdtDecisionRecord) -> str:
    parts = [mdt.get_decision_display()]
    if mdt.ecog_performance_status is not None:
        parts.append(f"ECOG performance status {mdt.ecog_performance_status}")
    if mdt.lesion is not None:
        staging = lesion_staging(mdt.lesion)
        parts.append(f"{mdt.lesion.location}: {staging}" if staging else mdt.lesion.location)
    return "; ".join(parts)


def patient_timeline(patient: Patient) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for mdt in patient.mdt_decisions.live().select_related("lesion"):
        entries.append(
            TimelineEntry(mdt.meeting_date, "mdt", "MDT decision", _mdt_detail(mdt), record=mdt)
        )
    for consent in patient.consents.live():
        entries.append(
            TimelineEntry(
                consent.consent_date,
                "consent",
                "Consent",
                f"Written information: {consent.leaflet_title} (version {consent.leaflet_version})",
                record=consent,
            )
        )
    for procedure in patient.procedures.live().prefetch_related("cycles"):
        cycles = ", ".join(
            f"{c.target_temp_c} °C for {c.time_at_target_s} s" for c in procedure.cycles.all()
        )
        entries.append(
            TimelineEntry(
                procedure.procedure_date,
                "procedure",
                procedure.get_procedure_type_display(),
                f"{procedure.lesion.location}; {cycles}",
                reverse("procedure_detail", args=[procedure.pk]),
                record=procedure,
            )
        )
    done = patient.assessments.live().filter(
        assessed_on__isnull=False, procedure__entered_in_error=False
    )
    for assessment in done:
        pain = "" if assessment.pain_worst is None else f"worst pain {assessment.pain_worst}/10"
        title = f"{assessment.get_timepoint_display()} assessment"
        if not assessment.in_window:
            # Said on the timeline too: the audit does not count it as this time point's.
            title += " (outside the window)"
            reason = assessment.outside_window_reason.strip()
            mark = f"outside the window: {reason}" if reason else "outside the window"
            pain = "; ".join(part for part in (pain, mark) if part)
        detail = "; ".join(part for part in (pain, assessment.source) if part)
        entries.append(
            TimelineEntry(
                assessment.assessed_on,
                "assessment",
                title,
                detail,
                reverse("assessment_record", args=[assessment.pk]),
                record=assessment,
            )
        )
    for event in patient.adverse_events.live().filter(procedure__entered_in_error=False):
        entries.append(
            TimelineEntry(
                event.onset_date,
                "adverse_event",
                f"Adverse event: {event.get_event_type_display()}",
                f"CTCAE grade {event.severity}; {event.get_outcome_display().lower()}",
                reverse("yellow_card_draft", args=[event.pk]),
                record=event,
            )
        )
    for source in extensions.TIMELINE_SOURCES:
        entries.extend(source(patient))
    order = {"mdt": 0, "plan": 1, "consent": 2, "assessment": 3, "procedure": 4}
    return sorted(entries, key=lambda e: (e.when, order.get(e.kind, 5)))


def entered_in_error(patient: Patient) -> list[tuple[str, Correctable]]:
    """The patient's records marked "entered in error" (kind, record), for the page's list
    with an undo."""
    found: list[tuple[str, Correctable]] = []
    for related in (
        patient.lesions,
        patient.mdt_decisions,
        patient.consents,
        patient.procedures,
        patient.assessments,
        patient.adverse_events,
    ):
        found.extend((r._meta.model_name, r) for r in related.filter(entered_in_error=True))
    return found


def patient_flags(patient: Patient, today: date | None = None) -> list[Flag]:
    """What the journey NICE describes still lacks for this patient."""
    today = today or timezone.localdate()
    rn = patient.registry_number
    flags: list[Flag] = []
    if not patient.lesions.live().exists():
        flags.append(Flag("no_lesion", "No lesion recorded", reverse("lesion_create", args=[rn])))
    if not patient.mdt_decisions.live().exists():
        flags.append(Flag("no_mdt", "No MDT decision recorded", reverse("mdt_create", args=[rn])))
    if not patient.consents.live().exists():
        flags.append(
            Flag("no_consent", "No consent recorded", reverse("consent_create", args=[rn]))
        )
    for procedure in patient.procedures.live():
        baseline = procedure.assessments.filter(timepoint="baseline").first()
        if baseline is not None and not baseline.is_done and not baseline.is_closed:
            flags.append(
                Flag(
                    "no_baseline",
                    f"No baseline assessment for the procedure of {procedure.procedure_date:%d %b %Y}",
                    reverse("assessment_record", args=[baseline.pk]),
                )
            )
    for assessment in patient.assessments.awaiting().exclude(timepoint="baseline"):
        if assessment.status(today) is Status.OVERDUE:
            flags.append(
                Flag(
                    "overdue",
                    f"{assessment.get_timepoint_display()} follow-up overdue since {assessment.window_closes:%d %b %Y}",
                    reverse("assessment_record", args=[assessment.pk]),
                )
            )
    return flags
