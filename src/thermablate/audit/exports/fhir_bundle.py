"""A FHIR R4 Bundle (type "collection") of the registry, written resource by resource.

Per patient: Patient (with ``deceasedDateTime`` when the registry records a death); per
procedure: Procedure; per completed assessment: a
QuestionnaireResponse (the raw answers: pain NRS, EQ-5D-5L and EQ VAS, ODI sections, BPI
items, analgesics as taken, and who reported them: a ``reported_by`` answer, and the Patient
as ``source`` when the patient did) and derived Observations (worst pain, EQ-5D-5L index, EQ
VAS, OME mg/day, ODI, BPI severity and interference, each where answered or scored; average
pain is in the answers); per adverse event an AdverseEvent; per consent a Consent. An EQ-5D-5L index the value set does
not give (a child under the DSU mapping's 16) is an Observation without a value that says so
(``_EQ5D_NOT_SCORED``).

Profiles: UK Core (HL7 UK, https://simplifier.net/hl7fhirukcorer4) is claimed in meta.profile
for Patient, Procedure, Observation and QuestionnaireResponse. We know of no UK Core profile
for AdverseEvent or Consent, so those use the base R4 resource. Local codes (procedure type,
EQ-5D index, OME) are in the CodeSystem ``LOCAL_SYSTEM``; LOINC where a code exists: 72514-3
(pain severity 0-10 numeric rating, reported) and 59284-0 (patient consent).

Identifiable bundles carry the NHS number (https://fhir.nhs.uk/Id/nhs-number), the hospital
number (MRN, identifier type "MR" of HL7 v2 table 0203, in a system per site) when one is
recorded, and real dates; pseudonymised ones carry only the keyed pseudonym and per-patient
shifted dates (see ``pseudonyms``) and no birth date. A spinal lesion's SINS (derived from its
components) and Bilsky grade are notes on its Procedure.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import TextIO

from thermablate.audit.exports.pseudonyms import date_shift_days, pseudonym, shifted
from thermablate.audit.exports.records import AssessmentRecord, PatientRecord, ProcedureRecord
from thermablate.clinical import bpi, eq5d, odi, opioids
from thermablate.registry import choices as c
from thermablate.registry.models import Lesion

LOCAL_SYSTEM = "https://thermablate.org/fhir/CodeSystem/thermablate"
PSEUDONYM_SYSTEM = "https://thermablate.org/fhir/Id/pseudonym"
REGISTRY_NUMBER_SYSTEM = "https://thermablate.org/fhir/Id/registry-number"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
# A hospital number means something only with its issuing site: one system per site code.
HOSPITAL_NUMBER_SYSTEM = "https://thermablate.org/fhir/Id/hospital-number/"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
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


_PRIMED = {}  # resource type -> SHA-1 of the URL's constant prefix
# RFC 4122 variant bits (10xx) over the top bits of the 17th hex digit.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _full_url(resource_type: str, resource_id: str) -> str:
    """A name-based (version 5 style) UUID URN for the resource, built straight from SHA-1:
    the same resource always gets the same fullUrl, and references need no lookup table.

    Called for every resource and reference (millions in a large bundle): the hash of the
    constant prefix is computed once per resource type and copied.
    """
    primed = _PRIMED.get(resource_type)
    if primed is None:
        # An identifier, not a secret.
        primed = hashlib.sha1(f"{_NAMESPACE_TEXT}{resource_type}/".encode(), usedforsecurity=False)
        _PRIMED[resource_type] = primed
    sha = primed.copy()
    sha.update(resource_id.encode())
    d = sha.hexdigest()
    return (
        "urn:uuid:"
        + d[:8]
        + "-"
        + d[8:12]
        + "-5"
        + d[13:16]
        + "-"
        + _VARIANT[d[16]]
        + d[17:20]
        + "-"
        + d[20:32]
    )


# --- Writing JSON text directly -----------------------------------------------------------
# A 100,000-procedure bundle holds about two million resources. Building each as a dict and
# passing it to json.dumps costs ~40 µs a resource (over a minute in all), so resources are
# written as JSON text: the constant parts are encoded once below, from ordinary dicts, and
# only the values are encoded per resource. Strings go through the standard library's C
# string encoder (``_q``), so escaping is exactly json.dumps's with ensure_ascii=False. The
# tests parse the bundle and validate every resource with fhir.resources.

_q = encode_basestring  # a str as a JSON string literal (non-ASCII kept as is)


def _json(value) -> str:
    """Compact JSON of a constant or a rarely written value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _local(code: str, display: str) -> dict:
    return {"coding": [{"system": LOCAL_SYSTEM, "code": code, "display": display}], "text": display}


