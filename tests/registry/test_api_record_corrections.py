"""Correcting a lesion, an MDT decision, a consent, a procedure (with its operators and
ablation cycles) and an adverse event through the API (issue 12, item 2): the same writer as
the pages, so the same reason, optimistic locking, rules, permissions and audit entry
(docs/corrections.md). As a system would: read the record, change what was wrong, send it
back with the version read and the reason."""

from datetime import date, timedelta

import pytest

from tests.factories import login
from thermablate.registry import actions
from thermablate.registry.models import Assessment, AuditEvent

REASON = "Transcribed from the wrong letter"


@pytest.fixture
def consent(patient, clinician):
    return actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=date(2024, 1, 2),
        leaflet_title="Radiofrequency ablation of spinal metastases",
        leaflet_version="1",
        uncertainties_discussed=True,
    )


@pytest.fixture
def event(procedure, clinician):
    return actions.record_adverse_event(
        procedure.patient,
        acting_user=clinician,
        procedure=procedure,
        event_type="haematoma",
        onset_date=procedure.procedure_date + timedelta(days=1),
        severity=1,
        device_related="no",
        outcome="resolved",
        description="Bruise at the entry site",
    )


# Each kind: its URL, and the one change the generic tests make (field, new value).
KINDS = {
    "lesion": ("/api/lesions/{}", "spinal_levels", "L3"),
    "mdtdecisionrecord": ("/api/mdt-decisions/{}", "reasons", "Minutes: both levels discussed"),
    "consent": ("/api/consents/{}", "leaflet_version", "2"),
    "procedure": ("/api/procedures/{}", "duration_min", 80),
    "adverseevent": ("/api/adverse-events/{}", "description", "Haematoma at the entry site"),
}


@pytest.fixture
def records(lesion, decided, consent, procedure, event):
    return {
        "lesion": lesion,
        "mdtdecisionrecord": decided,
        "consent": consent,
        "procedure": procedure,
        "adverseevent": event,
    }


def url_of(kind, record):
    return KINDS[kind][0].format(record.pk)


