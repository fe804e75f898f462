"""Nothing is recorded as done after the patient's recorded death (issue 12, item 3: the
patient's course). A procedure or an assessment dated after it is refused, wherever it comes
from, with what to correct; a death dated before a recorded procedure or assessment is refused
the same way. (Adverse events were already held to it.)"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.factories import login, procedure_fields
from thermablate.registry import actions

CYCLES = [{"target_temp_c": Decimal("80"), "time_at_target_s": 300, "power_w": None}]


def _died(patient, clinician, on):
    return actions.record_patient_status(
        patient, acting_user=clinician, status="died", status_date=on, death_related="no"
    )


def test_a_procedure_dated_after_the_death_is_refused_and_not_saved(procedure, lesion, clinician):
    patient = procedure.patient
    died_on = procedure.procedure_date + timedelta(days=10)
    patient = _died(patient, clinician, died_on)
    with pytest.raises(ValidationError) as refused:
        actions.record_procedure(
            patient, acting_user=clinician, operators=[clinician], cycles=CYCLES,
            **procedure_fields(lesion, procedure_date=died_on + timedelta(days=1)),
        )  # fmt: skip
    message = refused.value.message_dict["procedure_date"][0]
    assert f"The patient died on {died_on:%d %B %Y}" in message
    assert "cannot be dated after the patient's death" in message
    assert patient.procedures.count() == 1


def test_an_assessment_dated_after_the_death_is_refused_by_the_api(client, procedure, clinician):
    patient = procedure.patient
    died_on = procedure.procedure_date + timedelta(days=25)
    _died(patient, clinician, died_on)
    month = procedure.assessments.get(timepoint="1m")
    login(client, clinician)
    response = client.put(
        f"/api/assessments/{month.pk}",
        data={
            "assessed_on": str(procedure.procedure_date + timedelta(days=30)),
            "pain_worst": 3,
            "version": month.version,
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "cannot be dated after the patient's death" in str(response.json()["errors"])
    month.refresh_from_db()
    assert month.assessed_on is None


def test_a_death_dated_before_a_recorded_assessment_is_refused(procedure, clinician):
    patient = procedure.patient
    assessed_on = _assessed_a_month_after(procedure, clinician)
    with pytest.raises(ValidationError) as refused:
        _died(patient, clinician, assessed_on - timedelta(days=1))
    assert refused.value.message_dict["status_date"] == [
        f"The 1 month assessment of {assessed_on:%d %B %Y} is after this date."
    ]
    patient.refresh_from_db()
    assert patient.status == "alive"


def _assessed_a_month_after(procedure, clinician):
    """Record the procedure's 1-month assessment 30 days after it; returns that date."""
    month = procedure.assessments.get(timepoint="1m")
    assessed_on = procedure.procedure_date + timedelta(days=30)
    actions.record_assessment(
        month, acting_user=clinician, analgesics=[], expected_version=month.version,
        assessed_on=assessed_on, pain_worst=3,
    )  # fmt: skip
    return assessed_on


def _haematoma(procedure, clinician, onset):
    return actions.record_adverse_event(
        procedure.patient, acting_user=clinician, procedure=procedure, event_type="haematoma",
        onset_date=onset, severity=1, device_related="no", outcome="resolved",
        description="Bruise",
    )  # fmt: skip


def test_a_death_dated_before_a_recorded_adverse_event_is_refused(procedure, clinician):
    patient = procedure.patient
    onset = procedure.procedure_date + timedelta(days=12)
    _haematoma(procedure, clinician, onset)
    with pytest.raises(ValidationError) as refused:
        _died(patient, clinician, onset - timedelta(days=2))
    assert refused.value.message_dict["status_date"] == [
        f"The adverse event (haematoma) of {onset:%d %B %Y} is after this date."
    ]
    patient.refresh_from_db()
    assert patient.status == "alive"


@pytest.mark.parametrize("kind", ["procedure", "assessment", "adverse event"])
def test_a_record_after_the_death_cannot_come_back_from_entered_in_error(
    kind, procedure, lesion, clinician
):
    """Marked in error, a record no longer blocks a death dated before it; undoing the mark
    would then bring back a record dated after the death."""
    patient = procedure.patient
    later = procedure.procedure_date + timedelta(days=30)
    if kind == "procedure":
        record = actions.record_procedure(
            patient, acting_user=clinician, operators=[clinician], cycles=CYCLES,
            **procedure_fields(lesion, procedure_date=later),
        )  # fmt: skip
    elif kind == "assessment":
        record = procedure.assessments.get(timepoint="1m")
        record = actions.record_assessment(
            record, acting_user=clinician, analgesics=[], expected_version=record.version,
            assessed_on=later, pain_worst=3,
        )  # fmt: skip
    else:
        record = _haematoma(procedure, clinician, later)
    record = actions.mark_entered_in_error(record, reason="Wrong patient", acting_user=clinician)
    _died(patient, clinician, later - timedelta(days=5))
    with pytest.raises(ValidationError, match="after the patient's death"):
        actions.undo_entered_in_error(record, reason="It was right", acting_user=clinician)
    record.refresh_from_db()
    assert record.entered_in_error


def test_a_procedure_brought_back_brings_its_adverse_events_and_they_must_hold(
    procedure, lesion, clinician
):
    """An adverse event of a procedure in error leaves with it, so it does not block a death
    dated before its onset; undoing the procedure's mark would bring it back after the death."""
    patient = procedure.patient
    onset = procedure.procedure_date + timedelta(days=20)
    _haematoma(procedure, clinician, onset)
    actions.mark_entered_in_error(procedure, reason="Wrong patient", acting_user=clinician)
    _died(patient, clinician, onset - timedelta(days=5))  # the event does not count now
    with pytest.raises(ValidationError, match="after the patient's death"):
        actions.undo_entered_in_error(procedure, reason="It was right", acting_user=clinician)
    procedure.refresh_from_db()
    assert procedure.entered_in_error


def test_a_procedure_with_adverse_events_comes_back_when_nothing_contradicts_it(
    procedure, clinician
):
    event = _haematoma(procedure, clinician, procedure.procedure_date + timedelta(days=2))
    actions.mark_entered_in_error(procedure, reason="Wrong patient", acting_user=clinician)
    actions.undo_entered_in_error(procedure, reason="It was right", acting_user=clinician)
    procedure.refresh_from_db()
    event.refresh_from_db()
    assert not procedure.entered_in_error and not event.entered_in_error


def test_an_assessment_of_a_procedure_in_error_does_not_block_a_death(procedure, clinician):
    """Found in review: it left with its procedure, as the procedure's adverse events do."""
    patient = procedure.patient
    assessed_on = _assessed_a_month_after(procedure, clinician)
    actions.mark_entered_in_error(procedure, reason="Wrong patient", acting_user=clinician)
    patient = _died(patient, clinician, assessed_on - timedelta(days=3))
    assert patient.status == "died"