def _meta(profile: str) -> str:
    return '"meta":' + _json({"profile": [UK_CORE + profile]})


def _code(code: str, display: str) -> str:
    return _json(_local(code, display))


def _ref_json(url: str) -> str:
    return '{"reference":"' + url + '"}'  # urn:uuid: URLs need no escaping


_PATIENT_META = _meta("Patient")
_PROCEDURE_META = _meta("Procedure")
_OBSERVATION_HEAD = (
    _meta("Observation")
    + ',"status":"final","category":'
    + _json(
        [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ]
    )
)
_QUESTIONNAIRE_HEAD = (
    _meta("QuestionnaireResponse")
    + ',"questionnaire":'
    + _q(QUESTIONNAIRE)
    + ',"status":"completed"'
)
_PAIN_CODE = _json(
    {
        "coding": [
            {
                "system": LOINC,
                "code": "72514-3",
                "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
            }
        ],
        "text": "Worst pain in the last 24 hours (NRS 0-10)",
    }
)
_EQ5D_CODE = _code("eq5d5l-index", "EQ-5D-5L index value")
_EQ5D_METHOD = ',"unit":"index"},"method":' + _json({"text": EQ5D_METHOD})
# A complete profile without an index: the value set does not cover the respondent (the DSU
# mapping starts at age 16, docs/instruments.md). The answers stay in the
# QuestionnaireResponse; the Observation says why it has no value, with the data-absent-reason
# code "not-applicable" (HL7 terminology, CodeSystem data-absent-reason: "there is no proper
# value for this element"), which R4 allows only where value[x] is absent (obs-6).
_EQ5D_NOT_SCORED = (
    '"dataAbsentReason":'
    + _json(
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-applicable",
                    "display": "Not Applicable",
                }
            ],
            "text": "No index for this respondent under the value set",
        }
    )
    + ',"method":'
    + _json({"text": EQ5D_METHOD})
    + ',"note":'
    + _json(
        [
            {
                "text": "Not scored: the value set gives no index for this respondent (the DSU "
                f"mapping covers ages {eq5d.AGE_BANDS[0][0]} and over); the five answers are "
                "in the QuestionnaireResponse this Observation is derived from."
            }
        ]
    )
)
_VAS_CODE = _code("eq-vas", "EQ VAS: health today (0-100)")
# Scores of the instruments (clinical.odi, clinical.bpi), each with its method.
_SCORES = (
    (
        "odi",
        _code("odi-percent", "Oswestry Disability Index (%)"),
        ',"unit":"%","system":' + _q(UCUM) + ',"code":"%"},"method":' + _json({"text": odi.SOURCE}),
    ),
    (
        "bpi-severity",
        _code("bpi-severity", "Brief Pain Inventory pain severity (0-10)"),
        ',"unit":"score"},"method":' + _json({"text": bpi.SOURCE}),
    ),
    (
        "bpi-interference",
        _code("bpi-interference", "Brief Pain Inventory pain interference (0-10)"),
        ',"unit":"score"},"method":' + _json({"text": bpi.SOURCE}),
    ),
)
_OME_CODE = _code("ome-mg-per-day", "Oral morphine equivalent daily dose")
_OME_METHOD = (
    ',"unit":"mg/day","system":'
    + _q(UCUM)
    + ',"code":"mg/d"},"method":'
    + _json({"text": f"Thermablate opioid conversion table v{opioids.CONVERSION_TABLE_VERSION}"})
)
_PROCEDURE_CODES = {code: _code(code, label) for code, label in PROCEDURE_TYPES.items()}
_CONSENT_HEAD = (
    '"status":"active","scope":'
    + _json(
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "treatment",
                }
            ]
        }
    )
    + ',"category":'
    + _json([{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}])
)
_CONSENT_POLICY = _json(
    {"text": "Written information and consent as NICE interventional procedures guidance asks"}
)
_CONSENT_CHECKS = (
    ("NICE information for the public offered", "nice_information_offered"),
    ("Uncertainties of the procedure discussed", "uncertainties_discussed"),
    ("Consents to registry and audit use of data", "registry_audit_consent"),
)
_SEVERITY = {
    grade: _json(
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
                    "code": code,
                }
            ],
            "text": f"CTCAE v5.0 grade {grade}",
        }
    )
    for grade, code in SEVERITY.items()
}
_OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
_EQ5D_LINKS = tuple(name for name, _ in c.EQ5D_DIMENSIONS)
_ODI_LINKS = tuple(name for name, _ in c.ODI_SECTIONS)
_BPI_LINKS = ("bpi_least", "bpi_now", *(name for name, _ in c.BPI_INTERFERENCE))


