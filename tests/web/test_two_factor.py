"""Optional TOTP two-factor authentication, which an administrator can require for a role."""

import base64
import hashlib
import re

from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, VALID_NHS_NUMBERS, login
from thermablate.registry.models import ApiToken, AuditEvent, Patient, RoleSecurityPolicy


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


# ---- the attacks of the sign-in test: a password alone must not reach what the code guards ----


def sign_in_with_password_only(client, user):
    """Sign in as the attacker did: through the sign-in page, with the password and no code."""
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the password alone should pass the sign-in page"
    return client


def code_for_secret(secret: str) -> str:
    """The current code of an authenticator app given the key the set-up page showed."""
    return f"{totp(base64.b32decode(secret)):06d}"


def shown_secret(page) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7=]+)<', page.content.decode()).group(1)


def assert_refused_as_json(response, says: str):
    assert response.status_code == 403, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert says in response.json()["detail"]


def test_the_api_refuses_a_session_that_has_not_given_its_code(client, coordinator, patient):
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))

    listed = client.get("/api/patients?limit=500")
    assert_refused_as_json(listed, "complete two-factor sign-in in the browser")
    assert patient.nhs_number not in listed.content.decode()
    created = client.post(
        "/api/patients",
        {"nhs_number": VALID_NHS_NUMBERS[1], "year_of_birth": 1961, "sex": "male"},
        content_type="application/json",
    )
    assert_refused_as_json(created, "complete two-factor sign-in in the browser")
    assert Patient.objects.count() == 1


def test_the_api_refuses_a_session_whose_role_requires_an_authenticator_not_yet_set_up(
    client, clinician, patient
):
    RoleSecurityPolicy.objects.create(role="clinician", require_two_factor=True)
    sign_in_with_password_only(client, clinician)
    response = client.get("/api/patients?limit=500")
    assert_refused_as_json(response, "set up an authenticator app in the browser")
    assert patient.nhs_number not in response.content.decode()


def test_the_api_accepts_the_session_once_its_code_is_given(client, coordinator, patient):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)
    client.post(reverse("two_factor_verify"), {"token": current_code(device)})
    response = client.get("/api/patients")
    assert response.status_code == 200
    assert [p["registry_number"] for p in response.json()] == [patient.registry_number]


def test_without_a_device_or_a_policy_the_api_accepts_the_password_session(client, clinician):
    sign_in_with_password_only(client, clinician)
    assert client.get("/api/patients").status_code == 200


def test_an_anonymous_api_request_is_still_asked_to_authenticate(client, db):
    response = client.get("/api/patients")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_a_bearer_token_is_not_asked_for_a_code(client, coordinator, patient):
    """A token is a separate credential of a machine, which has no authenticator app."""
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    raw = "tb_two_factor_test_token_0123456789"
    ApiToken.objects.create(
        user=coordinator, name="EPR feed", key_hash=hashlib.sha256(raw.encode()).hexdigest()
    )
    response = client.get("/api/patients", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200 and len(response.json()) == 1


def test_every_api_operation_refuses_a_session_that_has_not_given_its_code(
    client, coordinator, procedure
):
    """Walks the OpenAPI schema, so an operation added later is covered without an entry here."""
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)
    real_values = {
        "registry_number": procedure.patient.registry_number,
        "procedure_id": str(procedure.pk),
        "assessment_id": str(procedure.assessments.first().pk),
    }
    audit_entries = AuditEvent.objects.count()
    operations = [
        (method, path)
        for path, item in client.get("/api/openapi.json").json()["paths"].items()
        for method in item
    ]
    assert len(operations) >= 13  # the walk really found the API's operations
    for method, path in operations:
        # The refusal comes before any parameter is read, so an unknown one may be anything.
        url = re.sub(r"\{(\w+)\}", lambda m: real_values.get(m.group(1), "1"), path)
        response = getattr(client, method)(url, data={}, content_type="application/json")
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert "two-factor" in response.json()["detail"], f"{method} {path}"
    assert AuditEvent.objects.count() == audit_entries  # nothing written, nothing shown


def test_a_password_only_session_cannot_enrol_another_authenticator(client, coordinator):
    victims_phone = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)

    setup = client.get(reverse("two_factor_setup"))
    assert setup.status_code == 302
    assert setup["Location"].startswith(reverse("two_factor_verify"))
    # The attack to the end: whatever key a set-up left behind, its code must not verify.
    for device in TOTPDevice.objects.filter(user=coordinator, confirmed=False):
        client.post(reverse("two_factor_setup"), {"token": current_code(device)})
    assert list(TOTPDevice.objects.filter(user=coordinator, confirmed=True)) == [victims_phone]
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))
    assert client.get("/api/patients").status_code == 403


def test_a_verified_session_may_add_a_second_authenticator(client, coordinator):
    phone = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)
    client.post(reverse("two_factor_verify"), {"token": current_code(phone)})
    setup = client.get(reverse("two_factor_setup"))
    assert setup.status_code == 200
    done = client.post(reverse("two_factor_setup"), {"token": code_for_secret(shown_secret(setup))})
    assert done.status_code == 302
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).count() == 2


def test_the_set_up_page_itself_refuses_a_password_only_session(settings, client, coordinator):
    """Not only the middleware: the page keeps its rule if the middleware is moved or dropped."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "thermablate.web.middleware.TwoFactorWhereRequired"
    ]
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    sign_in_with_password_only(client, coordinator)
    setup = client.get(reverse("two_factor_setup"))
    assert setup.status_code == 302
    assert setup["Location"].startswith(reverse("two_factor_verify"))


def test_an_abandoned_set_up_key_is_never_confirmed_by_another_session(client, coordinator):
    """Whoever saw the key of a set-up left unfinished must not learn the user's future codes."""
    attacker = sign_in_with_password_only(Client(), coordinator)
    attackers_secret = shown_secret(attacker.get(reverse("two_factor_setup")))

    sign_in_with_password_only(client, coordinator)
    setup = client.get(reverse("two_factor_setup"))
    assert shown_secret(setup) != attackers_secret
    client.post(reverse("two_factor_setup"), {"token": code_for_secret(shown_secret(setup))})
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).count() == 1

    # The attacker's old key is worth nothing: not to finish its own set-up, nor at the code page.
    late = attacker.post(reverse("two_factor_setup"), {"token": code_for_secret(attackers_secret)})
    assert late.status_code == 302 and late["Location"].startswith(reverse("two_factor_verify"))
    again = sign_in_with_password_only(Client(), coordinator)
    again.post(reverse("two_factor_verify"), {"token": code_for_secret(attackers_secret)})
    assert again.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).count() == 1


def test_the_code_page_refuses_the_code_of_an_unconfirmed_authenticator(client, coordinator):
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    abandoned = TOTPDevice.objects.create(user=coordinator, name="left behind", confirmed=False)
    sign_in_with_password_only(client, coordinator)
    refused = client.post(reverse("two_factor_verify"), {"token": current_code(abandoned)})
    assert "not right" in refused.content.decode()
    assert client.get(reverse("home"))["Location"].startswith(reverse("two_factor_verify"))


def test_a_set_up_started_again_elsewhere_cannot_be_finished_with_the_old_key(client, coordinator):
    first = sign_in_with_password_only(Client(), coordinator)
    first_secret = shown_secret(first.get(reverse("two_factor_setup")))
    sign_in_with_password_only(client, coordinator)
    client.get(reverse("two_factor_setup"))

    late = first.post(reverse("two_factor_setup"), {"token": code_for_secret(first_secret)})
    assert "started again elsewhere" in late.content.decode()
    assert shown_secret(late) != first_secret
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1  # none left lying about
