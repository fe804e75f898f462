"""The JSON API as another hospital system uses it, with a bearer token."""

import hashlib
from datetime import timedelta

import pytest

from tests.factories import login
from thermablate.registry.models import AdverseEvent, ApiToken, Assessment, Patient, Procedure

pytestmark = pytest.mark.usefixtures("approved_site")


@pytest.fixture
def token(clinician):
    raw = "tb_test_token_0123456789abcdef"
    ApiToken.objects.create(
        user=clinician,
        name="EPR feed",
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        scope=ApiToken.Scope.READ_WRITE,  # these tests write; read-only is tested on its own
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, data, auth):
    return client.post(url, data=data, content_type="application/json", **auth)


def test_the_openapi_schema_is_served(client, clinician):
    login(client, clinician)
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Thermablate registry API"
    assert "/api/patients/{registry_number}/procedures" in schema["paths"]


def test_a_wrong_token_is_refused(client, token):
    assert client.get("/api/patients", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_it_creates_a_whole_journey_through_the_api(client, token, clinician, today):
    created = post(
        client,
        "/api/patients",
        {"nhs_number": "943 476 5919", "year_of_birth": 1960, "sex": "male"},
        token,
    )
    assert created.status_code == 201, created.content
    rn = created.json()["registry_number"]
    assert created.json()["nhs_number"] == "9434765919"
    lesion = post(
        client,
        f"/api/patients/{rn}/lesions",
        {
            "spinal_levels": "L3",
            "diagnosis": "spinal_metastasis",
            "lesion_type": "lytic",
            "size_mm": 22,
        },
        token,
    )
    assert lesion.status_code == 201, lesion.content
    assert (
        post(
            client,
            f"/api/patients/{rn}/mdt-decisions",
            {
                # Before the procedure (35 days ago): the pathway rule.
                "meeting_date": str(today - timedelta(days=40)),
                "member_roles": ["spinal_surgeon", "clinical_oncologist"],
                "decision": "proceed",
            },
            token,
        ).status_code
        == 201
    )
    assert (
        post(
            client,
            f"/api/patients/{rn}/consents",
            {
                "consent_date": str(today - timedelta(days=36)),
                "leaflet_title": "RFA leaflet",
                "leaflet_version": "1",
            },
            token,
        ).status_code
        == 201
    )
    procedure_date = today - timedelta(days=35)
    procedure = post(
        client,
        f"/api/patients/{rn}/procedures",
        {
            "lesion_id": lesion.json()["id"],
            "procedure_date": str(procedure_date),
            "operators": [clinician.username],
            "procedure_type": "rfa_spinal_metastasis",
            "setting": "day_case",
            "anaesthesia": "iv_sedation",
            "approach": "parapedicular",
            "access": "percutaneous",
            "image_guidance": ["cbct"],
            "device_manufacturer": "Medtronic",
            "device_model": "OsteoCool",
            "polarity": "bipolar",
            "active_tip_mm": 10,
            "thermal_protection": ["none"],
            "levels_treated": "L3",
            "duration_min": 60,
            "cycles": [{"target_temp_c": 70, "time_at_target_s": 420, "power_w": 8}],
        },
        token,
    )
    assert procedure.status_code == 201, procedure.content
    body = procedure.json()
    assert [a["timepoint"] for a in body["assessments"]] == [
        "baseline",
        "1w",
        "1m",
        "3m",
        "6m",
        "12m",
    ]
    month_id = next(a["id"] for a in body["assessments"] if a["timepoint"] == "1m")
    recorded = client.put(
        f"/api/assessments/{month_id}",
        data={
            "assessed_on": str(procedure_date + timedelta(days=28)),
            "pain_worst": 2,
            "pain_average": 1,
            "eq5d_mobility": 1,
            "eq5d_self_care": 1,
            "eq5d_usual_activities": 2,
            "eq5d_pain_discomfort": 2,
            "eq5d_anxiety_depression": 1,
            "analgesics": [
                {"drug": "codeine", "dose": 30, "unit": "mg", "route": "oral", "doses_per_day": 4}
            ],
            "version": 1,
        },
        content_type="application/json",
        **token,
    )
    assert recorded.status_code == 200, recorded.content
    assert recorded.json()["status"] == "done" and recorded.json()["eq5d_profile"] == [
        1,
        1,
        2,
        2,
        1,
    ]
    event = post(
        client,
        f"/api/patients/{rn}/adverse-events",
        {
            "procedure_id": body["id"],
            "event_type": "thermal_injury",
            "onset_date": str(procedure_date),
            "severity": 2,
            "device_related": "unknown",
            "outcome": "resolved",
            "description": "Skin burn at the pad",
        },
        token,
    )
    assert event.status_code == 201, event.content
    assert (
        client.get(f"/api/patients/{rn}/adverse-events", **token).json()[0]["event_type"]
        == "thermal_injury"
    )
    assert Procedure.objects.get().operators.get() == clinician


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"nhs_number": "1234567890", "year_of_birth": 1960, "sex": "male"}, "nhs_number"),
        ({"nhs_number": "9434765919", "year_of_birth": 1850, "sex": "male"}, "year_of_birth"),
        ({"nhs_number": "9434765919", "year_of_birth": 1960, "sex": "robot"}, "sex"),
    ],
)
def test_it_refuses_a_bad_patient_with_422_and_saves_nothing(client, token, payload, field):
    response = post(client, "/api/patients", payload, token)
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not Patient.objects.exists()