def _entry(resource_type: str, resource_id: str, body: str, url: str | None = None) -> str:
    """One bundle entry; ``body`` is the resource's members after resourceType and id.
    (One f-string per entry: chained + would copy the growing text at every step.)"""
    url = url or _full_url(resource_type, resource_id)
    return (
        f'{{"fullUrl":"{url}","resource":{{"resourceType":"{resource_type}",'
        f'"id":{_q(resource_id)},{body}}}}}'
    )


class _Context:
    """How one patient's data is written: identifiable, or pseudonymised with shifted dates."""

    def __init__(self, patient: PatientRecord, pseudonymised: bool):
        self.patient = patient
        self.pseudonymised = pseudonymised
        registry_number = patient.data["registry_number"]
        self.key = pseudonym(registry_number) if pseudonymised else registry_number
        self.shift = date_shift_days(registry_number) if pseudonymised else 0
        # Every resource of the patient refers to it: encode the reference once.
        self.subject = _ref_json(_full_url("Patient", self.key))

    def date(self, value) -> str:
        """The (shifted) date as a JSON value."""
        moved = shifted(value, self.shift)
        return "null" if moved is None else '"' + moved.isoformat() + '"'


def patient_entry(ctx: _Context) -> str:
    data = ctx.patient.data
    body = _PATIENT_META + ',"gender":"' + GENDER.get(data["sex"], "unknown") + '"'
    if data["status"] == c.PatientStatus.DIED:
        # Patient.deceased[x]: the (shifted) date when recorded, else that the patient died.
        when = ctx.date(data["status_date"])
        body += (',"deceasedDateTime":' + when) if when != "null" else ',"deceasedBoolean":true'
    if ctx.pseudonymised:
        identifiers = [{"system": PSEUDONYM_SYSTEM, "value": ctx.key}]
        return _entry("Patient", ctx.key, body + ',"identifier":' + _json(identifiers))
    identifiers = [
        {"system": NHS_NUMBER_SYSTEM, "value": data["nhs_number"]},
        {"system": REGISTRY_NUMBER_SYSTEM, "value": data["registry_number"]},
    ]
    if data.get("mrn"):
        identifiers.append(
            {
                "type": {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "MR"}]},
                "system": HOSPITAL_NUMBER_SYSTEM + data["site_code"],
                "value": data["mrn"],
            }
        )
    # The registry holds the year of birth only.
    body += ',"identifier":' + _json(identifiers) + ',"birthDate":' + _q(str(data["year_of_birth"]))
    return _entry("Patient", ctx.key, body)


def consent_entry(ctx: _Context, consent: dict, number: int) -> str:
    codes = [
        {"text": f"{label}: {'yes' if consent[key] else 'no'}"} for label, key in _CONSENT_CHECKS
    ]
    title = f"{consent['leaflet_title']} (version {consent['leaflet_version']})"
    body = (
        _CONSENT_HEAD
        + ',"patient":'
        + ctx.subject
        + ',"dateTime":'
        + ctx.date(consent["consent_date"])
        + ',"sourceAttachment":{"title":'
        + _q(title)
        + '},"policyRule":'
        + _CONSENT_POLICY
        + ',"provision":{"type":"permit","code":'
        + _json(codes)
        + "}"
    )
    return _entry("Consent", f"{ctx.key}-consent-{number}", body)


