"""Deployment behind a reverse proxy, the absolute session lifetime, and private data files.

Behind a proxy every request comes from the proxy's address: django-axes then locked a user
name out for everyone once anyone failed five times, and X-Forwarded-Proto was believed from
any client. Only a proxy named in THERMABLATE_TRUSTED_PROXIES is believed now.
"""

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import PASSWORD
from thermablate.web.client import client_address
from thermablate.web.env import database_from_url, env_ip_addresses, env_path
from thermablate.web.middleware import SIGNED_IN_AT_SESSION_KEY

PROXY = "10.0.0.1"
ATTACKER = "203.0.113.5"
VICTIM = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = frozenset({PROXY})
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def sign_in(client, username, password, *, remote=PROXY, forwarded_for=None, **headers):
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=remote,
        **headers,
    )


# ---- lock-out keys on the real client --------------------------------------------------------


def test_behind_a_trusted_proxy_an_attacker_cannot_lock_out_a_named_user(
    behind_proxy, client, clinician
):
    for _ in range(5):
        sign_in(client, clinician.username, "wrong password", forwarded_for=ATTACKER)
    assert sign_in(client, clinician.username, PASSWORD, forwarded_for=ATTACKER).status_code == 429
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    # The user, through the same proxy from their own address, still signs in.
    response = sign_in(client, clinician.username, PASSWORD, forwarded_for=VICTIM)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(clinician.pk)


def test_a_client_cannot_pose_as_another_address_through_the_proxy(behind_proxy, client, clinician):
    # The proxy appends the address it saw; what the client wrote to the left is not believed.
    for _ in range(5):
        sign_in(client, clinician.username, "wrong password", forwarded_for=f"{VICTIM}, {ATTACKER}")
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    assert sign_in(client, clinician.username, PASSWORD, forwarded_for=VICTIM).status_code == 302


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings, client, clinician):
    settings.TRUSTED_PROXIES = frozenset()
    # Varying the header does not give an attacker a fresh count for each guess.
    for n in range(5):
        sign_in(
            client,
            clinician.username,
            "wrong password",
            remote=ATTACKER,
            forwarded_for=f"192.0.2.{n}",
        )
    assert AccessAttempt.objects.get().ip_address == ATTACKER
    locked = sign_in(client, clinician.username, PASSWORD, remote=ATTACKER, forwarded_for=VICTIM)
    assert locked.status_code == 429


@pytest.mark.parametrize(
    ("remote", "forwarded_for", "expected"),
    [
        (ATTACKER, VICTIM, ATTACKER),  # not from a proxy: the header is the client's word
        (PROXY, None, PROXY),
        (PROXY, ATTACKER, ATTACKER),
        (PROXY, f"{VICTIM}, {ATTACKER}", ATTACKER),
        (PROXY, f"{ATTACKER}, 10.0.0.2", ATTACKER),  # through two trusted proxies
        (PROXY, "10.0.0.2", "10.0.0.2"),  # only proxies: the furthest one
        (PROXY, f"{VICTIM}, not-an-address", PROXY),  # garbage: believe no further
        (PROXY, f"{ATTACKER}:51234", ATTACKER),  # some proxies add the port
        (PROXY, "[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:10.0.0.1", ATTACKER, ATTACKER),  # IPv4-mapped proxy address
    ],
)
def test_the_client_address_is_the_nearest_untrusted_hop(settings, remote, forwarded_for, expected):
    settings.TRUSTED_PROXIES = frozenset({PROXY, "10.0.0.2"})
    headers = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_address(RequestFactory().get("/", **headers)) == expected


def test_axes_asks_our_function_for_the_client_address(settings):
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXIES = frozenset({PROXY})
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert get_client_ip_address(request) == ATTACKER


# ---- HTTPS detection -------------------------------------------------------------------------


