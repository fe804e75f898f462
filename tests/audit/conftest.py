"""Audit fixtures: audit permissions for personas, and a small recorded cohort at site A."""

import importlib.util
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from thermablate.registry import actions

AUDIT_PERMISSIONS = ("view_dashboard", "view_any_appraisal")
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "audit.py"


def load_benchmark_cohort(procedures: int, seed: int) -> None:
    """The synthetic cohort of benchmarks/audit.py (its generator, not a copy of it)."""
    spec = importlib.util.spec_from_file_location("audit_benchmark", BENCHMARK)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.load_cohort(procedures, seed=seed)


def grant_audit(user, *codenames: str):
    """Until the lead maps the new permissions to roles, tests grant them per user."""
    wanted = codenames or AUDIT_PERMISSIONS
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="audit", codename__in=wanted)
    )
    # Django caches permissions on the user object: drop the cache so the grant applies.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


@pytest.fixture
def recorded_cohort(procedure, clinician, patient):
    """The conftest procedure (40 days ago) with baseline and 1-month answers, an MDT
    decision, consent and one cement leakage reported to the Yellow Card scheme."""
    when = procedure.procedure_date
    actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=when - timedelta(days=10),
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="proceed",
    )
    actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=when - timedelta(days=2),
        leaflet_title="RF ablation: information for patients",
        leaflet_version="2.0",
        nice_information_offered=True,
        uncertainties_discussed=True,
        registry_audit_consent=True,
    )
    baseline = procedure.assessments.get(timepoint="baseline")
    actions.record_assessment(
        baseline,
        acting_user=clinician,
        analgesics=[
            {
                "drug": "morphine",
                "dose": Decimal("30"),
                "unit": "mg",
                "route": "oral",
                "doses_per_day": Decimal("2"),
                "as_needed": False,
            },
            {
                "drug": "kratom",
                "dose": Decimal("1"),
                "unit": "mg",
                "route": "oral",
                "doses_per_day": Decimal("1"),
                "as_needed": False,
            },
        ],
        assessed_on=when - timedelta(days=1),
        pain_worst=8,
        pain_average=6,
        eq5d_mobility=3,
        eq5d_self_care=2,
        eq5d_usual_activities=3,
        eq5d_pain_discomfort=4,
        eq5d_anxiety_depression=2,
        no_analgesics=False,
        notes="",
    )
    one_month = procedure.assessments.get(timepoint="1m")
    actions.record_assessment(
        one_month,
        acting_user=clinician,
        analgesics=[
            {
                "drug": "morphine",
                "dose": Decimal("15"),
                "unit": "mg",
                "route": "oral",
                "doses_per_day": Decimal("2"),
                "as_needed": False,
            }
        ],
        assessed_on=when + timedelta(days=30),
        pain_worst=3,
        pain_average=2,
        eq5d_mobility=1,
        eq5d_self_care=1,
        eq5d_usual_activities=2,
        eq5d_pain_discomfort=2,
        eq5d_anxiety_depression=1,
        no_analgesics=False,
        notes="",
    )
    event = actions.record_adverse_event(
        patient,
        acting_user=clinician,
        procedure=procedure,
        event_type="cement_leakage",
        symptomatic=False,
        onset_date=when,
        severity=1,
        device_related="unknown",
        outcome="resolved",
        description="Small paravertebral cement leak seen on the post-procedure CT.",
    )
    procedure.device_lot = "LOT-4471"
    procedure.save(update_fields=["device_lot"])
    return {"procedure": procedure, "event": event, "patient": patient}
