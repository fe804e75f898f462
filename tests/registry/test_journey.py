"""Each step of the journey through its web page, with the refusals the issue names."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import login
from thermablate.clinical import eq5d
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Procedure,
)

pytestmark = pytest.mark.usefixtures("approved_site")


def lesion_post(**overrides):
    data = {
        "spinal_levels": "T12-L1",
        "bone_site": "",
        "diagnosis": "spinal_metastasis",
        "primary_tumour": "lung",
        "lesion_type": "lytic",
        "size_mm": "30",
        "posterior_wall_intact": "false",
        "distance_to_neural_mm": "4",
        "pain_at_site": "8",
    }
    data.update(overrides)
    return data


def test_it_records_a_lesion_over_contiguous_levels(client, coordinator, patient):
    login(client, coordinator)
    response = client.post(reverse("lesion_create", args=[patient.registry_number]), lesion_post())
    assert response.status_code == 302
    lesion = Lesion.objects.get()
    assert lesion.level_list == ["T12", "L1"]
    assert lesion.posterior_wall_intact is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"spinal_levels": "L7"}, "unknown spinal level"),
        ({"spinal_levels": "L1,L3"}, "not contiguous"),
        ({"spinal_levels": "", "bone_site": ""}, "either the spinal level"),
        ({"pain_at_site": "11"}, "less than or equal to 10"),
        ({"size_mm": "-3"}, "greater than or equal to 0.1"),
    ],
)
def test_it_refuses_a_bad_lesion(client, coordinator, patient, overrides, message):
    login(client, coordinator)
    response = client.post(
        reverse("lesion_create", args=[patient.registry_number]), lesion_post(**overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Lesion.objects.exists()


def test_it_records_an_mdt_decision_and_needs_two_specialties(
    client, coordinator, patient, lesion, today
):
    login(client, coordinator)
    url = reverse("mdt_create", args=[patient.registry_number])
    data = {
        "meeting_date": today.isoformat(),
        "lesion": lesion.pk,
        "decision": "proceed",
        "reasons": "Refractory pain",
    }
    one = client.post(url, {**data, "member_roles": ["spinal_surgeon"]})
    assert "at least two specialties" in one.content.decode()
    assert not MdtDecisionRecord.objects.exists()
    two = client.post(url, {**data, "member_roles": ["spinal_surgeon", "clinical_oncologist"]})
    assert two.status_code == 302
    assert MdtDecisionRecord.objects.get().member_roles == ["spinal_surgeon", "clinical_oncologist"]


def test_it_records_consent_with_the_leaflet_version(client, coordinator, patient, today):
    login(client, coordinator)
    response = client.post(
        reverse("consent_create", args=[patient.registry_number]),
        {
            "consent_date": today.isoformat(),
            "leaflet_title": "RF ablation of spinal metastases",
            "leaflet_version": "3",
            "nice_information_offered": "on",
            "uncertainties_discussed": "on",
            "registry_audit_consent": "on",
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.leaflet_version == "3" and consent.uncertainties_discussed


def procedure_post(lesion, operator, **overrides):
    data = {
        "lesion": lesion.pk,
        "procedure_date": "2026-01-15",
        "operators": [operator.pk],
        "procedure_type": "rfa_kyphoplasty",
        "setting": "inpatient",
        "anaesthesia": "general",
        "approach": "transpedicular",
        "access": "percutaneous",
        "image_guidance": ["fluoroscopy", "ct"],
        "device_manufacturer": "Merit Medical",
        "device_model": "STAR",
        "device_lot": "",
        "polarity": "bipolar",
        "active_tip_mm": "20",
        "biopsy_taken": "on",
        "cement": "kyphoplasty",
        "cement_volume_ml": "4.5",
        "thermal_protection": ["thermocouple"],
        "levels_treated": "L2",
        "duration_min": "90",
        "post_imaging": "ct",
        "notes": "",
        "cycles-TOTAL_FORMS": "3",
        "cycles-INITIAL_FORMS": "0",
        "cycles-MIN_NUM_FORMS": "1",
        "cycles-MAX_NUM_FORMS": "1000",
        "cycles-0-target_temp_c": "90",
        "cycles-0-time_at_target_s": "240",
        "cycles-0-power_w": "15",
        "cycles-1-target_temp_c": "",
        "cycles-1-time_at_target_s": "",
        "cycles-1-power_w": "",
        "cycles-2-target_temp_c": "",
        "cycles-2-time_at_target_s": "",
        "cycles-2-power_w": "",
    }
    data.update(overrides)
    return data


def test_it_records_a_procedure_with_cycles_and_creates_the_follow_up_schedule(
    client, clinician, patient, lesion, decided
):
    login(client, clinician)
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, clinician),
    )
    procedure = Procedure.objects.get()
    assert response.status_code == 302
    assert list(procedure.operators.all()) == [clinician]
    assert procedure.cycles.get().target_temp_c == 90
    assert list(procedure.assessments.values_list("timepoint", flat=True)) == [
        "baseline",
        "1w",
        "1m",
        "3m",
        "6m",
        "12m",
    ]
    month = procedure.assessments.get(timepoint="1m")
    assert (month.window_opens - procedure.procedure_date).days == 21
    assert (month.window_closes - procedure.procedure_date).days == 42
    page = client.get(response["Location"]).content.decode()
    assert "4.5 ml" in page and "Balloon kyphoplasty" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cycles-0-target_temp_c": "150"}, "less than or equal to 100"),
        ({"cement_volume_ml": "-1"}, "greater than or equal to 0"),
        ({"levels_treated": "L9"}, "unknown spinal level"),
        ({"cement": "none", "cement_volume_ml": ""}, "This procedure includes balloon kyphoplasty"),
        (
            {"cycles-0-target_temp_c": "", "cycles-0-time_at_target_s": "", "cycles-0-power_w": ""},
            "at least 1",
        ),
        ({"image_guidance": []}, "This field is required"),
    ],
)
def test_it_refuses_a_bad_procedure_and_saves_nothing(
    client, clinician, patient, lesion, overrides, message
):
    login(client, clinician)
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, clinician, **overrides),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Procedure.objects.exists()
    assert not AblationCycle.objects.exists()
    assert not Assessment.objects.exists()


def test_it_refuses_a_procedure_dated_in_the_future(client, clinician, patient, lesion, today):
    login(client, clinician)
    future = (today + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, clinician, procedure_date=future),
    )
    assert "cannot be in the future" in response.content.decode()
    assert not Procedure.objects.exists()


def test_an_operator_must_be_a_clinician_of_the_site(client, clinician, outsider, patient, lesion):
    login(client, clinician)
    response = client.post(
        reverse("procedure_create", args=[patient.registry_number]),
        procedure_post(lesion, outsider),
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Procedure.objects.exists()


def assessment_post(**overrides):
    data = {
        "version": "1",  # the scheduled assessment as the page showed it
        "assessed_on": "",
        "pain_worst": "3",
        "pain_average": "2",
        "eq5d_mobility": "2",
        "eq5d_self_care": "1",
        "eq5d_usual_activities": "2",
        "eq5d_pain_discomfort": "2",
        "eq5d_anxiety_depression": "1",
        "notes": "Walking better",
        "drugs-TOTAL_FORMS": "3",
        "drugs-INITIAL_FORMS": "0",
        "drugs-MIN_NUM_FORMS": "0",
        "drugs-MAX_NUM_FORMS": "1000",
        "drugs-0-drug": "oxycodone",
        "drugs-0-dose": "10",
        "drugs-0-unit": "mg",
        "drugs-0-route": "oral",
        "drugs-0-doses_per_day": "2",
        "drugs-1-drug": "fentanyl",
        "drugs-1-dose": "12",
        "drugs-1-unit": "microgram/h",
        "drugs-1-route": "transdermal",
        "drugs-1-doses_per_day": "",
    }
    data.update(overrides)
    return data


def test_it_records_a_one_month_assessment_with_raw_answers(client, coordinator, procedure):
    login(client, coordinator)
    month = procedure.assessments.get(timepoint="1m")
    when = procedure.procedure_date + timedelta(days=30)
    response = client.post(
        reverse("assessment_record", args=[month.pk]), assessment_post(assessed_on=when.isoformat())
    )
    assert response.status_code == 302
    month.refresh_from_db()
    assert month.assessed_on == when and month.pain_worst == 3
    assert month.eq5d_profile == (2, 1, 2, 2, 1)
    drugs = {(a.drug, a.unit, a.route) for a in month.analgesics.all()}
    assert drugs == {("oxycodone", "mg", "oral"), ("fentanyl", "microgram/h", "transdermal")}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pain_worst": "11"}, "less than or equal to 10"),
        ({"pain_worst": "-1"}, "greater than or equal to 0"),
        ({"pain_worst": "3", "pain_average": "5"}, "cannot be higher than the worst"),
        ({"eq5d_self_care": ""}, "all five EQ-5D-5L questions"),
        ({"drugs-1-route": "oral"}, "microgram/hour is the dose unit of a transdermal patch"),
    ],
)
def test_it_refuses_a_bad_assessment_and_changes_nothing(
    client, coordinator, procedure, overrides, message
):
    login(client, coordinator)
    month = procedure.assessments.get(timepoint="1m")
    when = (procedure.procedure_date + timedelta(days=30)).isoformat()
    response = client.post(
        reverse("assessment_record", args=[month.pk]),
        assessment_post(assessed_on=when, **overrides),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    month.refresh_from_db()
    assert month.assessed_on is None and month.pain_worst is None
    assert not month.analgesics.exists()


def test_a_follow_up_cannot_be_dated_before_its_procedure(client, coordinator, procedure):
    login(client, coordinator)
    month = procedure.assessments.get(timepoint="1m")
    before = (procedure.procedure_date - timedelta(days=1)).isoformat()
    response = client.post(
        reverse("assessment_record", args=[month.pk]), assessment_post(assessed_on=before)
    )
    assert "cannot be dated before its procedure" in response.content.decode()
    month.refresh_from_db()
    assert month.assessed_on is None


def event_post(procedure, **overrides):
    data = {
        "procedure": procedure.pk,
        "event_type": "cement_leakage",
        "symptomatic": "false",
        "onset_date": procedure.procedure_date.isoformat(),
        "severity": "1",
        "device_related": "no",
        "outcome": "resolved",
        "description": "Small paravertebral leak on post-procedure CT",
        "yellow_card_reported_on": "",
        "yellow_card_reference": "",
    }
    data.update(overrides)
    return data


def test_it_records_an_adverse_event_with_its_yellow_card_reference(
    client, clinician, patient, procedure
):
    login(client, clinician)
    response = client.post(
        reverse("adverse_event_create", args=[patient.registry_number]),
        event_post(
            procedure,
            yellow_card_reported_on=procedure.procedure_date.isoformat(),
            yellow_card_reference="2026/001234",
        ),
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get()
    assert event.symptomatic is False and event.yellow_card_reference == "2026/001234"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"symptomatic": "unknown"}, "whether the cement leakage was symptomatic"),
        ({"severity": "6"}, "Select a valid choice"),
        ({"yellow_card_reference": "2026/1"}, "date the Yellow Card report was made"),
    ],
)
def test_it_refuses_a_bad_adverse_event(client, clinician, patient, procedure, overrides, message):
    login(client, clinician)
    response = client.post(
        reverse("adverse_event_create", args=[patient.registry_number]),
        event_post(procedure, **overrides),
    )
    assert message in response.content.decode()
    assert not AdverseEvent.objects.exists()


def test_an_adverse_event_cannot_start_before_its_procedure(client, clinician, patient, procedure):
    login(client, clinician)
    before = (procedure.procedure_date - timedelta(days=2)).isoformat()
    response = client.post(
        reverse("adverse_event_create", args=[patient.registry_number]),
        event_post(procedure, onset_date=before),
    )
    assert "cannot start before the procedure" in response.content.decode()
    assert not AdverseEvent.objects.exists()


def test_the_patient_page_shows_the_timeline_and_flags_what_is_missing(
    client, clinician, patient, procedure
):
    login(client, clinician)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    assert 'data-flag="no_consent"' in page
    assert 'data-flag="no_mdt"' in page
    assert 'data-flag="no_baseline"' in page
    assert 'data-flag="overdue"' in page  # the 1-week window (days 4-10) closed 30 days ago
    assert 'data-kind="procedure"' in page


def test_scores_are_shown_as_soon_as_an_assessment_is_saved(client, coordinator, procedure):
    login(client, coordinator)
    month = procedure.assessments.get(timepoint="1m")
    when = (procedure.procedure_date + timedelta(days=30)).isoformat()
    client.post(reverse("assessment_record", args=[month.pk]), assessment_post(assessed_on=when))
    page = client.get(reverse("assessment_record", args=[month.pk])).content.decode()
    # Oxycodone 10 mg twice a day is 30 mg oral morphine (factor 1.5, Opioids Aware), and the
    # 12 microgram/h fentanyl patch is 30 mg a day: 60 mg in all.
    assert "OME 60 mg/day" in page
    # Profile 21221 under the DSU mapping, for this patient's age at the assessment and sex.
    patient = procedure.patient
    expected = eq5d.index("21221", age=int(when[:4]) - patient.year_of_birth, sex=patient.sex)
    assert f"EQ-5D-5L index {expected:.3f}".rstrip("0") in page
    detail = client.get(reverse("procedure_detail", args=[procedure.pk])).content.decode()
    assert "NICE DSU mapping" in detail