def read(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def put(client, url, body):
    return client.put(url, data=body, content_type="application/json")


def corrected(client, url, reason=REASON, **changes) -> dict:
    """The record as read, with ``changes``, the reason and the version read."""
    return {**read(client, url), **changes, "reason": reason}


def updates_of(record):
    """The record's corrections in the trail (a procedure's operators, as it was recorded,
    are an update without a reason)."""
    return AuditEvent.objects.filter(
        model=record._meta.model_name,
        object_id=str(record.pk),
        action="update",
        changes__has_key="reason",
    )


def stored(record):
    return type(record)._base_manager.get(pk=record.pk)


# ---- what every correction shares -----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("persona", ["clinician", "coordinator"])
def test_it_corrects_the_record_with_old_and_new_values_and_the_reason(
    client, request, records, kind, persona
):
    record, (_, field, new) = records[kind], KINDS[kind]
    user = request.getfixturevalue(persona)
    login(client, user)
    url = url_of(kind, record)
    before = read(client, url)
    assert before["version"] == 1 and before["entered_in_error"] is False
    response = put(client, url, corrected(client, url, **{field: new}))
    assert response.status_code == 200, response.content
    assert response.json()[field] == new and response.json()["version"] == 2
    assert read(client, url)[field] == new
    assert getattr(stored(record), field) == new
    entry = updates_of(record).get()
    assert entry.changes[field] == {"old": before[field], "new": new}
    assert entry.changes["reason"] == REASON and entry.actor == user


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_correction_without_a_reason_is_refused_and_saves_nothing(
    client, clinician, records, kind, reason
):
    record, (_, field, new) = records[kind], KINDS[kind]
    login(client, clinician)
    url = url_of(kind, record)
    body = corrected(client, url, **{field: new})
    if reason is None:
        del body["reason"]
    else:
        body["reason"] = reason
    response = put(client, url, body)
    assert response.status_code == 422, response.content
    assert "reason" in response.content.decode()
    assert stored(record).version == 1 and getattr(stored(record), field) != new
    assert not updates_of(record).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_correction_of_a_version_changed_since_is_refused_with_409_saying_who(
    client, clinician, coordinator, records, kind
):
    record, (_, field, new) = records[kind], KINDS[kind]
    url = url_of(kind, record)
    login(client, clinician)
    read_by_clinician = corrected(client, url, **{field: new})
    # Meanwhile the coordinator corrects another field, so the clinician's read is stale.
    login(client, coordinator)
    other_field, other_value = _other_change(kind)
    first = put(
        client,
        url,
        corrected(client, url, reason="Checked the notes", **{other_field: other_value}),
    )
    assert first.status_code == 200, first.content
    login(client, clinician)
    stale = put(client, url, read_by_clinician)
    assert stale.status_code == 409, stale.content
    detail = stale.json()["detail"]
    assert "Cora changed" in detail and other_field.removesuffix("_id") in detail
    after = stored(record)
    assert after.version == 2 and getattr(after, field) != new
    assert updates_of(record).count() == 1


def _other_change(kind):
    return {
        "lesion": ("pain_at_site", 5),
        "mdtdecisionrecord": ("ecog_performance_status", 1),
        "consent": ("leaflet_title", "RFA of the spine"),
        "procedure": ("device_lot", "LOT-42"),
        "adverseevent": ("severity", 2),
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_marked_entered_in_error_is_not_corrected(
    client, clinician, patient, records, kind
):
    """As the page: undo the mark first (actions.correct_record, actions.correct_procedure)."""
    record, (_, field, new) = records[kind], KINDS[kind]
    if kind == "lesion":  # a lesion with procedures and decisions cannot be marked
        record = actions.add_lesion(
            patient,
            acting_user=clinician,
            spinal_levels="T9",
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
        )
    actions.mark_entered_in_error(record, reason=REASON, acting_user=clinician)
    login(client, clinician)
    url = url_of(kind, record)
    body = corrected(client, url, **{field: new})
    assert body["entered_in_error"] is True and body["version"] == 2
    response = put(client, url, body)
    assert response.status_code == 422, response.content
    assert "undo the mark" in response.content.decode()
    assert stored(record).version == 2 and not updates_of(record).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_another_sites_record_is_not_found(client, clinician, outsider, records, kind):
    record, (_, field, new) = records[kind], KINDS[kind]
    url = url_of(kind, record)
    login(client, clinician)
    body = corrected(client, url, **{field: new})
    login(client, outsider)
    assert client.get(url).status_code == 404
    response = put(client, url, body)
    assert response.status_code == 404 and "your site" in response.json()["detail"]
    assert stored(record).version == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("persona", ["governance", "analyst"])
def test_the_reading_roles_read_but_may_not_correct(client, request, records, kind, persona):
    record, (_, field, new) = records[kind], KINDS[kind]
    url = url_of(kind, record)
    login(client, request.getfixturevalue(persona))
    body = corrected(client, url, **{field: new})  # they may read it
    response = put(client, url, body)
    assert response.status_code == 403, response.content
    assert stored(record).version == 1 and not updates_of(record).exists()


# ---- each record's own rules ----------------------------------------------------------------


def test_a_lesion_given_both_a_spinal_level_and_another_bone_is_refused(client, clinician, lesion):
    login(client, clinician)
    url = f"/api/lesions/{lesion.pk}"
    response = put(client, url, corrected(client, url, bone_site="Left femur"))
    assert response.status_code == 422
    assert "not both or neither" in str(response.json()["errors"]["spinal_levels"])
    assert stored(lesion).bone_site == ""


def test_an_mdt_decision_by_one_specialty_is_refused(client, clinician, decided):
    login(client, clinician)
    url = f"/api/mdt-decisions/{decided.pk}"
    response = put(client, url, corrected(client, url, member_roles=["clinical_oncologist"]))
    assert response.status_code == 422
    assert "two specialties" in str(response.json()["errors"]["member_roles"])
    assert len(stored(decided).member_roles) == 2


def test_an_mdt_decision_moved_to_another_lesion_of_the_patient(
    client, clinician, patient, decided
):
    other = actions.add_lesion(
        patient,
        acting_user=clinician,
        spinal_levels="T9",
        diagnosis="spinal_metastasis",
        lesion_type="lytic",
    )
    login(client, clinician)
    url = f"/api/mdt-decisions/{decided.pk}"
    response = put(client, url, corrected(client, url, lesion_id=other.pk))
    assert response.status_code == 200, response.content
    assert stored(decided).lesion_id == other.pk


@pytest.mark.parametrize("whose", ["another patient's", "entered in error"])
def test_an_mdt_decision_cannot_point_at_a_lesion_it_may_not(
    client, clinician, site_a, patient, decided, whose
):
    if whose == "entered in error":
        lesion = actions.add_lesion(
            patient,
            acting_user=clinician,
            spinal_levels="T9",
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
        )
        actions.mark_entered_in_error(lesion, reason=REASON, acting_user=clinician)
    else:
        other_patient = actions.create_patient(
            site=site_a,
            acting_user=clinician,
            nhs_number="9434765870",
            year_of_birth=1960,
            sex="male",
        )
        lesion = actions.add_lesion(
            other_patient,
            acting_user=clinician,
            spinal_levels="L2",
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
        )
    login(client, clinician)
    url = f"/api/mdt-decisions/{decided.pk}"
    response = put(client, url, corrected(client, url, lesion_id=lesion.pk))
    assert response.status_code == 422
    assert "lesion_id" in response.json()["errors"]
    assert stored(decided).lesion_id != lesion.pk


def test_a_consent_dated_in_the_future_is_refused(client, clinician, consent, today):
    login(client, clinician)
    url = f"/api/consents/{consent.pk}"
    tomorrow = (today + timedelta(days=1)).isoformat()
    response = put(client, url, corrected(client, url, consent_date=tomorrow))
    assert response.status_code == 422 and "consent_date" in response.json()["errors"]
    assert stored(consent).consent_date == date(2024, 1, 2)


def test_it_corrects_a_procedures_operators_and_cycles_keeping_the_old_list(
    client, clinician, coordinator, procedure
):
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    cycles = [
        {"target_temp_c": "70", "time_at_target_s": 360, "power_w": "12"},
        {"target_temp_c": "75", "time_at_target_s": 240, "power_w": None},
    ]
    body = corrected(client, url, operators=["alice", "cora"], cycles=cycles)
    response = put(client, url, body)
    assert response.status_code == 200, response.content
    out = response.json()
    assert sorted(out["operators"]) == ["alice", "cora"]
    assert [c["time_at_target_s"] for c in out["cycles"]] == [360, 240]
    assert out["version"] == 2  # operators and cycles are the procedure's record too
    entries = updates_of(procedure)
    assert entries.get(changes__has_key="operators").changes["operators"] == {
        "old": ["alice"],
        "new": ["alice", "cora"],
    }
    cycles_entry = entries.get(changes__has_key="cycles")
    assert [c["time_at_target_s"] for c in cycles_entry.changes["cycles"]["old"]] == [300]
    assert cycles_entry.changes["reason"] == REASON


def test_a_correction_of_only_the_cycles_makes_an_older_read_stale(client, clinician, procedure):
    """Optimistic locking covers the whole record: a correction that changed only the cycles
    (or operators) must still refuse a correction made from the version before it."""
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    first_read = corrected(client, url)
    cycles = [{"target_temp_c": "80", "time_at_target_s": 300, "power_w": "10"}]
    cycles_only = put(client, url, {**first_read, "cycles": cycles})
    assert cycles_only.status_code == 200 and cycles_only.json()["version"] == 2
    stale = put(client, url, {**first_read, "duration_min": 90})
    assert stale.status_code == 409, stale.content
    assert "Alice changed cycles" in stale.json()["detail"]
    after = stored(procedure)
    assert after.duration_min == 75
    assert list(after.cycles.values_list("target_temp_c", flat=True)) == [80]


def test_a_procedure_date_that_puts_a_recorded_assessment_out_of_its_window_is_refused(
    client, clinician, procedure
):
    month = procedure.assessments.get(timepoint="1m")
    actions.record_assessment(
        month,
        acting_user=clinician,
        analgesics=[],
        assessed_on=procedure.procedure_date + timedelta(days=22),
        pain_worst=3,
        pain_average=2,
        no_analgesics=True,
    )
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    earlier = (procedure.procedure_date - timedelta(days=30)).isoformat()
    response = put(client, url, corrected(client, url, procedure_date=earlier))
    assert response.status_code == 422, response.content
    assert "1 month assessment" in str(response.json()["errors"]["procedure_date"])
    after = stored(procedure)
    assert after.procedure_date == procedure.procedure_date and after.version == 1
    month_after = Assessment.objects.get(pk=month.pk)
    assert month_after.window_opens == procedure.procedure_date + timedelta(days=21)
    assert not updates_of(procedure).exists()


def test_a_procedure_whose_cement_does_not_match_its_type_is_refused(client, clinician, procedure):
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    response = put(client, url, corrected(client, url, procedure_type="rfa_spinal_metastasis"))
    assert response.status_code == 422
    assert "injects no cement" in str(response.json()["errors"]["cement"])
    assert stored(procedure).procedure_type == "rfa_vertebroplasty"


def test_a_procedure_dated_after_the_patients_death_is_refused(client, clinician, procedure):
    died_on = procedure.procedure_date + timedelta(days=5)
    actions.record_patient_status(
        procedure.patient,
        acting_user=clinician,
        status="died",
        status_date=died_on,
        death_related="no",
    )
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    later = (died_on + timedelta(days=1)).isoformat()
    response = put(client, url, corrected(client, url, procedure_date=later))
    assert response.status_code == 422
    assert "after the patient's death" in str(response.json()["errors"]["procedure_date"])
    assert stored(procedure).procedure_date == procedure.procedure_date


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"operators": ["nobody"]}, "operators"),
        ({"operators": []}, "operators"),
        ({"cycles": []}, "cycles"),
        ({"cycles": [{"target_temp_c": "200", "time_at_target_s": 300}]}, "cycles"),
        ({"lesion_id": 10**9}, "lesion_id"),
    ],
)
def test_a_procedure_correction_with_wrong_operators_cycles_or_lesion_is_refused(
    client, clinician, procedure, changes, field
):
    login(client, clinician)
    url = f"/api/procedures/{procedure.pk}"
    response = put(client, url, corrected(client, url, duration_min=90, **changes))
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    after = stored(procedure)
    assert after.version == 1 and after.duration_min == 75
    assert list(after.operators.values_list("username", flat=True)) == ["alice"]
    assert after.cycles.count() == 1