def procedure_id(ctx: _Context, procedure: ProcedureRecord, number: int) -> str:
    """``number`` is the procedure's place among the patient's: pseudonymised ids reveal no row id."""
    return f"{ctx.key}-p{number}" if ctx.pseudonymised else f"procedure-{procedure.data['id']}"


def procedure_entry(ctx: _Context, procedure: ProcedureRecord, pid: str, url: str) -> str:
    p = procedure.data
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
        *_lesion_staging_notes(p),
    ]
    code = _PROCEDURE_CODES.get(p["procedure_type"]) or _code(
        p["procedure_type"], p["procedure_type"]
    )
    parts = [
        _PROCEDURE_META,
        ',"status":"completed","code":',
        code,
        ',"subject":',
        ctx.subject,
        ',"performedDateTime":',
        ctx.date(p["procedure_date"]),
    ]
    if location:
        parts += [',"bodySite":[{"text":', _q(location), "}]"]
    if procedure.operators:
        parts += [
            ',"performer":',
            _json([{"actor": {"display": name}} for name in procedure.operators]),
        ]
    parts += [
        ',"usedCode":[{"text":',
        _q(f"{p['device_manufacturer']} {p['device_model']}"),
        '}],"note":',
        _json([{"text": text} for text in notes]),
    ]
    return _entry("Procedure", pid, "".join(parts), url)


def _lesion_staging_notes(p: dict) -> list[str]:
    """The lesion's SINS, derived by the registry's own rule, its Bilsky grade and whether it
    was irradiated before."""
    lesion = Lesion(
        spinal_levels=p["lesion_spinal_levels"],
        lesion_type=p["lesion_lesion_type"],
        **{name: p[f"lesion_{name}"] for name in Lesion.SINS_FIELDS},
    )
    notes = []
    score = lesion.sins_score
    if score is not None:
        notes.append(f"SINS {score.total} ({score.category_label})")
    if p["lesion_bilsky_grade"]:
        notes.append(f"Bilsky grade {p['lesion_bilsky_grade']}")
    if p.get("lesion_prior_radiotherapy") == "yes":
        when = p.get("lesion_prior_radiotherapy_date")
        notes.append("Irradiated before" + (f", last on {when}" if when else ""))
    elif p.get("lesion_prior_radiotherapy") == "no":
        notes.append("Not irradiated before")
    return notes


def _answer(link_id: str, value: str) -> str:
    return '{"linkId":"' + link_id + '","answer":[{' + value + "}]}"


@lru_cache(maxsize=4_096)
def _eq5d_item(profile: tuple[int, ...]) -> str:
    """The EQ-5D-5L answers group of a profile (3,125 possible, a few hundred in practice)."""
    levels = ",".join(
        _answer(name, f'"valueInteger":{level}')
        for name, level in zip(_EQ5D_LINKS, profile, strict=True)
    )
    return '{"linkId":"eq5d5l","item":[' + levels + "]}"


@lru_cache(maxsize=4_096)
def _analgesic_answer(drug, dose, unit, route, doses_per_day, as_needed) -> str:
    """An analgesic as taken, in words (most patients share a few regimens: cached)."""
    frequency = "" if doses_per_day is None else f", {float(doses_per_day):g} times a day"
    text = f"{drug} {float(dose):g} {unit} {route}{frequency}"
    if as_needed:
        text += " as needed"
    return '"valueString":' + _q(text)


def _observation(oid: str, code: str, about: tuple[str, str], value: str) -> str:
    """``about`` is what the observations of one assessment share (see ``_about``)."""
    url = _full_url("Observation", oid)
    return (
        f'{{"fullUrl":"{url}","resource":{{"resourceType":"Observation","id":{_q(oid)},'
        f'{_OBSERVATION_HEAD},"code":{code}{about[0]}{value}{about[1]}}}}}'
    )


