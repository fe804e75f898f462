"""Property-based test of the follow-up completeness figures (issue 12, "Bad input").

Over random procedure dates, assessments recorded in and out of their windows, time points
closed as "could not be done", records marked "entered in error", patient statuses and
report dates, all made through the registry's actions, the report's figures (production,
``audit.aggregates`` over the case summaries):

- equal those of the reference path (``tests/audit/reference``);
- never count an assessment outside its window as done, nor a record marked in error (an
  assessment, a procedure with everything of it, an adverse event);
- never count as missed or open a follow-up of a patient who died or withdrew, whose window
  closes on or after that date and which was not done: it is closed, not eligible;
- agree with the registry's own status of each assessment (``Assessment.status``, which the
  follow-up lists use): what the registry closes, the audit does not count as missed or open.

Each example is made and counted inside a savepoint that is rolled back, so examples do not
see each other's records.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.audit.records import new_patient, new_procedure, record
from tests.audit.reference import analyse, load_tables
from tests.audit.test_audit_aggregates import assert_same
from thermablate.audit import aggregates, queries
from thermablate.clinical import followup
from thermablate.clinical.followup import Status
from thermablate.registry import actions
from thermablate.registry import choices as c
from thermablate.registry.models import AdverseEvent, Assessment, Procedure

TIMEPOINTS = [window.timepoint for window in followup.SCHEDULE]
ENDS_ELIGIBILITY = {"died", "withdrew_follow_up", "withdrew_consent"}
WHY = "Entered on the wrong patient"

# What may happen to one scheduled assessment.
assessment_plans = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["nothing", "in_window", "outside", "not_done"]),
        "day": st.integers(min_value=0, max_value=10_000),  # picks a day among those allowed
        "in_error": st.booleans(),
    }
)
procedure_plans = st.fixed_dictionaries(
    {
        "days_ago": st.integers(min_value=0, max_value=700),
        "assessments": st.lists(assessment_plans, min_size=6, max_size=6),
        "event": st.sampled_from(["none", "live", "in_error"]),
        "in_error": st.integers(min_value=0, max_value=5).map(lambda n: n == 0),  # 1 in 6
    }
)
patient_plans = st.fixed_dictionaries(
    {
        "procedures": st.lists(procedure_plans, min_size=1, max_size=2),
        "status": st.sampled_from(c.PatientStatus.values),
        "status_after_days": st.integers(min_value=0, max_value=500),
    }
)
examples = st.fixed_dictionaries(
    {
        "patients": st.lists(patient_plans, min_size=1, max_size=3),
        "as_of_shift": st.integers(min_value=-400, max_value=400),
    }
)


def _allowed_days(assessment: Assessment, action: str, today) -> list:
    """The days an assessment may be recorded on for this action (never in the future)."""
    procedure_date = assessment.procedure.procedure_date
    opens, closes = assessment.window_opens, assessment.window_closes
    if action == "in_window":
        first, last = opens, min(closes, today)
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    # Outside: a baseline before its window, a follow-up after the procedure and outside.
    if assessment.timepoint == c.Timepoint.BASELINE:
        first, last = procedure_date - timedelta(days=120), opens - timedelta(days=1)
    else:
        first, last = procedure_date, today
    days = [first + timedelta(days=n) for n in range(max(0, (last - first).days + 1))]
    return [day for day in days if not (opens <= day <= closes) and day <= today]


def _make(site, user, plan, today) -> None:
    for number, person in enumerate(plan["patients"]):
        patient = new_patient(site, user, number)
        dates = []
        for procedure_plan in person["procedures"]:
            procedure_date = today - timedelta(days=procedure_plan["days_ago"])
            procedure = new_procedure(patient, user, procedure_date)
            for assessment_plan, timepoint in zip(
                procedure_plan["assessments"], TIMEPOINTS, strict=True
            ):
                assessment = procedure.assessments.get(timepoint=timepoint)
                action = assessment_plan["action"]
                if action in ("in_window", "outside"):
                    days = _allowed_days(assessment, action, today)
                    if days:
                        record(assessment, user, days[assessment_plan["day"] % len(days)])
                elif action == "not_done":
                    actions.record_not_done(
                        assessment, reason="Too unwell to answer", acting_user=user
                    )
                if assessment_plan["in_error"] and action != "nothing":
                    actions.mark_entered_in_error(
                        Assessment.objects.get(pk=assessment.pk), reason=WHY, acting_user=user
                    )
            if procedure_plan["event"] != "none":
                event = actions.record_adverse_event(
                    patient,
                    acting_user=user,
                    procedure=procedure,
                    event_type="cement_leakage",
                    symptomatic=False,
                    onset_date=procedure_date,
                    severity=2,
                    device_related="unknown",
                    outcome="resolved",
                    description="Small cement leak.",
                )
                if procedure_plan["event"] == "in_error":
                    actions.mark_entered_in_error(event, reason=WHY, acting_user=user)
            if procedure_plan["in_error"]:
                actions.mark_entered_in_error(
                    Procedure.objects.get(pk=procedure.pk), reason=WHY, acting_user=user
                )
            else:
                dates.append(procedure_date)
        if person["status"] != c.PatientStatus.ALIVE:
            if person["status"] == c.PatientStatus.DIED:
                # Nothing is recorded after a death (the registry refuses a death dated
                # before a recorded assessment), so the death follows the last one.
                dates += [
                    a.assessed_on
                    for a in Assessment.objects.live().filter(patient=patient)
                    if a.assessed_on is not None
                ]
            latest = max(dates, default=today - timedelta(days=700))
            actions.record_patient_status(
                patient,
                acting_user=user,
                status=person["status"],
                status_date=min(today, latest + timedelta(days=person["status_after_days"])),
                death_related=c.DeathRelated.UNKNOWN if person["status"] == "died" else "",
            )


def _window_state(a: Assessment, as_of) -> str:
    if a.window_closes < as_of:
        return "missed"
    return "open" if a.window_opens <= as_of else "later"


def _expected(as_of) -> tuple[Counter, Counter]:
    """Per time point, counts read straight from the registry's rows and its own rules: the
    third opinion the properties are stated in. Returns (counts by the audit's definitions,
    counts of the registry's own ``Assessment.status``)."""
    counts: Counter = Counter()
    statuses: Counter = Counter()
    for a in Assessment.objects.filter(procedure__entered_in_error=False).select_related(
        "patient", "procedure"
    ):
        tp = a.timepoint
        counts["scheduled", tp] += 1
        recorded = a.assessed_on is not None and not a.entered_in_error
        ended_on = a.patient.follow_up_ended_on
        ended = ended_on is not None and a.window_closes >= ended_on
        if recorded:
            inside = followup.within_window(tp, a.procedure.procedure_date, a.assessed_on)
            counts["done" if inside else "outside", tp] += 1
        elif ended and a.patient.status in ENDS_ELIGIBILITY:
            counts["not_eligible", tp] += 1
        elif ended:
            counts["lost", tp] += 1
        elif a.not_done_reason and not a.entered_in_error:
            counts["not_done", tp] += 1
        else:
            counts[_window_state(a, as_of), tp] += 1
        # The registry's view. One corner differs: an assessment marked in error that had
        # been closed as "could not be done" is open again for the audit ("as if never
        # recorded") but still closed for Assessment.status (reported to the registry's
        # owner); it is counted apart, by its window.
        if a.entered_in_error and a.not_done_reason and not ended:
            statuses["corner " + _window_state(a, as_of), tp] += 1
        else:
            statuses[a.status(as_of), tp] += 1
    return counts, statuses


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=examples)
def test_completeness_never_counts_what_does_not_count(site_a, clinician, plan):
    today = timezone.localdate()
    as_of = today + timedelta(days=plan["as_of_shift"])
    with transaction.atomic():
        _make(site_a, clinician, plan, today)
        cohort = queries.CohortFilter(site=site_a)
        figures = aggregates.figures(cohort, as_of)
        assert_same(analyse(load_tables(cohort), as_of, queries.EVENT_TYPES), figures)
        counts, statuses = _expected(as_of)
        for row in figures.follow_up:
            tp = row.timepoint
            later = row.scheduled - row.due - row.open - row.not_eligible
            # Done: recorded, not in error, within the window; nothing else.
            assert row.done == counts["done", tp]
            assert row.outside_window == counts["outside", tp]
            # Closed, not eligible: exactly those of patients who died or withdrew, whose
            # window closes on or after that day, not done. None is missed or open.
            assert row.not_eligible == counts["not_eligible", tp]
            assert row.lost == counts["lost", tp]
            assert row.not_done == counts["not_done", tp]
            assert row.missed - row.lost == counts["missed", tp]
            assert row.open == counts["open", tp]
            assert later == counts["later", tp]
            assert row.scheduled == counts["scheduled", tp]
            # The registry's follow-up statuses say the same: what it closes the audit does
            # not count as missed or open, what it still chases the audit does.
            assert statuses[Status.DONE, tp] == row.done + row.outside_window
            assert statuses[Status.CLOSED, tp] == row.not_eligible + row.lost + row.not_done
            assert statuses[Status.OVERDUE, tp] + statuses["corner missed", tp] == (
                row.missed - row.lost
            )
            assert statuses[Status.DUE, tp] + statuses["corner open", tp] == row.open
            assert (
                statuses[Status.DUE_SOON, tp]
                + statuses[Status.UPCOMING, tp]
                + statuses["corner later", tp]
                == later
            )
            # The denominator: due = scheduled less the not eligible, open and not yet open.
            assert row.due == row.done + row.outside_window + row.missed + row.not_done
            assert (row.completeness.count, row.completeness.total) == (row.done, row.due)
        assert figures.overdue == sum(
            counts["missed", tp] for tp in TIMEPOINTS if tp != c.Timepoint.BASELINE
        )
        assert figures.size.procedures == Procedure.objects.live().count()
        live_events = AdverseEvent.objects.live().filter(procedure__entered_in_error=False)
        assert next(e for e in figures.events if e.code == "any").events == live_events.count()
        transaction.set_rollback(True)
