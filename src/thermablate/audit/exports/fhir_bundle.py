"""A FHIR R4 Bundle (type "collection") of the registry, written resource by resource.

Per patient: Patient; per procedure: Procedure; per completed assessment: a
QuestionnaireResponse (the raw answers: pain NRS, EQ-5D-5L, analgesics as taken) and derived
Observations (worst pain, EQ-5D-5L index, OME mg/day; average pain is in the answers); per adverse event an
AdverseEvent; per consent a Consent.

Profiles: UK Core (HL7 UK, https://simplifier.net/hl7fhirukcorer4) is claimed in meta.profile
for Patient, Procedure, Observation and QuestionnaireResponse. We know of no UK Core profile
for AdverseEvent or Consent, so those use the base R4 resource. Local codes (procedure type,
EQ-5D index, OME) are in the CodeSystem ``LOCAL_SYSTEM``; LOINC where a code exists: 72514-3
(pain severity 0-10 numeric rating, reported) and 59284-0 (patient consent).

Identifiable bundles carry the NHS number (https://fhir.nhs.uk/Id/nhs-number) and real dates;
pseudonymised ones carry only the keyed pseudonym and per-patient shifted dates (see
``pseudonyms``) and no birth date.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from thermablate.audit.exports.pseudonyms import date_shift_days, pseudonym, shifted
from thermablate.audit.exports.records import AssessmentRecord, PatientRecord, ProcedureRecord
from thermablate.clinical import eq5d, opioids
from thermablate.registry import choices as c

LOCAL_SYSTEM = "https://thermablate.org/fhir/CodeSystem/thermablate"
PSEUDONYM_SYSTEM = "https://thermablate.org/fhir/Id/pseudonym"
REGISTRY_NUMBER_SYSTEM = "https://thermablate.org/fhir/Id/registry-number"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
QUESTIONNAIRE = "https://thermablate.org/fhir/Questionnaire/follow-up-assessment"
_NAMESPACE_TEXT = "thermablate-fhir-export:"

GENDER = {"female": "female", "male": "male", "other": "other", "not_known": "unknown"}
EVENT_OUTCOME = {
    "resolved": "resolved",
    "resolved_sequelae": "resolvedWithSequelae",
    "ongoing": "ongoing",
    "fatal": "fatal",
    "unknown": "unknown",
}
# CTCAE grade to the R4 AdverseEvent severity codes (mild | moderate | severe).
SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}
PROCEDURE_TYPES = dict(c.ProcedureType.choices)
EQ5D_METHOD = eq5d.describe()
EVENT_TYPES = dict(c.AdverseEventType.choices)


def _full_url(resource_type: str, resource_id: str) -> str:
    """A name-based (version 5 style) UUID URN for the resource, built straight from SHA-1:
    the same resource always gets the same fullUrl, and references need no lookup table."""
    name = f"{_NAMESPACE_TEXT}{resource_type}/{resource_id}".encode()
    digest = hashlib.sha1(name, usedforsecurity=False).hexdigest()  # an identifier, not a secret
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"urn:uuid:{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def _entry(resource: dict) -> dict:
    return {"fullUrl": _full_url(resource["resourceType"], resource["id"]), "resource": resource}


def _ref(resource_type: str, resource_id: str) -> dict:
    return {"reference": _full_url(resource_type, resource_id)}


def _local(code: str, display: str) -> dict:
    return {"coding": [{"system": LOCAL_SYSTEM, "code": code, "display": display}], "text": display}


class _Context:
    """How one patient's data is written: identifiable, or pseudonymised with shifted dates."""

    def __init__(self, patient: PatientRecord, pseudonymised: bool):
        self.patient = patient
        self.pseudonymised = pseudonymised
        registry_number = patient.data["registry_number"]
        self.key = pseudonym(registry_number) if pseudonymised else registry_number
        self.shift = date_shift_days(registry_number) if pseudonymised else 0

    def date(self, value) -> str | None:
        moved = shifted(value, self.shift)
        return None if moved is None else moved.isoformat()

    def subject(self) -> dict:
        return _ref("Patient", self.key)


def patient_resource(ctx: _Context) -> dict:
    data = ctx.patient.data
    resource = {
        "resourceType": "Patient",
        "id": ctx.key,
        "meta": {"profile": [UK_CORE + "Patient"]},
        "gender": GENDER.get(data["sex"], "unknown"),
    }
    if ctx.pseudonymised:
        resource["identifier"] = [{"system": PSEUDONYM_SYSTEM, "value": ctx.key}]
    else:
        resource["identifier"] = [
            {"system": NHS_NUMBER_SYSTEM, "value": data["nhs_number"]},
            {"system": REGISTRY_NUMBER_SYSTEM, "value": data["registry_number"]},
        ]
        resource["birthDate"] = str(data["year_of_birth"])  # the registry holds the year only
    return resource


