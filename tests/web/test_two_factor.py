"""Optional TOTP two-factor authentication, which an administrator can require for a role."""

from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import login
from thermablate.registry.models import RoleSecurityPolicy


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_without_a_policy_or_a_device_sign_in_needs_no_code(client, clinician):
    login(client, clinician)
    assert client.get(reverse("home")).status_code == 200


def test_a_role_that_requires_it_must_set_it_up_before_seeing_anything(client, clinician, patient):
    RoleSecurityPolicy.objects.create(role="clinician", require_two_factor=True)
    login(client, clinician)
    page = reverse("patient_detail", args=[patient.registry_number])
    response = client.get(page)
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("two_factor_setup")
    )
    setup = client.get(response["Location"])
    assert 'id="totp-secret"' in setup.content.decode()
    device = TOTPDevice.objects.get(user=clinician)
    done = client.post(reverse("two_factor_setup"), {"token": current_code(device), "next": page})
    assert done.status_code == 302 and done["Location"] == page
    assert client.get(page).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_a_user_with_a_device_is_asked_for_a_code_at_each_sign_in(client, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    login(client, coordinator)
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert (
        client.post(reverse("two_factor_verify"), {"token": current_code(device)}).status_code
        == 302
    )
    assert client.get(reverse("home")).status_code == 200


def test_an_administrator_can_set_the_policy(db, administrator):
    assert administrator.has_perm("registry.change_rolesecuritypolicy")
    assert not administrator.has_perm("registry.view_patient")


def test_a_wrong_code_is_refused_and_slows_the_next_attempt(client, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    login(client, coordinator)
    wrong = "000000" if current_code(device) != "000000" else "111111"
    refused = client.post(reverse("two_factor_verify"), {"token": wrong})
    assert "not right" in refused.content.decode()
    # django-otp throttles after a failure: even the right code is refused straight away.
    assert (
        client.post(reverse("two_factor_verify"), {"token": current_code(device)}).status_code
        == 200
    )
    assert client.get(reverse("home")).status_code == 302
