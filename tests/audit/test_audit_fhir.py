"""The FHIR R4 Bundle: every resource validates with fhir.resources, references resolve.

fhir.resources 8 ships R4B models (``fhir.resources.R4B``); the resources exported here
(Patient, Procedure, Observation, QuestionnaireResponse, AdverseEvent, Consent) did not
change between R4 and R4B, so they validate the R4 content.
"""

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from thermablate.audit.exports.run import export
from thermablate.registry import actions


@pytest.fixture
def bundle_json(tmp_path, recorded_cohort):
    def build(pseudonymised: bool) -> dict:
        out = tmp_path / f"bundle-{pseudonymised}.json"
        export(export_format="fhir", out=out, pseudonymised=pseudonymised)
        return json.loads(out.read_text())

    return build


def test_every_resource_and_the_bundle_validate(bundle_json):
    data = bundle_json(pseudonymised=False)
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    bundle = Bundle.model_validate(data)
    kinds = {entry.resource.get_resource_type() for entry in bundle.entry}
    assert kinds == {
        "Patient",
        "Procedure",
        "Observation",
        "QuestionnaireResponse",
        "AdverseEvent",
        "Consent",
    }


def test_every_reference_points_into_the_bundle(bundle_json):
    data = bundle_json(pseudonymised=True)
    urls = {entry["fullUrl"] for entry in data["entry"]}
    references = []

    def collect(node):
        if isinstance(node, dict):
            if set(node) == {"reference"}:
                references.append(node["reference"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(data)
    assert references and set(references) <= urls


def test_it_carries_the_nhs_number_only_when_identifiable(bundle_json, recorded_cohort):
    nhs_number = recorded_cohort["patient"].nhs_number
    identifiable = json.dumps(bundle_json(pseudonymised=False))
    pseudonymised = json.dumps(bundle_json(pseudonymised=True))
    assert nhs_number in identifiable
    assert nhs_number not in pseudonymised
    assert recorded_cohort["patient"].registry_number not in pseudonymised
    assert "birthDate" not in pseudonymised
    assert "Small paravertebral cement leak" not in pseudonymised  # free text stays home


def test_it_shifts_dates_but_keeps_intervals_when_pseudonymised(bundle_json, recorded_cohort):
    from datetime import date

    data = bundle_json(pseudonymised=True)
    resources = [entry["resource"] for entry in data["entry"]]
    [procedure] = [r for r in resources if r["resourceType"] == "Procedure"]
    answers = {r["id"]: r for r in resources if r["resourceType"] == "QuestionnaireResponse"}
    performed = date.fromisoformat(procedure["performedDateTime"])
    month = date.fromisoformat(answers[f"{procedure['id']}-1m-answers"]["authored"])
    assert (month - performed).days == 30


def test_it_reports_scores_as_observations_with_their_method(bundle_json):
    data = bundle_json(pseudonymised=True)
    observations = {
        e["resource"]["id"].split("-", 2)[-1]: e["resource"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    ome = next(o for key, o in observations.items() if key.endswith("baseline-ome"))
    assert ome["valueQuantity"]["value"] == 60
    assert "not convertible: kratom oral" in ome["note"][0]["text"]
    eq5d = next(o for key, o in observations.items() if key.endswith("baseline-eq5d-index"))
    assert "NICE DSU mapping" in eq5d["method"]["text"]
    pain = next(o for key, o in observations.items() if key.endswith("baseline-pain-worst"))
    assert pain["code"]["coding"][0]["code"] == "72514-3" and pain["valueInteger"] == 8


@pytest.fixture
def child_cohort(recorded_cohort, clinician):
    """The recorded cohort with the patient 10 years old: under the DSU mapping's 16."""
    patient = recorded_cohort["patient"]
    age_ten = recorded_cohort["procedure"].procedure_date.year - 10
    actions.update_patient(patient, acting_user=clinician, year_of_birth=age_ten)
    return recorded_cohort


@pytest.mark.parametrize("pseudonymised", [True, False])
def test_a_childs_eq5d_answers_are_kept_and_the_missing_index_is_stated(
    bundle_json, child_cohort, pseudonymised
):
    data = bundle_json(pseudonymised=pseudonymised)
    for entry in data["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    Bundle.model_validate(data)
    resources = {e["resource"]["id"]: e["resource"] for e in data["entry"]}
    [answers_id] = [key for key in resources if key.endswith("-baseline-answers")]
    [eq5d_group] = [i for i in resources[answers_id]["item"] if i["linkId"] == "eq5d5l"]
    levels = [item["answer"][0]["valueInteger"] for item in eq5d_group["item"]]
    assert levels == [3, 2, 3, 4, 2]  # the raw answers, as recorded
    [index_id] = [key for key in resources if key.endswith("-baseline-eq5d-index")]
    index = resources[index_id]
    assert "valueQuantity" not in index
    assert index["dataAbsentReason"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "code": "not-applicable",
        "display": "Not Applicable",
    }
    assert "16 and over" in index["note"][0]["text"]
    assert "NICE DSU mapping" in index["method"]["text"]