def test_a_cycle_at_150_degrees_refuses_the_whole_procedure(
    client, token, clinician, patient, lesion, today
):
    response = post(
        client,
        f"/api/patients/{patient.registry_number}/procedures",
        {
            "lesion_id": lesion.pk,
            "procedure_date": str(today),
            "operators": [clinician.username],
            "procedure_type": "rfa_spinal_metastasis",
            "setting": "day_case",
            "anaesthesia": "general",
            "access": "percutaneous",
            "image_guidance": ["ct"],
            "device_manufacturer": "X",
            "device_model": "Y",
            "polarity": "monopolar",
            "active_tip_mm": 10,
            "thermal_protection": ["none"],
            "duration_min": 60,
            "cycles": [
                {"target_temp_c": 90, "time_at_target_s": 300},
                {"target_temp_c": 150, "time_at_target_s": 300},
            ],
        },
        token,
    )
    assert response.status_code == 422
    assert "Cycle 2" in response.content.decode()
    assert not Procedure.objects.exists() and not Assessment.objects.exists()


def test_an_assessment_of_another_site_is_not_found(client, outsider, procedure):
    login(client, outsider)
    month = procedure.assessments.get(timepoint="1m")
    response = client.put(
        f"/api/assessments/{month.pk}",
        data={"assessed_on": str(procedure.procedure_date), "pain_worst": 5, "version": 1},
        content_type="application/json",
    )
    assert response.status_code == 404
    month.refresh_from_db()
    assert month.assessed_on is None


def test_an_adverse_event_must_name_a_procedure_of_the_same_patient(
    client, token, clinician, procedure, site_a
):
    from thermablate.registry import actions

    other = actions.create_patient(
        site=site_a, acting_user=clinician, nhs_number="9434765870", year_of_birth=1970, sex="male"
    )
    response = post(
        client,
        f"/api/patients/{other.registry_number}/adverse-events",
        {
            "procedure_id": procedure.pk,
            "event_type": "infection",
            "onset_date": str(procedure.procedure_date),
            "severity": 2,
            "device_related": "no",
            "outcome": "resolved",
            "description": "Wound infection",
        },
        token,
    )
    assert response.status_code == 422
    assert not AdverseEvent.objects.exists()


def test_the_api_token_command_creates_a_working_token_and_revokes_it(client, clinician, capsys):
    from django.core.management import call_command

    call_command("api_token", "create", clinician.username, "--name", "EPR")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("tb_")
    assert not ApiToken.objects.filter(key_hash=token).exists()  # only the hash is stored
    assert client.get("/api/patients", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    call_command("api_token", "revoke", clinician.username, "--all")
    assert client.get("/api/patients", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