def procedure_resource(ctx: _Context, procedure: ProcedureRecord, number: int) -> dict:
    """``number`` is the procedure's place among the patient's: pseudonymised ids reveal no row id."""
    p = procedure.data
    pid = f"{ctx.key}-p{number}" if ctx.pseudonymised else f"procedure-{p['id']}"
    location = p["levels_treated"] or p["lesion_spinal_levels"] or p["lesion_bone_site"]
    notes = [
        f"Device: {p['device_manufacturer']} {p['device_model']}"
        + (f", lot {p['device_lot']}" if p["device_lot"] else "")
        + f"; {p['polarity']}, active tip {float(p['active_tip_mm']):g} mm",
        "Ablation cycles: "
        + (
            "; ".join(
                f"{float(x['target_temp_c']):g} °C for {x['time_at_target_s']} s"
                for x in procedure.cycles
            )
            or "none recorded"
        ),
        f"Cement: {p['cement']}"
        + (f", {float(p['cement_volume_ml']):g} ml" if p["cement_volume_ml"] is not None else ""),
    ]
    resource = {
        "resourceType": "Procedure",
        "id": pid,
        "meta": {"profile": [UK_CORE + "Procedure"]},
        "status": "completed",
        "code": _local(
            p["procedure_type"], PROCEDURE_TYPES.get(p["procedure_type"], p["procedure_type"])
        ),
        "subject": ctx.subject(),
        "performedDateTime": ctx.date(p["procedure_date"]),
        "bodySite": [{"text": location}] if location else [],
        "performer": [{"actor": {"display": name}} for name in procedure.operators],
        "usedCode": [{"text": f"{p['device_manufacturer']} {p['device_model']}"}],
        "note": [{"text": text} for text in notes],
    }
    if not resource["bodySite"]:
        del resource["bodySite"]
    if not resource["performer"]:
        del resource["performer"]
    return resource


def _observation(ctx, oid, code, when, procedure_ref, value, derived_from=None) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": oid,
        "meta": {"profile": [UK_CORE + "Observation"]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ],
        "code": code,
        "subject": ctx.subject(),
        "partOf": [procedure_ref],
        "effectiveDateTime": when,
        **value,
    }
    if derived_from:
        resource["derivedFrom"] = [derived_from]
    return resource


def assessment_resources(
    ctx: _Context, procedure_id: str, assessment: AssessmentRecord
) -> Iterator[dict]:
    a = assessment.data
    aid = f"{procedure_id}-{a['timepoint']}"
    when = ctx.date(a["assessed_on"])
    procedure_ref = _ref("Procedure", procedure_id)
    items = [
        # Item texts live in the Questionnaire (QUESTIONNAIRE); answers carry linkIds only,
        # which keeps a 100,000-procedure bundle to a manageable size.
        {"linkId": "timepoint", "answer": [{"valueString": a["timepoint"]}]}
    ]
    for key in ("pain_worst", "pain_average"):
        if a[key] is not None:
            items.append({"linkId": key, "answer": [{"valueInteger": a[key]}]})
    profile = assessment.eq5d_profile
    if profile:
        items.append(
            {
                "linkId": "eq5d5l",
                "item": [
                    {"linkId": name, "answer": [{"valueInteger": level}]}
                    for (name, _), level in zip(c.EQ5D_DIMENSIONS, profile, strict=True)
                ],
            }
        )
    if a["no_analgesics"]:
        items.append(
            {
                "linkId": "no_analgesics",
                "answer": [{"valueBoolean": True}],
            }
        )
    for number, drug in enumerate(assessment.analgesics, start=1):
        frequency = (
            ""
            if drug["doses_per_day"] is None
            else f", {float(drug['doses_per_day']):g} times a day"
        )
        items.append(
            {
                "linkId": f"analgesic-{number}",
                "answer": [
                    {
                        "valueString": f"{drug['drug']} {float(drug['dose']):g} {drug['unit']} {drug['route']}{frequency}"
                        + (" as needed" if drug["as_needed"] else "")
                    }
                ],
            }
        )
    response_id = f"{aid}-answers"
    yield {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "meta": {"profile": [UK_CORE + "QuestionnaireResponse"]},
        "questionnaire": QUESTIONNAIRE,
        "status": "completed",
        "subject": ctx.subject(),
        "authored": when,
        "partOf": [procedure_ref],
        "item": items,
    }
    answers = _ref("QuestionnaireResponse", response_id)
    pain_code = {
        "coding": [
            {
                "system": LOINC,
                "code": "72514-3",
                "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
            }
        ]
    }
    if a["pain_worst"] is not None:
        code = {**pain_code, "text": "Worst pain in the last 24 hours (NRS 0-10)"}
        yield _observation(
            ctx,
            f"{aid}-pain-worst",
            code,
            when,
            procedure_ref,
            {"valueInteger": a["pain_worst"]},
            answers,
        )
    if profile:
        value = {
            "valueQuantity": {"value": round(assessment.eq5d_index, 3), "unit": "index"},
            "method": {"text": EQ5D_METHOD},
        }
        yield _observation(
            ctx,
            f"{aid}-eq5d-index",
            _local("eq5d5l-index", "EQ-5D-5L index value"),
            when,
            procedure_ref,
            value,
            answers,
        )
    ome = assessment.ome()
    if ome is not None:
        value = {
            "valueQuantity": {
                "value": round(ome.total_mg_per_day, 2),
                "unit": "mg/day",
                "system": UCUM,
                "code": "mg/d",
            },
            "method": {
                "text": f"Thermablate opioid conversion table v{opioids.CONVERSION_TABLE_VERSION}"
            },
        }
        if ome.not_convertible:
            value["note"] = [
                {
                    "text": "Lower bound: not convertible: "
                    + "; ".join(f"{x.entry.drug} {x.entry.route}" for x in ome.not_convertible)
                }
            ]
        yield _observation(
            ctx,
            f"{aid}-ome",
            _local("ome-mg-per-day", "Oral morphine equivalent daily dose"),
            when,
            procedure_ref,
            value,
            answers,
        )


