"""Every API operation, for every role and for a user of another site: allow or deny.

Bodies are valid, so the request reaches the permission check rather than stopping at schema
validation. The operations are read from the OpenAPI schema: a new one without an entry fails.
"""

from datetime import timedelta

import pytest

from tests.factories import login, queued_plan

PERSONAS = ("clinician", "coordinator", "governance", "analyst", "administrator", "outsider")
READ = (200, 200, 200, 200, 403, 404)
LIST = (200, 200, 200, 200, 403, 200)  # the outsider gets its own site's (empty) list
WRITE = (201, 201, 403, 403, 403, 404)
CORRECT = (200, 200, 403, 403, 403, 404)  # those who record the journey put it right
CORRECTION = {"reason": "Transcribed from the wrong letter", "version": 1}


def body_for(operation, procedure, lesion):
    day = procedure.procedure_date
    return {
        ("post", "/api/patients"): {
            "nhs_number": "9000000009",
            "year_of_birth": 1950,
            "sex": "male",
        },
        ("post", "/api/patients/{registry_number}/lesions"): {
            "spinal_levels": "L4",
            "diagnosis": "spinal_metastasis",
            "lesion_type": "lytic",
        },
        ("post", "/api/patients/{registry_number}/mdt-decisions"): {
            "meeting_date": str(day),
            "member_roles": ["spinal_surgeon", "clinical_oncologist"],
            "decision": "proceed",
        },
        ("post", "/api/patients/{registry_number}/consents"): {
            "consent_date": str(day),
            "leaflet_title": "RFA",
            "leaflet_version": "1",
        },
        ("post", "/api/patients/{registry_number}/procedures"): {
            "lesion_id": lesion.pk,
            "procedure_date": str(day),
            "operators": ["alice"],
            "procedure_type": "rfa_spinal_metastasis",
            "setting": "day_case",
            "anaesthesia": "general",
            "access": "percutaneous",
            "image_guidance": ["ct"],
            "device_manufacturer": "X",
            "device_model": "Y",
            "polarity": "bipolar",
            "active_tip_mm": 10,
            "thermal_protection": ["none"],
            "duration_min": 60,
            "cycles": [{"target_temp_c": 70, "time_at_target_s": 300}],
        },
        ("put", "/api/assessments/{assessment_id}"): {
            "assessed_on": str(day + timedelta(days=30)),
            "pain_worst": 3,
            "version": 1,  # each persona's write is rolled back: the version read is 1
        },
        ("post", "/api/patients/{registry_number}/adverse-events"): {
            "procedure_id": procedure.pk,
            "event_type": "haematoma",
            "onset_date": str(day),
            "severity": 1,
            "device_related": "no",
            "outcome": "resolved",
            "description": "Bruise",
        },
        ("post", "/api/records/{kind_name}/{pk}/entered-in-error"): {
            "reason": "Recorded against the wrong patient",
            "version": 1,
        },
        ("post", "/api/records/{kind_name}/{pk}/entered-in-error/undo"): {
            "reason": "The mark was a mistake",
            "version": 1,
        },
        ("put", "/api/patients/{registry_number}/status"): {
            "status": "died",
            "status_date": str(day + timedelta(days=40)),
            "death_related": "no",
            "version": 1,
        },
        ("post", "/api/assessments/{assessment_id}/not-done"): {
            "reason": "Too unwell to answer",
            "version": 1,
        },
        # Corrections (docs/corrections.md): the whole record, the reason, the version read.
        ("put", "/api/lesions/{lesion_id}"): {
            "spinal_levels": "L3",
            "diagnosis": "spinal_metastasis",
            "lesion_type": "lytic",
            **CORRECTION,
        },
        ("put", "/api/mdt-decisions/{decision_id}"): {
            "meeting_date": "2024-01-01",
            "lesion_id": lesion.pk,
            "member_roles": ["spinal_surgeon", "clinical_oncologist"],
            "decision": "proceed",
            **CORRECTION,
        },
        ("put", "/api/consents/{consent_id}"): {
            "consent_date": str(day),
            "leaflet_title": "RFA",
            "leaflet_version": "2",
            **CORRECTION,
        },
        ("put", "/api/procedures/{procedure_id}"): {
            "lesion_id": lesion.pk,
            "procedure_date": str(day),
            "operators": ["alice"],
            "procedure_type": "rfa_spinal_metastasis",
            "setting": "day_case",
            "anaesthesia": "general",
            "access": "percutaneous",
            "image_guidance": ["ct"],
            "device_manufacturer": "X",
            "device_model": "Y",
            "polarity": "bipolar",
            "active_tip_mm": 10,
            "thermal_protection": ["none"],
            "duration_min": 60,
            "cycles": [{"target_temp_c": 70, "time_at_target_s": 300}],
            **CORRECTION,
        },
        ("put", "/api/adverse-events/{event_id}"): {
            "procedure_id": procedure.pk,
            "event_type": "haematoma",
            "onset_date": str(day),
            "severity": 2,
            "device_related": "no",
            "outcome": "resolved",
            "description": "Haematoma",
            **CORRECTION,
        },
        ("post", "/api/lesions/{lesion_id}/plans"): {
            "device_id": "monopolar-sharp-cannula",
            "level": lesion.level_list[0],
            "active_tip_mm": 10,
            "gauge": 18,
            "spacing_mm": 1.0,
            "duration_s": 60,
        },
    }.get(operation)


