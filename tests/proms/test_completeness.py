"""The audit's questionnaire figures, counted by hand on a small cohort."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.factories import procedure_fields
from thermablate.proms import actions
from thermablate.proms.figures import completeness
from thermablate.proms.models import Message
from thermablate.registry import actions as registry_actions
from thermablate.registry.models import Assessment


def _sent(invitation, kind, channel):
    Message.objects.create(
        invitation=invitation, kind=kind, channel=channel, status="sent", sent_at=timezone.now()
    )


def test_it_counts_who_completed_each_time_point_and_the_response_by_channel(
    patient, lesion, clinician, coordinator, consented, today
):
    procedure = registry_actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[
            {"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}
        ],
        **procedure_fields(lesion, procedure_date=today - timedelta(days=160)),
    )
    points = {a.timepoint: a for a in procedure.assessments.all()}
    answers = {"analgesics": [], "pain_worst": 4, "pain_average": 3, "no_analgesics": True}
    # 1 week: entered by staff after an e-mail and a reminder went unanswered.
    week = actions.open_invitation(points["1w"])
    _sent(week, "invitation", "email")
    _sent(week, "reminder", "email")
    registry_actions.record_assessment(
        points["1w"], acting_user=coordinator, assessed_on=points["1w"].window_opens + timedelta(days=5), **answers
    )  # fmt: skip
    # 1 month: answered by the patient after a text message invitation.
    month = actions.open_invitation(points["1m"])
    _sent(month, "invitation", "sms")
    registry_actions.record_assessment(
        points["1m"], acting_user=None, reported_by="patient", assessed_on=points["1m"].window_opens, **answers
    )  # fmt: skip
    # 3 months: could not be done, never invited.
    registry_actions.record_not_done(points["3m"], acting_user=coordinator, reason="In hospital")
    # 6 months: invited by e-mail, no answer yet.
    half = actions.open_invitation(points["6m"])
    _sent(half, "invitation", "email")

    figures = completeness(Assessment.objects.filter(procedure=procedure), today)
    rows = {row.timepoint: row for row in figures.timepoints}
    got = {
        tp: (r.due, r.invited, r.reminded, r.by_patient, r.by_staff, r.not_possible, r.outstanding)
        for tp, r in rows.items()
    }
    assert got == {
        "1w": (1, 1, 1, 0, 1, 0, 0),
        "1m": (1, 1, 0, 1, 0, 0, 0),
        "3m": (1, 0, 0, 0, 0, 1, 0),
        "6m": (1, 1, 0, 0, 0, 0, 1),
        "12m": (0, 0, 0, 0, 0, 0, 0),
    }
    channels = {row.channel: (row.invited, row.answered) for row in figures.channels}
    assert channels == {"email": (2, 0), "sms": (1, 1)}
    assert [row.response_rate for row in figures.channels] == [0.0, 1.0]


def test_the_dashboard_and_the_report_show_them(
    client, clinician, patient, contact, opened_today, today, smtp_server
):
    from django.urls import reverse

    from tests.factories import login
    from thermablate.proms import sender

    sender.run(today)
    login(client, clinician)
    for name in ("audit_dashboard", "audit_report"):
        html = client.get(reverse(name)).content.decode()
        assert "Patients' own questionnaires" in html
        assert '<tr data-questionnaire="1m"><td>1 month</td><td>1</td><td>1</td>' in html
        assert '<tr data-channel="email"><td>E-mail</td><td>1</td><td>0</td><td>0 %</td>' in html
