"""What a spinal oncology MDT records: hospital number (MRN), ECOG performance status, the
SINS components (scored by the core) and the Bilsky grade, through pages, API, import,
exports, the audit trail and the audit's cohort filter."""

import csv
import hashlib
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import VALID_NHS_NUMBERS, login, make_user
from thermablate.audit import queries
from thermablate.audit.exports.csv_export import write_csv
from thermablate.audit.exports.fhir_bundle import write_bundle
from thermablate.audit.exports.records import patient_records
from thermablate.registry import actions, api, forms, imports
from thermablate.registry import declarations as d
from thermablate.registry.fields import identifier_hash
from thermablate.registry.models import ApiToken, AuditEvent, Lesion, MdtDecisionRecord, Patient

MRN = "RX-0042817"
CYCLES = [{"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}]

# T6, lytic: semi-rigid 1 + mechanical pain 3 + lytic 2 + normal alignment 0 + <50 % collapse 2
# + unilateral 1 = 9, indeterminate (Fisher et al., Spine 2010;35(22):E1221-E1229).
SINS_ANSWERS = {
    "sins_pain": "mechanical",
    "sins_alignment": "normal",
    "sins_collapse": "under_50",
    "sins_posterolateral": "unilateral",
}


@pytest.fixture
def mrn_patient(coordinator, site_a):
    return actions.create_patient(
        site=site_a,
        acting_user=coordinator,
        nhs_number=VALID_NHS_NUMBERS[1],
        mrn=MRN,
        year_of_birth=1961,
        sex="male",
    )


@pytest.fixture
def staged_lesion(mrn_patient, clinician):
    return actions.add_lesion(
        mrn_patient,
        acting_user=clinician,
        spinal_levels="T6",
        diagnosis="spinal_metastasis",
        primary_tumour="lung",
        lesion_type="lytic",
        bilsky_grade="1b",
        **SINS_ANSWERS,
    )


def _token(user, name="feed"):
    raw = f"tb_test_token_{name}_0123456789abcdef"
    ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        scope=ApiToken.Scope.READ_WRITE,
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post_json(client, url, data, auth):
    return client.post(url, data=data, content_type="application/json", **auth)


# ---- declarations: every consumer carries the new fields without a hand edit ---------------

NEW_FIELDS = {
    d.PATIENT: ("mrn",),
    d.LESION: (
        "sins_pain",
        "sins_alignment",
        "sins_collapse",
        "sins_posterolateral",
        "bilsky_grade",
    ),
    d.MDT_DECISION: ("ecog_performance_status",),
}


@pytest.mark.parametrize("record", list(NEW_FIELDS), ids=lambda r: r.model.__name__)
def test_the_new_fields_are_in_the_page_forms_and_api_schemas(record):
    form = {d.PATIENT: forms.PatientForm, d.LESION: forms.LesionForm}.get(
        record, forms.MdtDecisionForm
    )
    api_in = {d.PATIENT: api.PatientIn, d.LESION: api.LesionIn}.get(record, api.MdtIn)
    for name in NEW_FIELDS[record]:
        assert name in form._meta.fields
        assert name in api_in.model_fields
    if record is not d.MDT_DECISION:
        api_out = {d.PATIENT: api.PatientOut, d.LESION: api.LesionOut}[record]
        assert set(NEW_FIELDS[record]) <= set(api_out.model_fields)


def test_the_mrn_is_an_identifier_and_the_staging_is_exported():
    assert "mrn" in d.PATIENT.identifiers and "mrn" not in d.PATIENT.exported
    assert set(NEW_FIELDS[d.LESION]) <= set(d.LESION.exported)
    assert "ecog_performance_status" in d.MDT_DECISION.exported


def test_the_patient_import_reads_an_mrn_column(coordinator, site_a):
    text = f"nhs_number,mrn,year_of_birth,sex\n{VALID_NHS_NUMBERS[2]}, rx-77 ,1950,female\n"
    report = imports.import_patients(
        csv.DictReader(io.StringIO(text)), site=site_a, acting_user=coordinator
    )
    assert report.ok, report.errors
    assert Patient.objects.get().mrn == "RX-77"


def test_the_patient_import_refuses_a_bad_mrn_and_saves_nothing(coordinator, site_a):
    text = f"nhs_number,mrn,year_of_birth,sex\n{VALID_NHS_NUMBERS[2]},RX 77,1950,female\n"
    report = imports.import_patients(
        csv.DictReader(io.StringIO(text)), site=site_a, acting_user=coordinator
    )
    assert not report.ok
    assert "hospital number" in report.errors[0][1]
    assert not Patient.objects.exists()


# ---- MRN: encrypted, validated, unique per site ---------------------------------------------


def test_it_registers_an_mrn_trimmed_in_capitals_and_encrypted_at_rest(client, coordinator):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {
            "nhs_number": VALID_NHS_NUMBERS[0],
            "mrn": "  rx-0042817 ",
            "year_of_birth": 1950,
            "sex": "male",
        },
    )
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.mrn == MRN
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mrn, mrn_hash FROM {Patient._meta.db_table} WHERE id = %s", [patient.pk]
        )
        stored, stored_hash = cursor.fetchone()
    assert stored.startswith("fernet:") and MRN not in stored
    assert stored_hash == identifier_hash(MRN)


