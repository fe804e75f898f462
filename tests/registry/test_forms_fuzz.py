"""Property-based tests on the web forms: whatever is posted, no server error, and a refused
form changes nothing."""

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import login

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
text = st.one_of(
    st.text(max_size=40), st.sampled_from(["", "0", "-1", "1e9", "L2", "2026-02-30", "\x00", "<b>"])
)

pytestmark = pytest.mark.usefixtures("approved_site")


def counts():
    return {m.__name__: m.objects.count() for m in apps.get_app_config("registry").get_models()}


@FUZZ
@given(
    data=st.dictionaries(st.sampled_from(["nhs_number", "year_of_birth", "sex", "version"]), text)
)
def test_the_patient_form(client, coordinator, data):
    login(client, coordinator)
    before = counts()
    response = client.post(reverse("patient_create"), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert counts() == before


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "assessed_on",
                "pain_worst",
                "pain_average",
                "eq5d_mobility",
                "eq5d_self_care",
                "no_analgesics",
                "drugs-0-drug",
                "drugs-0-dose",
                "drugs-0-unit",
                "drugs-0-route",
                "drugs-0-doses_per_day",
                "version",
            ]
        ),
        text,
    )
)
def test_the_assessment_form(client, coordinator, procedure, data):
    login(client, coordinator)
    month = procedure.assessments.get(timepoint="1m")
    month.refresh_from_db()
    stored = (month.assessed_on, month.pain_worst, month.version)
    before = counts()
    management = {
        "drugs-TOTAL_FORMS": "1",
        "drugs-INITIAL_FORMS": "0",
        "drugs-MIN_NUM_FORMS": "0",
        "drugs-MAX_NUM_FORMS": "1000",
    }
    response = client.post(reverse("assessment_record", args=[month.pk]), {**management, **data})
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        month.refresh_from_db()
        assert (month.assessed_on, month.pain_worst, month.version) == stored and counts() == before


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "procedure_date",
                "procedure_type",
                "setting",
                "anaesthesia",
                "access",
                "image_guidance",
                "device_manufacturer",
                "device_model",
                "polarity",
                "active_tip_mm",
                "cement",
                "cement_volume_ml",
                "thermal_protection",
                "duration_min",
                "levels_treated",
                "cycles-0-target_temp_c",
                "cycles-0-time_at_target_s",
                "override_reason",
            ]
        ),
        text,
    )
)
def test_the_procedure_form(client, clinician, patient, lesion, data):
    login(client, clinician)
    before = counts()
    management = {
        "cycles-TOTAL_FORMS": "1",
        "cycles-INITIAL_FORMS": "0",
        "cycles-MIN_NUM_FORMS": "1",
        "cycles-MAX_NUM_FORMS": "1000",
    }
    posted = {"lesion": lesion.pk, "operators": [clinician.pk], **management, **data}
    response = client.post(reverse("procedure_create", args=[patient.registry_number]), posted)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert counts() == before