def test_an_adverse_event_cannot_start_after_the_patients_death(
    client, clinician, procedure, event
):
    died_on = procedure.procedure_date + timedelta(days=5)
    actions.record_patient_status(
        procedure.patient,
        acting_user=clinician,
        status="died",
        status_date=died_on,
        death_related="no",
    )
    login(client, clinician)
    url = f"/api/adverse-events/{event.pk}"
    later = (died_on + timedelta(days=3)).isoformat()
    response = put(client, url, corrected(client, url, onset_date=later))
    assert response.status_code == 422
    assert "after the patient's death" in str(response.json()["errors"]["onset_date"])
    assert stored(event).onset_date == event.onset_date


def test_an_adverse_event_cannot_start_before_its_procedure(client, clinician, procedure, event):
    login(client, clinician)
    url = f"/api/adverse-events/{event.pk}"
    earlier = (procedure.procedure_date - timedelta(days=1)).isoformat()
    response = put(client, url, corrected(client, url, onset_date=earlier))
    assert response.status_code == 422 and "onset_date" in response.json()["errors"]
    assert stored(event).onset_date == event.onset_date


def test_an_adverse_event_cannot_be_moved_to_a_procedure_in_error(
    client, clinician, patient, lesion, procedure, event
):
    from tests.factories import procedure_fields

    other = actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[{"target_temp_c": 70, "time_at_target_s": 300}],
        **procedure_fields(lesion, procedure_date=procedure.procedure_date),
    )
    actions.mark_entered_in_error(other, reason=REASON, acting_user=clinician)
    login(client, clinician)
    url = f"/api/adverse-events/{event.pk}"
    response = put(client, url, corrected(client, url, procedure_id=other.pk))
    assert response.status_code == 422 and "procedure_id" in response.json()["errors"]
    assert stored(event).procedure_id == procedure.pk


def test_an_adverse_event_corrected_to_grade_5_records_the_death(client, clinician, event):
    """As recording one does (docs/corrections.md, CTCAE v5.0: grade 5 is death related to
    the adverse event), on the page and the API alike: they share actions.correct_record."""
    login(client, clinician)
    url = f"/api/adverse-events/{event.pk}"
    response = put(client, url, corrected(client, url, severity=5, outcome="fatal"))
    assert response.status_code == 200, response.content
    patient = client.get(f"/api/patients/{event.patient.registry_number}").json()
    assert patient["status"] == "died" and patient["death_related"] == "yes"
    assert patient["status_date"] == event.onset_date.isoformat()