def adverse_event_resource(ctx: _Context, procedure_id: str, event: dict, number: int) -> dict:
    label = EVENT_TYPES.get(event["event_type"], event["event_type"])
    resource = {
        "resourceType": "AdverseEvent",
        "id": f"{procedure_id}-event-{number}",
        "actuality": "actual",
        "event": _local(event["event_type"], label),
        "subject": ctx.subject(),
        "date": ctx.date(event["onset_date"]),
        "severity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                    "code": SEVERITY[event["severity"]],
                }
            ],
            "text": f"CTCAE v5.0 grade {event['severity']}",
        },
        "outcome": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                    "code": EVENT_OUTCOME.get(event["outcome"], "unknown"),
                }
            ]
        },
        "suspectEntity": [{"instance": _ref("Procedure", procedure_id)}],
    }
    if not ctx.pseudonymised:
        # R4 AdverseEvent has no description element: the free text goes in event.text, and
        # only in identifiable exports (free text may identify the patient).
        resource["event"]["text"] = f"{label}: {event['description']}"
    if event["yellow_card_reference"]:
        resource["identifier"] = {
            "system": "https://yellowcard.mhra.gov.uk",
            "value": event["yellow_card_reference"],
        }
    return resource


def consent_resource(ctx: _Context, consent: dict, number: int) -> dict:
    cid = f"{ctx.key}-consent-{number}"
    checks = [
        ("NICE information for the public offered", consent["nice_information_offered"]),
        ("Uncertainties of the procedure discussed", consent["uncertainties_discussed"]),
        ("Consents to registry and audit use of data", consent["registry_audit_consent"]),
    ]
    return {
        "resourceType": "Consent",
        "id": cid,
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "treatment",
                }
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}
        ],
        "patient": ctx.subject(),
        "dateTime": ctx.date(consent["consent_date"]),
        "sourceAttachment": {
            "title": f"{consent['leaflet_title']} (version {consent['leaflet_version']})"
        },
        "policyRule": {
            "text": "Written information and consent as NICE interventional procedures guidance asks"
        },
        "provision": {
            "type": "permit",
            "code": [{"text": f"{label}: {'yes' if value else 'no'}"} for label, value in checks],
        },
    }


def patient_resources(patient: PatientRecord, pseudonymised: bool) -> Iterator[dict]:
    ctx = _Context(patient, pseudonymised)
    yield patient_resource(ctx)
    for number, consent in enumerate(patient.consents, start=1):
        yield consent_resource(ctx, consent, number)
    for number, procedure in enumerate(patient.procedures, start=1):
        resource = procedure_resource(ctx, procedure, number)
        yield resource
        for assessment in procedure.assessments:
            if assessment.done:
                yield from assessment_resources(ctx, resource["id"], assessment)
        for number, event in enumerate(procedure.events, start=1):
            yield adverse_event_resource(ctx, resource["id"], event, number)


def write_bundle(
    out: TextIO, patients: Iterable[PatientRecord], pseudonymised: bool
) -> tuple[int, int]:
    """Stream a Bundle JSON document to ``out``; return (patients, procedures) written."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    bundle_id = str(uuid.uuid4())
    header = {"resourceType": "Bundle", "id": bundle_id, "type": "collection", "timestamp": stamp}
    out.write(json.dumps(header, separators=(",", ":"))[:-1] + ',"entry":[')
    first = True
    patient_count = procedure_count = 0
    for patient in patients:
        patient_count += 1
        procedure_count += len(patient.procedures)
        for resource in patient_resources(patient, pseudonymised):
            out.write("\n" if first else ",\n")
            out.write(json.dumps(_entry(resource), ensure_ascii=False, separators=(",", ":")))
            first = False
    out.write("\n]}\n")
    return patient_count, procedure_count