def _about(ctx: _Context, when: str, procedure_ref: str, answers_ref: str) -> tuple[str, str]:
    """The members around an observation's value: subject, procedure, date | derivedFrom."""
    return (
        f',"subject":{ctx.subject},"partOf":[{procedure_ref}],"effectiveDateTime":{when},',
        f',"derivedFrom":[{answers_ref}]',
    )


def assessment_entries(
    ctx: _Context, procedure_id: str, procedure_ref: str, assessment: AssessmentRecord
) -> list[str]:
    """The QuestionnaireResponse of one completed assessment and the scores derived from it."""
    a = assessment.data
    aid = f"{procedure_id}-{a['timepoint']}"
    when = ctx.date(a["assessed_on"])
    # Item texts live in the Questionnaire (QUESTIONNAIRE); answers carry linkIds only,
    # which keeps a 100,000-procedure bundle to a manageable size.
    items = [
        _answer("timepoint", '"valueString":' + _q(a["timepoint"])),
        _answer("reported_by", '"valueString":' + _q(a["reported_by"])),
    ]
    if a["outside_window"]:
        # Recorded outside the time point's window (docs/audit.md): a receiver must not take
        # these answers as that time point's outcome. Sent only when true, as no_analgesics.
        items.append(_answer("outside_window", '"valueBoolean":true'))
    for key in ("pain_worst", "pain_average"):
        if a[key] is not None:
            items.append(_answer(key, f'"valueInteger":{int(a[key])}'))
    profile = assessment.eq5d_profile
    if profile:
        items.append(_eq5d_item(profile))
    if a["eq5d_vas"] is not None:
        items.append(_answer("eq5d_vas", f'"valueInteger":{int(a["eq5d_vas"])}'))
    for group, links in (("odi", _ODI_LINKS), ("bpi", _BPI_LINKS)):
        answers = [_answer(k, f'"valueInteger":{int(a[k])}') for k in links if a[k] is not None]
        if answers:
            items.append('{"linkId":"' + group + '","item":[' + ",".join(answers) + "]}")
    if a["no_analgesics"]:
        items.append(_answer("no_analgesics", '"valueBoolean":true'))
    for number, drug in enumerate(assessment.analgesics, start=1):
        answer = _analgesic_answer(*drug)
        items.append('{"linkId":"analgesic-' + str(number) + '","answer":[{' + answer + "}]}")
    response_id = f"{aid}-answers"
    response_url = _full_url("QuestionnaireResponse", response_id)
    # The patient as the source of the answers they reported (staff are not in the bundle).
    source = f',"source":{ctx.subject}' if a["reported_by"] == c.ReportedBy.PATIENT else ""
    entries = [
        _entry(
            "QuestionnaireResponse",
            response_id,
            f'{_QUESTIONNAIRE_HEAD},"subject":{ctx.subject},"authored":{when}{source},'
            f'"partOf":[{procedure_ref}],"item":[{",".join(items)}]',
            response_url,
        )
    ]
    about = _about(ctx, when, procedure_ref, _ref_json(response_url))
    if a["pain_worst"] is not None:
        value = f'"valueInteger":{int(a["pain_worst"])}'
        entries.append(_observation(f"{aid}-pain-worst", _PAIN_CODE, about, value))
    if profile:
        if assessment.eq5d_index is None:
            value = _EQ5D_NOT_SCORED
        else:
            index = round(assessment.eq5d_index, 3)
            value = f'"valueQuantity":{{"value":{index!r}' + _EQ5D_METHOD
        entries.append(_observation(f"{aid}-eq5d-index", _EQ5D_CODE, about, value))
    if a["eq5d_vas"] is not None:
        value = f'"valueInteger":{int(a["eq5d_vas"])}'
        entries.append(_observation(f"{aid}-eq-vas", _VAS_CODE, about, value))
    scored = (assessment.odi(), assessment.bpi_severity(), assessment.bpi_interference())
    for (name, code, method), score in zip(_SCORES, scored, strict=True):
        if score is not None:
            value = f'"valueQuantity":{{"value":{round(score, 2)!r}' + method
            entries.append(_observation(f"{aid}-{name}", code, about, value))
    ome = assessment.ome()
    if ome is not None:
        value = f'"valueQuantity":{{"value":{round(ome.total_mg_per_day, 2)!r}' + _OME_METHOD
        if ome.not_convertible:
            note = "Lower bound: not convertible: " + "; ".join(
                f"{x.entry.drug} {x.entry.route}" for x in ome.not_convertible
            )
            value += ',"note":' + _json([{"text": note}])
        entries.append(_observation(f"{aid}-ome", _OME_CODE, about, value))
    return entries


