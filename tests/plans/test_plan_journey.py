"""Planning in the patient's journey: plan a lesion from its page, run it on the background
worker (django-tasks' database backend, in-process), read the stored result, compare two
options and choose one; a worker that stops mid-run; bad input changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.factories import login
from thermablate.plans import recovery, run_records, runner
from thermablate.plans.models import Plan, PlanStatus
from thermablate.registry import actions as registry_actions
from thermablate.registry.models import AuditEvent

# Small and quick: the physics is tested elsewhere; here the journey is.
QUICK = {"spacing_mm": "1.0", "duration_min": "1"}


def form_data(client, lesion, **changes):
    """The plan form as the page pre-fills it, with ``changes``."""
    response = client.get(reverse("plan_new", args=[lesion.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data.update(QUICK)
    data.update(changes)
    return data


def run_worker():
    call_command("worker", "--batch")


@pytest.fixture
def planned(client, clinician, lesion, django_capture_on_commit_callbacks):
    login(client, clinician)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("plan_new", args=[lesion.pk]), form_data(client, lesion, name="10 mm, 1 min")
        )
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    plan = Plan.objects.get()
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    return plan


def test_it_plans_a_lesion_from_the_patient_page_and_runs_it_in_the_background(
    client, clinician, lesion, planned
):
    page = client.get(reverse("patient_detail", args=[lesion.patient.registry_number]))
    assert reverse("plan_new", args=[lesion.pk]) in page.content.decode()
    plan = planned
    assert plan.status == PlanStatus.QUEUED and plan.task_id
    assert plan.scenario["anatomy"]["parameters"]["level"] == "L2"
    assert plan.scenario["anatomy"]["parameters"]["tumour_diameter_mm"] == 25.0
    assert plan.created_by == clinician and plan.engine_version
    created = AuditEvent.objects.get(model="plan", action="create")
    assert created.actor == clinician and created.patient == lesion.patient
    status = client.get(reverse("plan_status", args=[plan.pk])).json()
    assert status["status"] == "queued" and not status["finished"]

    run_worker()

    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUCCEEDED, plan.failure
    assert plan.attempts == 1 and plan.progress_time_s == pytest.approx(60.0)
    result = plan.result
    assert result["ablation_zone"]["volume_ml"] > 0
    assert 0 < result["coverage"]["covered_share"] <= 1
    assert result["safety"]["status"] in ("below thresholds", "at risk", "cannot judge")
    assert result["safety"]["thresholds"]["max_temp_c"] == 45.0
    assert {s["tissue"] for s in result["safety"]["structures"]} >= {
        "cauda-equina",
        "dura",
        "nerve-root-left",
        "nerve-root-right",
    }
    assert result["grid_convergence"]["coarse_spacing_mm"] == 1.5
    assert client.get(reverse("plan_status", args=[plan.pk])).json()["finished"]
    page = client.get(reverse("plan_detail", args=[plan.pk])).content.decode()
    assert 'id="verdict"' in page and "Ablation zone" in page and 'id="structures"' in page
    assert result["neural_peaks_read_over"] == "exact shapes" and 'id="peaks-read"' in page
    figure = client.get(reverse("plan_figure", args=[plan.pk]))
    assert figure.status_code == 200 and figure.content[:8] == b"\x89PNG\r\n\x1a\n"
    timeline = client.get(reverse("patient_detail", args=[lesion.patient.registry_number]))
    assert "Plan: 10 mm, 1 min" in timeline.content.decode()
    finished = AuditEvent.objects.filter(model="plan", object_id=str(plan.pk), actor=None)
    assert [e.changes["status"][1] for e in finished] == ["running", "succeeded"]


def test_two_options_are_compared_and_one_is_chosen(
    client, clinician, lesion, planned, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("plan_new", args=[lesion.pk]),
            form_data(client, lesion, name="10 mm, 2 min", duration_min="2"),
        )
    run_worker()
    first, second = Plan.objects.order_by("pk")
    assert second.status == PlanStatus.SUCCEEDED
    url = reverse("lesion_plans", args=[lesion.pk]) + f"?plan={first.pk}&plan={second.pk}"
    page = client.get(url)
    rows = dict(page.context["rows"])
    assert rows["Target, time"] == ["90 °C for 1 min", "90 °C for 2 min"]
    assert "Zone volume" in rows and "Neural safety" in rows
    figure = client.get(
        reverse("plan_comparison_figure", args=[lesion.pk]) + f"?plan={first.pk}&plan={second.pk}"
    )
    assert figure.status_code == 200 and figure["Content-Type"] == "image/png"

    client.post(reverse("plan_choose", args=[first.pk]))
    client.post(reverse("plan_choose", args=[second.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.chosen and second.chosen and second.chosen_by == clinician
    changes = [
        e.changes["chosen"]
        for e in AuditEvent.objects.filter(model="plan", actor=clinician)
        if "chosen" in e.changes
    ]
    assert changes == [[False, True], [True, False], [False, True]]


def test_comparing_one_or_five_plans_or_another_lesions_is_refused(
    client, clinician, lesion, planned
):
    url = reverse("lesion_plans", args=[lesion.pk])
    assert "Choose two to 4" in client.get(url + f"?plan={planned.pk}").content.decode()
    assert (
        "Only finished plans" in client.get(url + f"?plan={planned.pk}&plan=999").content.decode()
    )
    assert "Choose plans" in client.get(url + "?plan=x&plan=1").content.decode()


def test_a_plan_that_is_not_finished_cannot_be_chosen(client, planned):
    client.post(reverse("plan_choose", args=[planned.pk]))
    planned.refresh_from_db()
    assert not planned.chosen


def test_a_worker_that_stopped_mid_run_is_retried_then_failed_with_the_reason(
    planned, django_capture_on_commit_callbacks
):
    # The worker took the plan and stopped: the plan is running with an old heartbeat.
    assert run_records.claim(planned.pk) is not None
    long_ago = timezone.now() - timedelta(seconds=runner.STALLED_AFTER_S + 1)
    Plan.objects.filter(pk=planned.pk).update(heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.recover_stalled() == [(planned.pk, "retried")]
    planned.refresh_from_db()
    assert planned.status == PlanStatus.QUEUED and planned.task_id
    run_worker()
    planned.refresh_from_db()
    assert planned.status == PlanStatus.SUCCEEDED and planned.attempts == 2

    # A second stop, on the last attempt, fails the plan and says why.
    Plan.objects.filter(pk=planned.pk).update(
        status=PlanStatus.RUNNING, heartbeat_at=long_ago, result=None
    )
    assert recovery.recover_stalled() == [(planned.pk, "failed")]
    planned.refresh_from_db()
    assert planned.status == PlanStatus.FAILED
    assert "the worker stopped during the run" in planned.failure


def test_a_run_that_fails_shows_why(client, planned):
    scenario = dict(planned.scenario, duration_s="five minutes")
    Plan.objects.filter(pk=planned.pk).update(scenario=scenario)
    run_worker()
    planned.refresh_from_db()
    assert planned.status == PlanStatus.FAILED
    assert "could not be run" in planned.failure and "duration_s" in planned.failure
    page = client.get(reverse("plan_detail", args=[planned.pk])).content.decode()
    assert 'id="plan-failed"' in page and "duration_s" in page


def test_a_run_queued_twice_runs_once(planned):
    assert runner.run(planned.pk) == PlanStatus.SUCCEEDED
    assert runner.run(planned.pk) == "not queued"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"device_id": "osteocool-bipolar"}, "internally cooled"),
        ({"target_temp_c": "95"}, "above the 90 °C"),
        ({"level": ""}, "This field is required"),
        ({"spacing_mm": "0.3"}, "Select a valid choice"),
        ({"duration_min": "abc"}, "Enter a number"),
    ],
)
def test_bad_settings_get_a_clear_message_and_save_nothing(
    client, clinician, lesion, changes, message
):
    login(client, clinician)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("plan_new", args=[lesion.pk]), form_data(client, lesion, **changes)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Plan.objects.exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"spinal_levels": "C5"}, "vertebral artery"),
        ({"size_mm": None}, "no size recorded"),
        ({"diagnosis": "discogenic_pain", "lesion_type": "not_applicable"}, "no disc model"),
    ],
)
def test_a_lesion_that_cannot_be_modelled_says_why(client, clinician, patient, fields, reason):
    values = {
        "spinal_levels": "L3", "diagnosis": "spinal_metastasis", "lesion_type": "lytic",
        "size_mm": Decimal("20"), "posterior_wall_intact": True, "distance_to_neural_mm": Decimal("5"),
    }  # fmt: skip
    values.update(fields)
    lesion = registry_actions.add_lesion(patient, acting_user=clinician, **values)
    login(client, clinician)
    response = client.get(reverse("plan_new", args=[lesion.pk]))
    assert response.status_code == 200 and reason in response.content.decode()
    assert client.post(reverse("plan_new", args=[lesion.pk]), {}).status_code == 200
    assert not Plan.objects.exists()


def test_the_api_creates_reads_and_lists_plans(
    client, clinician, lesion, django_capture_on_commit_callbacks
):
    login(client, clinician)
    body = {"device_id": "monopolar-sharp-cannula", "level": "L2", "active_tip_mm": 10, "gauge": 18,
            "duration_s": 60, "spacing_mm": 1.0, "name": "API plan"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"/api/lesions/{lesion.pk}/plans", data=body, content_type="application/json"
        )
    assert created.status_code == 201, created.content
    plan_id = created.json()["id"]
    assert created.json()["status"] == "queued"
    run_worker()
    read = client.get(f"/api/plans/{plan_id}").json()
    assert read["status"] == "succeeded" and read["result"]["safety"]["status"]
    listed = client.get(f"/api/patients/{lesion.patient.registry_number}/plans").json()
    assert [p["id"] for p in listed] == [plan_id]
    refused = client.post(
        f"/api/lesions/{lesion.pk}/plans",
        data={**body, "target_temp_c": 95},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "above the 90" in refused.content.decode()
    assert Plan.objects.count() == 1


def test_roles_and_sites(client, lesion, planned, analyst, coordinator, outsider):
    urls = [
        reverse("plan_detail", args=[planned.pk]),
        reverse("plan_status", args=[planned.pk]),
        reverse("lesion_plans", args=[lesion.pk]),
    ]
    for reader in (analyst, coordinator):
        login(client, reader)
        assert all(client.get(u).status_code == 200 for u in urls)
        assert client.get(reverse("plan_new", args=[lesion.pk])).status_code == 403
        assert client.post(reverse("plan_choose", args=[planned.pk])).status_code == 403
    login(client, outsider)
    for url in [
        *urls,
        reverse("plan_new", args=[lesion.pk]),
        reverse("plan_figure", args=[planned.pk]),
    ]:
        assert client.get(url).status_code == 404
    assert client.post(reverse("plan_choose", args=[planned.pk])).status_code == 404
    assert client.get(f"/api/plans/{planned.pk}").status_code == 404
