"""A patient who agreed to be contacted, with a follow-up window open today, and a real local
SMTP server (aiosmtpd) that keeps what it receives."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests import smtp_server as smtp
from tests.factories import procedure_fields
from thermablate.proms import actions as proms_actions
from thermablate.registry import actions


@pytest.fixture(autouse=True)
def _any_hour(settings):
    """The tests send at whatever hour they run; the sending hours have their own test."""
    settings.THERMABLATE_SEND_HOURS = (0, 24)


@pytest.fixture
def consented(patient, clinician, today):
    return actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=today - timedelta(days=30),
        leaflet_title="RF ablation of spinal metastases",
        leaflet_version="2",
        nice_information_offered=True,
        uncertainties_discussed=True,
        registry_audit_consent=True,
        contact_for_follow_up=True,
    )


@pytest.fixture
def contact(patient, coordinator, consented):
    return proms_actions.save_contact_details(
        patient, acting_user=coordinator, email="patient@example.org", mobile="07700 900123"
    )


@pytest.fixture
def opened_today(patient, lesion, clinician, today):
    """A procedure 21 days ago: its 1-month window (days 21-42) opens today."""
    procedure = actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[
            {"target_temp_c": Decimal("70"), "time_at_target_s": 300, "power_w": Decimal("10")}
        ],
        **procedure_fields(lesion, procedure_date=today - timedelta(days=21)),
    )
    return procedure.assessments.get(timepoint="1m")


@pytest.fixture
def smtp_server(settings):
    mailbox = smtp.Mailbox()
    smtp.use_in_django(settings, smtp.start(mailbox))
    settings.THERMABLATE_PUBLIC_URL = "https://followup.example.nhs.uk"
    yield mailbox
    mailbox.controller.stop()
