"""Deployment settings and the headers every page carries."""

import os
import subprocess
import sys

from django.urls import reverse

from tests.factories import PASSWORD, login


def test_check_deploy_passes_with_production_settings(tmp_path):
    # The browser tests' conftest allows sync ORM calls in Playwright's event loop; a
    # deployment never sets that, and check --deploy rightly refuses it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DEBUG": "false",
        "THERMABLATE_HTTPS": "true",
        "SECRET_KEY": "k" * 20 + "-production-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "thermablate.example.nhs.uk",
        "THERMABLATE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "thermablate.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_page_sends_a_content_security_policy_and_no_framing(client, clinician):
    login(client, clinician)
    response = client.get(reverse("home"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.content.decode()  # no inline script for the CSP to allow


def test_repeated_failed_sign_ins_lock_the_account(client, clinician):
    url = reverse("login")
    for _ in range(5):
        client.post(
            url,
            {"username": clinician.username, "password": "wrong password"},
            REMOTE_ADDR="10.0.0.9",
        )
    locked = client.post(
        url, {"username": clinician.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_correct_password_signs_in(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(clinician.pk)


def test_sessions_expire_after_inactivity(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