@pytest.mark.parametrize(
    "bad",
    ["RX 0042", "RX_0042", "ＲＸ００４２", "RX٠٤٢", "A" * 21, "RX/42", "Émile-1"],
    ids=["space", "underscore", "full-width", "arabic-digits", "too-long", "slash", "accent"],
)
def test_it_refuses_an_mrn_that_is_not_ascii_letters_digits_or_hyphens(client, coordinator, bad):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": VALID_NHS_NUMBERS[0], "mrn": bad, "year_of_birth": 1950, "sex": "male"},
    )
    assert response.status_code == 200
    assert "Enter the hospital number as 1 to 20 letters" in response.content.decode()
    assert not Patient.objects.exists()


def test_the_mrn_is_optional_and_many_patients_may_have_none(coordinator, site_a):
    for nhs_number in VALID_NHS_NUMBERS[:3]:
        actions.create_patient(
            site=site_a,
            acting_user=coordinator,
            nhs_number=nhs_number,
            year_of_birth=1950,
            sex="female",
        )
    assert Patient.objects.filter(mrn_hash="").count() == 3


def test_the_same_mrn_is_refused_at_one_site_and_allowed_at_another(
    client, coordinator, outsider, mrn_patient
):
    login(client, coordinator)
    response = client.post(
        reverse("patient_create"),
        {
            "nhs_number": VALID_NHS_NUMBERS[2],
            "mrn": MRN.lower(),
            "year_of_birth": 1950,
            "sex": "male",
        },
    )
    assert response.status_code == 200
    assert "hospital number is already registered at this site" in response.content.decode()
    assert Patient.objects.count() == 1
    login(client, outsider)
    response = client.post(
        reverse("patient_create"),
        {"nhs_number": VALID_NHS_NUMBERS[2], "mrn": MRN, "year_of_birth": 1950, "sex": "male"},
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_the_audit_trail_never_holds_the_mrn_in_clear(coordinator, mrn_patient):
    actions.update_patient(mrn_patient, acting_user=coordinator, mrn="RX-1")
    entries = AuditEvent.objects.filter(model="patient", object_id=str(mrn_patient.pk))
    text = json.dumps(list(entries.values_list("changes", flat=True)))
    assert MRN not in text and "RX-1" not in text
    assert identifier_hash(MRN) not in text
    update = entries.get(action="update")
    assert update.changes["mrn"] == {"old": "[redacted]", "new": "[redacted]"}


# ---- MRN: shown only to roles that may see identifiers, and every showing recorded ----------


def test_the_patient_page_shows_the_mrn_and_records_that_it_was_shown(
    client, coordinator, mrn_patient
):
    login(client, coordinator)
    page = client.get(reverse("patient_detail", args=[mrn_patient.registry_number]))
    assert MRN in page.content.decode()
    entry = AuditEvent.objects.filter(action="view", actor=coordinator).latest("id")
    assert entry.changes == {"shown": ["nhs_number", "mrn"], "via": "patient page"}


def test_a_patient_without_an_mrn_is_recorded_as_shown_the_nhs_number_only(
    client, coordinator, patient
):
    login(client, coordinator)
    client.get(reverse("patient_detail", args=[patient.registry_number]))
    entry = AuditEvent.objects.filter(action="view", actor=coordinator).latest("id")
    assert entry.changes["shown"] == ["nhs_number"]


def test_an_analyst_sees_no_mrn_on_the_page(client, analyst, mrn_patient):
    login(client, analyst)
    page = client.get(reverse("patient_detail", args=[mrn_patient.registry_number]))
    assert page.status_code == 200
    assert MRN not in page.content.decode()
    assert not AuditEvent.objects.filter(action="view", actor=analyst).exists()


def test_the_api_returns_the_mrn_to_a_clinician_and_records_it(client, clinician, mrn_patient):
    auth = _token(clinician)
    body = client.get(f"/api/patients/{mrn_patient.registry_number}", **auth).json()
    assert body["mrn"] == MRN
    entry = AuditEvent.objects.filter(action="view", actor=clinician).latest("id")
    assert entry.changes == {"shown": ["nhs_number", "mrn"], "via": "api"}


def test_the_api_hides_the_mrn_from_an_analyst(client, analyst, mrn_patient):
    auth = _token(analyst, "analysis")
    body = client.get(f"/api/patients/{mrn_patient.registry_number}", **auth).json()
    assert body["mrn"] is None and body["nhs_number"] is None
    listed = client.get("/api/patients", **auth).json()
    assert MRN not in json.dumps(listed)


def test_the_api_registers_a_patient_with_an_mrn_and_refuses_a_bad_one(client, clinician):
    auth = _token(clinician)
    good = {
        "nhs_number": VALID_NHS_NUMBERS[3],
        "mrn": "ab-12",
        "year_of_birth": 1970,
        "sex": "female",
    }
    response = _post_json(client, "/api/patients", good, auth)
    assert response.status_code == 201, response.content
    assert response.json()["mrn"] == "AB-12"
    bad = {**good, "nhs_number": VALID_NHS_NUMBERS[4], "mrn": "AB 12"}
    response = _post_json(client, "/api/patients", bad, auth)
    assert response.status_code == 422
    assert "mrn" in response.json()["errors"]
    assert Patient.objects.count() == 1


def test_it_finds_a_patient_by_mrn_and_records_how(client, coordinator, mrn_patient, patient):
    login(client, coordinator)
    page = client.post(reverse("patient_list"), {"q": " rx-0042817 "}).content.decode()
    assert mrn_patient.registry_number in page
    assert patient.registry_number not in page
    entry = AuditEvent.objects.get(action="search", actor=coordinator)
    assert entry.changes == {"found_by": "mrn"}
    assert entry.patient == mrn_patient


def test_an_analyst_cannot_find_a_patient_by_mrn(client, analyst, mrn_patient):
    login(client, analyst)
    page = client.post(reverse("patient_list"), {"q": MRN}).content.decode()
    assert mrn_patient.registry_number not in page
    assert not AuditEvent.objects.filter(action="search").exists()


# ---- MRN in the exports -----------------------------------------------------------------------


def _bundle(pseudonymised: bool) -> str:
    out = io.StringIO()
    write_bundle(
        out,
        patient_records(Patient.objects.all(), with_identifiers=not pseudonymised),
        pseudonymised,
    )
    return out.getvalue()


def _csv(pseudonymised: bool) -> str:
    out = io.StringIO()
    write_csv(
        out,
        patient_records(Patient.objects.all(), with_identifiers=not pseudonymised),
        pseudonymised,
    )
    return out.getvalue()


def test_an_identifiable_fhir_bundle_carries_the_mrn_as_a_hospital_identifier(
    mrn_patient, staged_lesion, clinician
):
    from tests.factories import procedure_fields

    actions.record_procedure(
        mrn_patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        **procedure_fields(staged_lesion, levels_treated="T6"),
    )
    bundle = json.loads(_bundle(pseudonymised=False))
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    hospital = [i for i in patient["identifier"] if i.get("type")]
    assert hospital == [
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": f"https://thermablate.org/fhir/Id/hospital-number/{mrn_patient.site.code}",
            "value": MRN,
        }
    ]
    procedure = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure"
    )
    notes = [n["text"] for n in procedure["note"]]
    assert "SINS 9 (Indeterminate (possibly impending instability))" in notes
    assert "Bilsky grade 1b" in notes


