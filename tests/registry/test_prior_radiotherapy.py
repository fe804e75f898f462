"""Prior radiotherapy to the lesion's level or site (issue 12, item 9): recorded on the lesion
through the page and the API, shown in the timeline, exported, and a filter of the audit."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import login, procedure_fields
from thermablate.audit import queries
from thermablate.registry import actions, api, forms
from thermablate.registry import declarations as d
from thermablate.registry.models import Lesion
from thermablate.registry.timeline import lesion_staging

CYCLES = [{"target_temp_c": 70, "time_at_target_s": 300}]
FIELDS = ("prior_radiotherapy", "prior_radiotherapy_date")


def test_every_consumer_of_the_lesion_declaration_carries_it():
    for name in FIELDS:
        assert name in forms.LesionForm._meta.fields
        assert name in api.LesionIn.model_fields and name in api.LesionOut.model_fields
        assert name in d.LESION.exported


def test_the_lesion_page_records_it_and_the_patient_page_shows_it(client, clinician, patient):
    login(client, clinician)
    irradiated = timezone.localdate().replace(day=1) - timedelta(days=200)
    response = client.post(
        reverse("lesion_create", args=[patient.registry_number]),
        {
            "spinal_levels": "T9",
            "diagnosis": "spinal_metastasis",
            "primary_tumour": "lung",
            "lesion_type": "lytic",
            "prior_radiotherapy": "yes",
            "prior_radiotherapy_date_day": str(irradiated.day),
            "prior_radiotherapy_date_month": str(irradiated.month),
            "prior_radiotherapy_date_year": str(irradiated.year),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    lesion = Lesion.objects.get(spinal_levels="T9")
    assert lesion.prior_radiotherapy == "yes" and lesion.prior_radiotherapy_date == irradiated
    assert f"irradiated before ({irradiated:%B %Y})" in lesion_staging(lesion)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    assert "irradiated before" in page


@pytest.mark.parametrize(
    ("answer", "offset_days", "message"),
    [
        ("no", -30, "no radiotherapy before"),
        ("not_known", -30, "no radiotherapy before"),
        ("yes", 5, "cannot be in the future"),
    ],
)
def test_a_date_without_radiotherapy_or_in_the_future_is_refused(
    clinician, patient, answer, offset_days, message
):
    with pytest.raises(ValidationError, match=message):
        actions.add_lesion(
            patient,
            acting_user=clinician,
            spinal_levels="T9",
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
            prior_radiotherapy=answer,
            prior_radiotherapy_date=timezone.localdate() + timedelta(days=offset_days),
        )
    assert not Lesion.objects.filter(spinal_levels="T9").exists()


def test_the_api_records_it_and_refuses_an_unknown_answer(client, clinician, patient):
    login(client, clinician)
    url = f"/api/patients/{patient.registry_number}/lesions"
    base = {"spinal_levels": "L4", "diagnosis": "spinal_metastasis", "lesion_type": "mixed"}
    refused = client.post(
        url, data={**base, "prior_radiotherapy": "perhaps"}, content_type="application/json"
    )
    assert refused.status_code == 422
    saved = client.post(
        url, data={**base, "prior_radiotherapy": "no"}, content_type="application/json"
    )
    assert saved.status_code == 201 and saved.json()["prior_radiotherapy"] == "no"


@pytest.fixture
def two_procedures(patient, clinician):
    made = {}
    for level, answer in (("T9", "yes"), ("T11", "no")):
        lesion = actions.add_lesion(
            patient,
            acting_user=clinician,
            spinal_levels=level,
            diagnosis="spinal_metastasis",
            lesion_type="lytic",
            prior_radiotherapy=answer,
        )
        made[answer] = actions.record_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(lesion, levels_treated=level),
        )
    return made


def test_the_audit_filters_by_it(client, governance, site_a, two_procedures):
    irradiated = queries.CohortFilter(site=site_a, prior_radiotherapy="yes")
    assert list(queries.procedures_in(irradiated)) == [two_procedures["yes"]]
    assert "irradiated before" in irradiated.describe()
    not_irradiated = queries.CohortFilter(site=site_a, prior_radiotherapy="no")
    assert list(queries.procedures_in(not_irradiated)) == [two_procedures["no"]]
    login(client, governance)
    page = client.get(reverse("audit_dashboard"), {"prior_radiotherapy": "yes"})
    assert page.status_code == 200 and "lesions irradiated before" in page.content.decode()
