"""Predicted against observed: the procedure linked to its plan, re-simulated as delivered,
the zone measured on imaging, and the audit's planning section (Bland-Altman agreement,
neurological events against the predicted verdict)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.factories import login, procedure_fields, queued_plan
from thermablate.planning.lesion_plan import PlanOptions
from thermablate.plans import actions
from thermablate.plans.models import ObservedZone, Plan, PlanPurpose, PlanStatus
from thermablate.registry import actions as registry_actions
from thermablate.registry.models import AuditEvent

QUICK = PlanOptions(
    "monopolar-sharp-cannula", level="L2", active_tip_mm=10.0, gauge=18, spacing_mm=1.0,
    duration_s=60.0,
)  # fmt: skip


def finished_plan(lesion, user, captured, name="option", **changes) -> Plan:
    with captured(execute=True):
        plan = queued_plan(lesion, user, name=name, **changes)
    call_command("worker", "--batch")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUCCEEDED, plan.failure
    return plan


@pytest.fixture
def chosen(lesion, clinician, django_capture_on_commit_callbacks):
    plan = finished_plan(lesion, clinician, django_capture_on_commit_callbacks)
    return actions.choose_plan(plan, acting_user=clinician)


def test_the_procedure_is_linked_to_its_plan_and_re_simulated_as_delivered(
    client, clinician, procedure, chosen, django_capture_on_commit_callbacks
):
    login(client, clinician)
    page = client.get(reverse("procedure_detail", args=[procedure.pk])).content.decode()
    assert "The lesion's chosen plan" in page and 'id="link-plan"' in page
    client.post(reverse("procedure_plan_link", args=[procedure.pk]), {"plan": chosen.pk})
    chosen.refresh_from_db()
    assert chosen.procedure == procedure
    assert AuditEvent.objects.filter(model="plan", changes__procedure=[None, procedure.pk]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("procedure_as_delivered", args=[procedure.pk]))
    delivered = Plan.objects.get(purpose=PlanPurpose.AS_DELIVERED)
    assert response["Location"] == reverse("plan_detail", args=[delivered.pk])
    # The recorded cycle (70 °C for 300 s at 10 W) and tip, on the plan's model and electrode.
    generator = delivered.scenario["generator"]
    assert generator["target_temp_c"] == 70.0 and generator["max_power_w"] == 10.0
    assert delivered.scenario["duration_s"] == 300.0 + 60.0
    assert delivered.scenario["electrodes"][0]["active_tip_mm"] == 10.0
    assert delivered.procedure == procedure and any("ramp" in n for n in delivered.notes)
    call_command("worker", "--batch")
    delivered.refresh_from_db()
    assert delivered.status == PlanStatus.SUCCEEDED
    page = client.get(reverse("procedure_detail", args=[procedure.pk])).content.decode()
    assert "Re-simulated as delivered" in page and "Carried out plan" in page


def test_several_cycles_are_run_as_one_and_said_so():
    from thermablate.planning.lesion_plan import delivered_options

    cycles = [
        {"target_temp_c": Decimal("85"), "time_at_target_s": 240, "power_w": None},
        {"target_temp_c": Decimal("90"), "time_at_target_s": 120, "power_w": Decimal("12")},
    ]
    options, notes = delivered_options(QUICK, cycles, 15.0)
    assert options.target_temp_c == 90.0 and options.duration_s == 360.0 + QUICK.ramp_s
    assert options.max_power_w == 12.0 and options.active_tip_mm == 15.0
    assert "cooling between them is not modelled" in notes[0]


def test_without_a_plan_there_is_nothing_to_re_simulate(client, clinician, procedure):
    login(client, clinician)
    response = client.post(reverse("procedure_as_delivered", args=[procedure.pk]), follow=True)
    assert "There is no plan to re-simulate" in response.content.decode()
    assert not Plan.objects.exists()


def test_the_measured_zone_is_recorded_checked_and_corrected(client, coordinator, procedure):
    login(client, coordinator)
    url = reverse("observed_zone_record", args=[procedure.pk])
    good = {
        "imaging": "ct", "measured_on": str(procedure.procedure_date + timedelta(days=1)),
        "length_mm": "24", "width_mm": "18", "lesion_covered": "yes", "notes": "",
    }  # fmt: skip
    for bad, message in (
        ({"width_mm": "0"}, "greater than or equal to 0.5"),
        (
            {"measured_on": str(procedure.procedure_date - timedelta(days=1))},
            "before the procedure",
        ),
        ({"lesion_covered": "maybe"}, "Select a valid choice"),
    ):
        response = client.post(url, {**good, **bad})
        assert response.status_code == 200 and message in response.content.decode()
    assert not ObservedZone.objects.exists()
    assert client.post(url, good).status_code == 302
    zone = ObservedZone.objects.get()
    assert (zone.length_mm, zone.width_mm, zone.recorded_by) == (24, 18, coordinator)
    client.post(url, {**good, "width_mm": "20"})
    change = AuditEvent.objects.filter(model="observedzone", action="update").get()
    assert Decimal(change.changes["width_mm"]["old"]) == Decimal("18")
    assert Decimal(change.changes["width_mm"]["new"]) == Decimal("20")


def test_the_audit_shows_predicted_against_measured_and_events_by_verdict(
    client, clinician, governance, patient, lesion, procedure, chosen
):
    actions.link_to_procedure(chosen, procedure, acting_user=clinician)
    second = registry_actions.record_procedure(
        patient, acting_user=clinician, operators=[clinician],
        cycles=[{"target_temp_c": Decimal("90"), "time_at_target_s": 300, "power_w": None}],
        # Done today, after the lesion's plan was chosen: counted as planned by that choice.
        **procedure_fields(lesion, procedure_date=timezone.localdate()),
    )  # fmt: skip
    predicted = chosen.result["ablation_zone"]
    for p, (dl, dw) in ((procedure, (2.0, 1.0)), (second, (4.0, -1.0))):
        actions.record_observed_zone(
            p, acting_user=clinician, imaging="ct", measured_on=p.procedure_date,
            length_mm=Decimal(str(round(predicted["axial_extent_mm"] + dl, 1))),
            width_mm=Decimal(str(round(predicted["transverse_extent_mm"] + dw, 1))),
            lesion_covered="yes",
        )  # fmt: skip
    registry_actions.record_adverse_event(
        patient, acting_user=clinician, procedure=second, event_type="neurological_deficit",
        onset_date=second.procedure_date, severity=2, device_related="unknown",
        outcome="resolved_sequelae", description="Numbness in the L2 dermatome",
    )  # fmt: skip
    login(client, governance)
    response = client.get(reverse("audit_dashboard"))
    figures = response.context["planning"]
    assert (figures.procedures, figures.planned, figures.measured) == (2, 2, 2)
    assert figures.length.mean_difference == pytest.approx(3.0, abs=0.06)
    assert figures.width.mean_difference == pytest.approx(0.0, abs=0.06)
    assert figures.length.enough and figures.length.lower_limit < 3.0 < figures.length.upper_limit
    assert [(r.verdict, r.procedures, r.with_neurological_event) for r in figures.verdicts] == [
        (chosen.safety_status, 2, 1)
    ]
    # A third procedure, done before the plan was made and not linked to it, was not planned.
    registry_actions.record_procedure(
        patient, acting_user=clinician, operators=[clinician],
        cycles=[{"target_temp_c": Decimal("90"), "time_at_target_s": 300, "power_w": None}],
        **procedure_fields(lesion, procedure_date=procedure.procedure_date + timedelta(days=2)),
    )  # fmt: skip
    later = client.get(reverse("audit_dashboard")).context["planning"]
    assert (later.procedures, later.planned) == (3, 2)
    page = response.content.decode()
    assert 'id="planning"' in page and 'id="agreement-chart"' in page
    report = client.get(reverse("audit_report")).content.decode()
    assert "Planning: predicted against observed" in report


def test_roles_for_the_procedures_planning_actions(client, procedure, chosen, analyst, outsider):
    login(client, analyst)
    assert (
        client.post(
            reverse("procedure_plan_link", args=[procedure.pk]), {"plan": chosen.pk}
        ).status_code
        == 403
    )
    assert client.post(reverse("procedure_as_delivered", args=[procedure.pk])).status_code == 403
    assert client.get(reverse("observed_zone_record", args=[procedure.pk])).status_code == 403
    login(client, outsider)
    for name in ("procedure_plan_link", "procedure_as_delivered"):
        assert (
            client.post(reverse(name, args=[procedure.pk]), {"plan": chosen.pk}).status_code == 404
        )
    assert client.get(reverse("observed_zone_record", args=[procedure.pk])).status_code == 404


def test_the_mdt_and_consent_pages_show_the_chosen_plan_and_consent_notes_its_discussion(
    client, clinician, patient, chosen
):
    login(client, clinician)
    for name in ("mdt_create", "consent_create"):
        page = client.get(reverse(name, args=[patient.registry_number])).content.decode()
        assert 'id="chosen-plans"' in page and chosen.name in page
        assert "Neural safety: <strong>" in page and "Uncertainties to discuss" in page
    response = client.post(
        reverse("consent_create", args=[patient.registry_number]),
        {
            "consent_date": str(chosen.created_at.date()), "leaflet_title": "RF ablation",
            "leaflet_version": "2", "nice_information_offered": "on",
            "uncertainties_discussed": "on", "plan_discussed": "on",
            "registry_audit_consent": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    assert patient.consents.get().plan_discussed