def test_x_forwarded_proto_from_an_untrusted_client_is_not_believed(behind_proxy, client, db):
    behind_proxy.SECURE_SSL_REDIRECT = True
    spoofed = client.get(reverse("login"), REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_PROTO="https")
    assert spoofed.status_code == 301 and spoofed["Location"].startswith("https://")
    from_proxy = client.get(reverse("login"), REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert from_proxy.status_code == 200


def run_settings(tmp_path, expression: str, **env) -> subprocess.CompletedProcess:
    """Load the settings module in a fresh process with ``env`` and print ``expression``."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in {"THERMABLATE_TRUSTED_PROXIES", "THERMABLATE_BEHIND_PROXY", "SESSION_MAX_HOURS"}
    }
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'thermablate.web.settings'; "
        # Settings load lazily: touching one makes the whole module run.
        f"from django.conf import settings; settings.DEBUG; print({expression})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**inherited, "THERMABLATE_DATA_DIR": str(tmp_path / "data"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_proxy_headers_are_trusted_only_when_proxies_are_named(tmp_path):
    expression = "settings.SECURE_PROXY_SSL_HEADER, sorted(settings.TRUSTED_PROXIES)"
    default = run_settings(tmp_path, expression)
    assert default.stdout.strip() == "None []", default.stderr
    named = run_settings(tmp_path, expression, THERMABLATE_TRUSTED_PROXIES=" 10.0.0.1, ::1 ,")
    assert named.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https') ['10.0.0.1', '::1']"


def test_a_wrong_proxy_address_stops_start_up(tmp_path):
    result = run_settings(tmp_path, "1", THERMABLATE_TRUSTED_PROXIES="10.0.0.1, proxy.local")
    assert result.returncode != 0
    assert "THERMABLATE_TRUSTED_PROXIES" in result.stderr and "proxy.local" in result.stderr


def test_the_old_trust_any_proxy_switch_is_refused_with_its_replacement(tmp_path):
    result = run_settings(tmp_path, "1", THERMABLATE_BEHIND_PROXY="true")
    assert result.returncode != 0
    assert "THERMABLATE_TRUSTED_PROXIES" in result.stderr


def test_it_reads_proxy_addresses(monkeypatch):
    monkeypatch.setenv("THERMABLATE_TRUSTED_PROXIES", "10.0.0.1,2001:DB8::1, ::ffff:10.0.0.2")
    assert env_ip_addresses("THERMABLATE_TRUSTED_PROXIES") == {
        "10.0.0.1",
        "2001:db8::1",
        "10.0.0.2",
    }
    monkeypatch.setenv("THERMABLATE_TRUSTED_PROXIES", "10.0.0.0/8")
    with pytest.raises(ImproperlyConfigured, match="10.0.0.0/8"):
        env_ip_addresses("THERMABLATE_TRUSTED_PROXIES")
    monkeypatch.delenv("THERMABLATE_TRUSTED_PROXIES")
    assert env_ip_addresses("THERMABLATE_TRUSTED_PROXIES") == frozenset()


# ---- absolute session lifetime ---------------------------------------------------------------


def age_session(client, hours: float) -> None:
    session = client.session
    session[SIGNED_IN_AT_SESSION_KEY] = time.time() - hours * 3600
    session.save()


def test_signing_in_records_the_time(client, clinician):
    before = time.time()
    sign_in(client, clinician.username, PASSWORD)
    assert before <= client.session[SIGNED_IN_AT_SESSION_KEY] <= time.time()


def test_a_session_older_than_the_maximum_is_signed_out_even_if_active(client, clinician):
    sign_in(client, clinician.username, PASSWORD)
    age_session(client, 11.9)
    assert client.get(reverse("home")).status_code == 200  # kept active by this very request
    age_session(client, 12.1)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "signed in for 12 hours" in page


def test_the_api_refuses_a_session_older_than_the_maximum(client, clinician):
    sign_in(client, clinician.username, PASSWORD)
    assert client.get("/api/patients").status_code == 200
    age_session(client, 13)
    assert client.get("/api/patients").status_code == 401


def test_the_maximum_comes_from_the_setting(settings, client, clinician):
    settings.SESSION_MAX_AGE_S = 2 * 3600
    sign_in(client, clinician.username, PASSWORD)
    age_session(client, 2.1)
    assert client.get(reverse("home")).status_code == 302


def test_signing_in_again_starts_a_new_lifetime(client, clinician):
    sign_in(client, clinician.username, PASSWORD)
    age_session(client, 11.9)
    sign_in(client, clinician.username, PASSWORD)
    assert time.time() - client.session[SIGNED_IN_AT_SESSION_KEY] < 60


def test_a_session_from_before_the_limit_existed_is_given_one(client, clinician):
    client.force_login(clinician)
    session = client.session
    session.pop(SIGNED_IN_AT_SESSION_KEY, None)
    session.save()
    assert client.get(reverse("home")).status_code == 200
    assert time.time() - client.session[SIGNED_IN_AT_SESSION_KEY] < 60


def test_a_malformed_sign_in_time_signs_the_session_out(client, clinician):
    sign_in(client, clinician.username, PASSWORD)
    session = client.session
    session[SIGNED_IN_AT_SESSION_KEY] = "yesterday"
    session.save()
    assert client.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_session_max_hours_is_read_from_the_environment(tmp_path):
    assert run_settings(tmp_path, "settings.SESSION_MAX_AGE_S").stdout.strip() == str(12 * 3600)
    eight = run_settings(tmp_path, "settings.SESSION_MAX_AGE_S", SESSION_MAX_HOURS="8")
    assert eight.stdout.strip() == str(8 * 3600)
    zero = run_settings(tmp_path, "1", SESSION_MAX_HOURS="0")
    assert zero.returncode != 0 and "SESSION_MAX_HOURS" in zero.stderr


# ---- private data folder and database file ---------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMABLATE_DATA_DIR", str(tmp_path / "new" / "data"))
    folder = env_path("THERMABLATE_DATA_DIR", tmp_path / "unused", private=True)
    assert mode_of(folder) == 0o700


def test_an_existing_data_folder_open_to_others_is_made_private(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.setenv("THERMABLATE_DATA_DIR", str(folder))
    env_path("THERMABLATE_DATA_DIR", tmp_path / "unused", private=True)
    assert mode_of(folder) == 0o700


def connect(url: str) -> sqlite3.Connection:
    options = dict(database_from_url(url)["OPTIONS"])
    options.pop("transaction_mode")
    return sqlite3.connect(database_from_url(url)["NAME"], **options)


def test_a_new_sqlite_database_file_is_owner_only(tmp_path):
    path = tmp_path / "thermablate.sqlite3"
    with connect(f"sqlite:///{path}") as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        # SQLite gives its write-ahead log and shared-memory files the database's mode.
        assert mode_of(path) == 0o600
        assert mode_of(Path(f"{path}-wal")) == 0o600
    db.close()


def test_an_existing_sqlite_file_readable_by_others_is_made_owner_only(tmp_path):
    path = tmp_path / "thermablate.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    connect(f"sqlite:///{path}").close()
    assert mode_of(path) == 0o600


def test_the_embedded_deployment_keeps_its_data_private(tmp_path):
    expression = (
        "__import__('django').setup() or "
        "__import__('django.db').db.connection.ensure_connection() or 'connected'"
    )
    result = run_settings(tmp_path, expression, DATABASE_URL="")
    assert result.stdout.strip() == "connected", result.stderr
    assert mode_of(tmp_path / "data") == 0o700
    assert mode_of(tmp_path / "data" / "thermablate.sqlite3") == 0o600