def adverse_event_entry(ctx: _Context, procedure_id: str, event: dict, number: int) -> str:
    label = EVENT_TYPES.get(event["event_type"], event["event_type"])
    event_code = _local(event["event_type"], label)
    if not ctx.pseudonymised:
        # R4 AdverseEvent has no description element: the free text goes in event.text, and
        # only in identifiable exports (free text may identify the patient).
        event_code["text"] = f"{label}: {event['description']}"
    outcome = {
        "coding": [
            {"system": _OUTCOME_SYSTEM, "code": EVENT_OUTCOME.get(event["outcome"], "unknown")}
        ]
    }
    body = (
        '"actuality":"actual","event":'
        + _json(event_code)
        + ',"subject":'
        + ctx.subject
        + ',"date":'
        + ctx.date(event["onset_date"])
        + ',"severity":'
        + _SEVERITY[event["severity"]]
        + ',"outcome":'
        + _json(outcome)
        + ',"suspectEntity":[{"instance":'
        + _ref_json(_full_url("Procedure", procedure_id))
        + "}]"
    )
    if event["yellow_card_reference"]:
        reference = {
            "system": "https://yellowcard.mhra.gov.uk",
            "value": event["yellow_card_reference"],
        }
        body += ',"identifier":' + _json(reference)
    return _entry("AdverseEvent", f"{procedure_id}-event-{number}", body)


def patient_entries(patient: PatientRecord, pseudonymised: bool) -> list[str]:
    """Every bundle entry of one patient, as JSON text, in bundle order."""
    ctx = _Context(patient, pseudonymised)
    entries = [patient_entry(ctx)]
    for number, consent in enumerate(patient.consents, start=1):
        entries.append(consent_entry(ctx, consent, number))
    for number, procedure in enumerate(patient.procedures, start=1):
        pid = procedure_id(ctx, procedure, number)
        procedure_url = _full_url("Procedure", pid)
        entries.append(procedure_entry(ctx, procedure, pid, procedure_url))
        procedure_ref = _ref_json(procedure_url)
        for assessment in procedure.assessments:
            if assessment.done:
                entries += assessment_entries(ctx, pid, procedure_ref, assessment)
        for event_number, event in enumerate(procedure.events, start=1):
            entries.append(adverse_event_entry(ctx, pid, event, event_number))
    return entries


WRITE_BLOCK_CHARS = 1 << 20  # text handed to the writer thread at a time (about 1 MB)


def write_bundle(
    out: TextIO, patients: Iterable[PatientRecord], pseudonymised: bool
) -> tuple[int, int]:
    """Stream a Bundle JSON document to ``out``; return (patients, procedures) written.

    One entry a line, built a patient at a time. A large bundle is gigabytes: the writes
    (encoding and the kernel's copy, which release the GIL) run in a helper thread while
    the next patients are built, one block of about a megabyte at a time, in order.
    """
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    bundle_id = str(uuid.uuid4())
    header = {"resourceType": "Bundle", "id": bundle_id, "type": "collection", "timestamp": stamp}
    block = [_json(header)[:-1] + ',"entry":[']
    size = 0
    separator = "\n"
    patient_count = procedure_count = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundle-writer") as writer:
        pending = None
        for patient in patients:
            patient_count += 1
            procedure_count += len(patient.procedures)
            text = separator + ",\n".join(patient_entries(patient, pseudonymised))
            separator = ",\n"
            block.append(text)
            size += len(text)
            if size >= WRITE_BLOCK_CHARS:
                if pending is not None:
                    pending.result()  # one block in flight at most: memory stays flat
                pending = writer.submit(out.write, "".join(block))
                block, size = [], 0
        if pending is not None:
            pending.result()
    block.append("\n]}\n")
    out.write("".join(block))
    return patient_count, procedure_count