def test_pseudonymised_exports_never_carry_the_mrn(mrn_patient, staged_lesion, clinician):
    from tests.factories import procedure_fields

    actions.record_procedure(
        mrn_patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        **procedure_fields(staged_lesion, levels_treated="T6"),
    )
    assert MRN not in _bundle(pseudonymised=True)
    pseudonymised_csv = _csv(pseudonymised=True)
    assert MRN not in pseudonymised_csv
    header = next(csv.reader(io.StringIO(pseudonymised_csv)))
    # The lesion's staging is exported (coded, not identifying).
    assert {"lesion_sins_pain", "lesion_bilsky_grade"} <= set(header)


# ---- SINS and Bilsky on the lesion; ECOG on the MDT decision ---------------------------------


def test_the_lesion_page_records_the_components_and_the_patient_page_shows_the_sins(
    client, clinician, mrn_patient
):
    login(client, clinician)
    response = client.post(
        reverse("lesion_create", args=[mrn_patient.registry_number]),
        {
            "spinal_levels": "T6",
            "diagnosis": "spinal_metastasis",
            "lesion_type": "lytic",
            "posterior_wall_intact": "unknown",
            "bilsky_grade": "1b",
            **SINS_ANSWERS,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lesion = Lesion.objects.get()
    assert lesion.sins_score.total == 9 and lesion.sins_score.category == "indeterminate"
    page = client.get(reverse("patient_detail", args=[mrn_patient.registry_number]))
    text = page.content.decode()
    assert "9/18, indeterminate (possibly impending instability)" in text
    assert "1b" in text


def test_a_lesion_with_a_component_unanswered_is_not_scored(staged_lesion):
    staged_lesion.sins_collapse = ""
    assert staged_lesion.sins_score is None


def test_sins_follows_the_level_location_is_never_typed(staged_lesion):
    staged_lesion.spinal_levels = "T11"  # junctional: 3 instead of semi-rigid 1
    assert staged_lesion.sins_score.total == 11
    staged_lesion.lesion_type = "sclerotic"  # blastic: 0 instead of lytic 2
    assert staged_lesion.sins_score.total == 9


def test_a_lesion_outside_the_spine_refuses_sins_and_bilsky(clinician, mrn_patient):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        actions.add_lesion(
            mrn_patient,
            acting_user=clinician,
            bone_site="femur",
            diagnosis="bone_metastasis",
            lesion_type="lytic",
            sins_pain="mechanical",
            bilsky_grade="2",
        )
    assert set(refused.value.message_dict) == {"sins_pain", "bilsky_grade"}
    assert not Lesion.objects.exists()


def test_an_unknown_sins_answer_or_bilsky_grade_is_refused_by_the_api(
    client, clinician, mrn_patient
):
    auth = _token(clinician)
    url = f"/api/patients/{mrn_patient.registry_number}/lesions"
    base = {"spinal_levels": "T6", "diagnosis": "spinal_metastasis", "lesion_type": "lytic"}
    assert _post_json(client, url, {**base, "sins_pain": "severe"}, auth).status_code == 422
    assert _post_json(client, url, {**base, "bilsky_grade": "4"}, auth).status_code == 422
    response = _post_json(client, url, {**base, **SINS_ANSWERS, "bilsky_grade": "1c"}, auth)
    assert response.status_code == 201
    assert response.json()["bilsky_grade"] == "1c"
    assert response.json()["sins_pain"] == "mechanical"


def test_the_mdt_page_records_ecog_and_the_timeline_shows_it_with_the_staging(
    client, clinician, mrn_patient, staged_lesion, today
):
    login(client, clinician)
    response = client.post(
        reverse("mdt_create", args=[mrn_patient.registry_number]),
        {
            "meeting_date": today.isoformat(),
            "lesion": staged_lesion.pk,
            "member_roles": ["interventional_radiologist", "spinal_surgeon"],
            "decision": "proceed",
            "ecog_performance_status": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MdtDecisionRecord.objects.get().ecog_performance_status == 2
    page = client.get(reverse("patient_detail", args=[mrn_patient.registry_number]))
    timeline = page.content.decode().split('id="timeline"')[1]
    assert "ECOG performance status 2" in timeline
    assert "T6: SINS 9, indeterminate (possibly impending instability); Bilsky grade 1b" in timeline


@pytest.mark.parametrize("ecog", [6, -1, 9])
def test_ecog_outside_0_to_5_is_refused(client, clinician, mrn_patient, today, ecog):
    auth = _token(clinician)
    response = _post_json(
        client,
        f"/api/patients/{mrn_patient.registry_number}/mdt-decisions",
        {
            "meeting_date": today.isoformat(),
            "member_roles": ["interventional_radiologist", "spinal_surgeon"],
            "decision": "proceed",
            "ecog_performance_status": ecog,
        },
        auth,
    )
    assert response.status_code == 422
    assert not MdtDecisionRecord.objects.exists()


@pytest.mark.parametrize("ecog", [0, 5])
def test_ecog_0_and_5_are_accepted(clinician, mrn_patient, today, ecog):
    record = actions.record_mdt_decision(
        mrn_patient,
        acting_user=clinician,
        meeting_date=today,
        member_roles=["interventional_radiologist", "spinal_surgeon"],
        decision="proceed",
        ecog_performance_status=ecog,
    )
    assert record.ecog_performance_status == ecog


# ---- the audit's cohort filter ----------------------------------------------------------------


@pytest.fixture
def two_staged_procedures(mrn_patient, staged_lesion, clinician, today):
    from tests.factories import procedure_fields

    stable = actions.add_lesion(
        mrn_patient,
        acting_user=clinician,
        spinal_levels="T8",
        diagnosis="spinal_metastasis",
        lesion_type="sclerotic",
        bilsky_grade="0",
        sins_pain="pain_free",
        sins_alignment="normal",
        sins_collapse="none",
        sins_posterolateral="none",
    )  # 1 + 0 + 0 + 0 + 0 + 0 = 1, stable
    made = {}
    for lesion in (staged_lesion, stable):
        made[lesion.spinal_levels] = actions.record_procedure(
            mrn_patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(
                lesion,
                levels_treated=lesion.spinal_levels,
                procedure_date=today - timedelta(days=10),
            ),
        )
    return made


def test_the_cohort_filters_by_the_treated_lesions_sins_category(site_a, two_staged_procedures):
    indeterminate = queries.CohortFilter(site=site_a, sins_category="indeterminate")
    assert list(queries.procedures_in(indeterminate)) == [two_staged_procedures["T6"]]
    stable = queries.CohortFilter(site=site_a, sins_category="stable")
    assert list(queries.procedures_in(stable)) == [two_staged_procedures["T8"]]
    unstable = queries.CohortFilter(site=site_a, sins_category="unstable")
    assert not queries.procedures_in(unstable).exists()
    assert "indeterminate" in indeterminate.describe().lower()


def test_the_cohort_filters_by_bilsky_grade(site_a, two_staged_procedures):
    cohort = queries.CohortFilter(site=site_a, bilsky_grade="1b")
    assert list(queries.procedures_in(cohort)) == [two_staged_procedures["T6"]]
    assert "Bilsky grade 1b" in cohort.describe()


def test_the_dashboard_offers_and_applies_the_staging_filters(
    client, governance, two_staged_procedures
):
    login(client, governance)
    page = client.get(reverse("audit_dashboard"), {"bilsky_grade": "0"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="sins_category"' in text and 'name="bilsky_grade"' in text
    assert "Bilsky grade 0" in text  # the cohort description names the filter


def test_the_summaries_follow_the_staging_filters(site_a, two_staged_procedures, today):
    from thermablate.audit import aggregates

    cohort = queries.CohortFilter(site=site_a, sins_category="stable")
    assert aggregates.figures(cohort, today).size.procedures == 1
    everyone = queries.CohortFilter(site=site_a)
    assert aggregates.figures(everyone, today).size.procedures == 2


def test_an_analyst_cannot_be_made_to_see_identifiers(site_a):
    # The analyst role's permissions exclude identifiers (registry.roles): the MRN rides on it.
    analyst = make_user(site_a, "analyst", "ana2")
    assert not analyst.has_perm("registry.view_identifiers")
