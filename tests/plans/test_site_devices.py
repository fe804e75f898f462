"""A site adds its own RF device (Django admin, audited); the planning form and the procedure
form offer it beside the shipped library; another site's device is nowhere; a procedure's
device from the library must agree with what the record says of it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import login, procedure_fields
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent, SiteDevice

DEVICE = {
    "device_id": "ngh-cannula-20g-10mm",
    "manufacturer": "Example Medical",
    "system": "RF lesion generator",
    "electrode": "sharp cannula, 20 G, 10 mm exposed tip",
    "polarity": "monopolar",
    "active_tip_mm": "10",
    "gauge": "20",
    "articulating": "false",
    "cooled": "false",
    "control_mode": "temperature",
    "target_temp_c": "90",
    "max_power_w": "",
    "max_time_s": "360",
    "indications": "osteoid-osteoma",
    "source": "Instructions for use, revision 3 (2025)",
}


@pytest.fixture
def site_admin(administrator):
    administrator.is_staff = True
    administrator.save()
    return administrator


def test_an_administrator_adds_a_device_that_the_site_then_plans_and_records_with(
    client, site_admin, clinician, site_a, lesion, outsider
):
    login(client, site_admin)
    response = client.post(reverse("admin:registry_sitedevice_add"), DEVICE)
    assert response.status_code == 302, response.content.decode()[:2000]
    device = SiteDevice.objects.get()
    assert device.site == site_a
    assert AuditEvent.objects.filter(model="sitedevice", action="create").exists()
    library = SiteDevice.library(site_a)
    assert library.get("ngh-cannula-20g-10mm").site_defined
    assert not library.get("ngh-cannula-20g-10mm").cannot_plan_reason()

    login(client, clinician)
    plan_form = client.get(reverse("plan_new", args=[lesion.pk])).content.decode()
    procedure_form = client.get(
        reverse("procedure_create", args=[lesion.patient.registry_number])
    ).content.decode()
    for page in (plan_form, procedure_form):
        assert 'value="ngh-cannula-20g-10mm"' in page and 'value="osteocool-bipolar"' in page
    login(client, outsider)
    assert "ngh-cannula" not in str(SiteDevice.library(outsider.staff.site).devices)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"polarity": "bipolar"}, "The library's device is monopolar"),
        ({"active_tip_mm": Decimal("15")}, "10 mm tip"),
        ({"device_id": "no-such-device"}, "not in your site's library"),
    ],
)
def test_the_procedures_device_must_agree_with_the_library(
    patient, lesion, clinician, site_a, changes, message
):
    SiteDevice.objects.create(
        site=site_a, device_id="ngh-cannula-20g-10mm", electrode="cannula",
        polarity="monopolar", active_tip_mm=Decimal("10"), cooled=False, source="IFU",
    )  # fmt: skip
    fields = procedure_fields(lesion, device_id="ngh-cannula-20g-10mm", polarity="monopolar")
    fields.update(changes)
    with pytest.raises(Exception, match=message):
        actions.record_procedure(
            patient, acting_user=clinician, operators=[clinician],
            cycles=[{"target_temp_c": Decimal("90"), "time_at_target_s": 300, "power_w": None}],
            **fields,
        )  # fmt: skip


def test_a_device_row_the_library_would_refuse_is_refused_in_the_admin(client, site_admin):
    login(client, site_admin)
    bad = {**DEVICE, "gauge": "17", "device_id": "osteocool-bipolar"}
    response = client.post(reverse("admin:registry_sitedevice_add"), bad)
    assert response.status_code == 200
    assert "already has this id" in response.content.decode()
    assert not SiteDevice.objects.exists()


def test_a_sites_device_carries_its_generators_output_limits_into_the_library(
    client, site_admin, site_a
):
    login(client, site_admin)
    limits = {"max_voltage_v": "60", "max_current_a": "0.6", "max_impedance_ohm": "1500"}
    response = client.post(reverse("admin:registry_sitedevice_add"), {**DEVICE, **limits})
    assert response.status_code == 302, response.content.decode()[:2000]
    device = SiteDevice.library(site_a).get("ngh-cannula-20g-10mm")
    assert device.generator_limits() == {
        "max_voltage_v": 60.0, "max_current_a": 0.6, "max_impedance_ohm": 1500.0
    }  # fmt: skip


def test_an_output_limit_out_of_range_is_refused_in_the_admin(client, site_admin):
    login(client, site_admin)
    response = client.post(
        reverse("admin:registry_sitedevice_add"), {**DEVICE, "max_current_a": "0"}
    )
    assert response.status_code == 200
    assert not SiteDevice.objects.exists()