EXPECTED = {
    ("get", "/api/patients"): LIST,
    ("post", "/api/patients"): WRITE[:5] + (201,),  # the outsider registers at its own site
    ("get", "/api/patients/{registry_number}"): READ,
    ("post", "/api/patients/{registry_number}/lesions"): WRITE,
    ("post", "/api/patients/{registry_number}/mdt-decisions"): WRITE,
    ("post", "/api/patients/{registry_number}/consents"): WRITE,
    ("get", "/api/patients/{registry_number}/procedures"): READ,
    ("post", "/api/patients/{registry_number}/procedures"): WRITE,
    ("get", "/api/procedures/{procedure_id}"): READ,
    ("get", "/api/assessments/{assessment_id}"): READ,
    ("put", "/api/assessments/{assessment_id}"): (200, 200, 403, 403, 403, 404),
    ("get", "/api/patients/{registry_number}/adverse-events"): READ,
    ("post", "/api/patients/{registry_number}/adverse-events"): WRITE,
    # Putting records right (docs/corrections.md): those who record the journey.
    ("post", "/api/records/{kind_name}/{pk}/entered-in-error"): (200, 200, 403, 403, 403, 404),
    # The procedure is not marked, so the undo is refused as such (422) once the role may.
    ("post", "/api/records/{kind_name}/{pk}/entered-in-error/undo"): (
        422,
        422,
        403,
        403,
        403,
        404,
    ),
    ("put", "/api/patients/{registry_number}/status"): (200, 200, 403, 403, 403, 404),
    ("post", "/api/assessments/{assessment_id}/not-done"): (200, 200, 403, 403, 403, 404),
    ("get", "/api/lesions/{lesion_id}"): READ,
    ("put", "/api/lesions/{lesion_id}"): CORRECT,
    ("get", "/api/mdt-decisions/{decision_id}"): READ,
    ("put", "/api/mdt-decisions/{decision_id}"): CORRECT,
    ("get", "/api/consents/{consent_id}"): READ,
    ("put", "/api/consents/{consent_id}"): CORRECT,
    ("put", "/api/procedures/{procedure_id}"): CORRECT,
    ("get", "/api/adverse-events/{event_id}"): READ,
    ("put", "/api/adverse-events/{event_id}"): CORRECT,
    # Plans (thermablate.plans): clinicians plan; all who read records read.
    ("post", "/api/lesions/{lesion_id}/plans"): (201, 403, 403, 403, 403, 404),
    ("get", "/api/plans/{plan_id}"): READ,
    ("get", "/api/patients/{registry_number}/plans"): READ,
}


def test_the_matrix_covers_every_api_operation(client, clinician):
    login(client, clinician)
    schema = client.get("/api/openapi.json").json()
    assert {(m, p) for p, item in schema["paths"].items() for m in item} == set(EXPECTED)


@pytest.mark.parametrize("operation", sorted(EXPECTED), ids=lambda o: f"{o[0]} {o[1]}")
def test_each_persona_gets_what_the_matrix_says(
    client, request, procedure, lesion, decided, approved_site, operation
):
    from django.db import transaction

    method, path = operation
    url = (
        path.replace("{registry_number}", procedure.patient.registry_number)
        .replace("{procedure_id}", str(procedure.pk))
        .replace("{assessment_id}", str(procedure.assessments.get(timepoint="1m").pk))
        .replace("{kind_name}", "procedure")
        .replace("{pk}", str(procedure.pk))
        .replace("{lesion_id}", str(lesion.pk))
    )
    url = url.replace("{decision_id}", str(decided.pk))
    if "{consent_id}" in url:
        url = url.replace("{consent_id}", str(_consent(procedure).pk))
    if "{event_id}" in url:
        url = url.replace("{event_id}", str(_event(procedure).pk))
    if "{plan_id}" in url:
        plan = queued_plan(lesion, request.getfixturevalue("clinician"), name="matrix")
        url = url.replace("{plan_id}", str(plan.pk))
    for persona, expected in zip(PERSONAS, EXPECTED[operation], strict=True):
        login(client, request.getfixturevalue(persona))
        with transaction.atomic():  # each persona's write is undone, so the next starts afresh
            body = body_for(operation, procedure, lesion)
            if method == "get":
                response = client.get(url)
            else:
                response = getattr(client, method)(url, data=body, content_type="application/json")
            status = response.status_code
            transaction.set_rollback(True)
        assert status == expected, (
            f"{method} {path} as {persona}: {status} {response.content[:200]!r}"
        )


def _consent(procedure):
    from thermablate.registry import actions

    return actions.record_consent(
        procedure.patient,
        acting_user=procedure.operators.get(),
        consent_date=procedure.procedure_date,
        leaflet_title="RFA",
        leaflet_version="1",
    )


def _event(procedure):
    from thermablate.registry import actions

    return actions.record_adverse_event(
        procedure.patient,
        acting_user=procedure.operators.get(),
        procedure=procedure,
        event_type="haematoma",
        onset_date=procedure.procedure_date,
        severity=1,
        device_related="no",
        outcome="resolved",
        description="Bruise",
    )
