"""A write that finds SQLite locked by another writer (a long import, say) waits for the lock,
and when the lock outlasts the busy timeout the answer is 503 with Retry-After, never a 500.

The lock is real: another connection to the same database file holds ``BEGIN IMMEDIATE``,
as an import in another process does. So the tests run on a file, not the suite's shared
in-memory database, with a busy timeout shortened from the settings' 20 s.
"""

import hashlib
import logging
import sqlite3
import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from tests.factories import login
from thermablate.registry.models import ApiToken, Patient, Site
from thermablate.web.middleware import DATABASE_BUSY_RETRY_AFTER_S, SIGNED_IN_AT_SESSION_KEY

pytestmark = pytest.mark.django_db(transaction=True)

BUSY_TIMEOUT_S = 2
RAW_TOKEN = "tb_test_token_busy_0123456789abcdef"
NEW_PATIENT = {"nhs_number": "943 476 5870", "year_of_birth": 1961, "sex": "female"}


@pytest.fixture
def file_database(tmp_path):
    """The test database copied to a file, which Django's connection then uses, with the
    settings' SQLite options (IMMEDIATE transactions, WAL) and a short busy timeout."""
    if connection.vendor != "sqlite":
        pytest.skip("the write lock and its busy timeout are SQLite's; PostgreSQL waits on rows")
    connection.ensure_connection()
    in_memory = connection.connection
    path = tmp_path / "thermablate.sqlite3"
    copy = sqlite3.connect(path)
    in_memory.backup(copy)
    copy.close()
    saved_name, saved_options = (
        connection.settings_dict["NAME"],
        connection.settings_dict["OPTIONS"],
    )
    connection.settings_dict["NAME"] = str(path)
    connection.settings_dict["OPTIONS"] = {**saved_options, "timeout": BUSY_TIMEOUT_S}
    connection.connection = None  # the next query connects to the file
    try:
        yield path
    finally:
        connection.close()
        connection.settings_dict["NAME"] = saved_name
        connection.settings_dict["OPTIONS"] = saved_options
        connection.connection = in_memory  # the suite's database, kept open all along


@pytest.fixture
def bearer(file_database, clinician):
    ApiToken.objects.create(
        user=clinician,
        name="EPR feed",
        key_hash=hashlib.sha256(RAW_TOKEN.encode()).hexdigest(),
        scope=ApiToken.Scope.READ_WRITE,
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {RAW_TOKEN}"}


def hold_write_lock(path, *, held: threading.Event, release: threading.Event, seconds: float):
    """Another writer: takes the write lock and keeps it for ``seconds`` or until released."""
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(seconds)
        writer.execute("COMMIT")
    finally:
        writer.close()


@pytest.fixture
def write_lock(file_database):
    """Hold the write lock from another connection, for a while or until the test ends."""
    release = threading.Event()
    threads = []

    def hold(seconds: float = 60) -> None:
        held = threading.Event()
        thread = threading.Thread(
            target=hold_write_lock,
            args=(file_database,),
            kwargs={"held": held, "release": release, "seconds": seconds},
        )
        thread.start()
        threads.append(thread)
        assert held.wait(5), "the other writer never got the lock"

    yield hold
    release.set()
    for thread in threads:
        thread.join()


def test_the_connection_waits_for_the_lock_with_write_ahead_logging(file_database):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == BUSY_TIMEOUT_S * 1000
    assert connection.transaction_mode == "IMMEDIATE"


def test_a_transaction_takes_the_write_lock_at_its_start(file_database):
    # An action validates (reads) before it saves. Were the lock taken only at the first
    # write, a writer committing in between would leave the transaction's snapshot stale,
    # and SQLite fails that write at once, busy timeout or not.
    with transaction.atomic():
        assert not Site.objects.filter(code="site-z").exists()
        other_writer = sqlite3.connect(file_database, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other_writer.execute("BEGIN IMMEDIATE")
        other_writer.close()
        Site.objects.create(code="site-z", name="Site Z Hospital")
    assert Site.objects.filter(code="site-z").exists()


def test_it_answers_an_api_write_503_with_retry_after_when_the_lock_outlasts_the_timeout(
    client, bearer, write_lock, caplog
):
    write_lock()  # for longer than the busy timeout
    with caplog.at_level(logging.WARNING, logger="thermablate.web.middleware"):
        response = client.post(
            "/api/patients", NEW_PATIENT, content_type="application/json", **bearer
        )
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_BUSY_RETRY_AFTER_S)
    assert response["Content-Type"] == "application/json"
    assert "try again" in response.json()["detail"]
    assert "Database locked: POST /api/patients answered 503" in caplog.text


def test_it_answers_a_page_that_writes_503_with_retry_after(client, clinician, patient, write_lock):
    # Showing a patient's identifiers writes an audit entry: a read that writes.
    login(client, clinician)
    write_lock()  # for longer than the busy timeout
    response = client.get(reverse("patient_detail", args=[patient.registry_number]))
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_BUSY_RETRY_AFTER_S)
    page = response.content.decode()
    assert "The service is busy" in page and "check whether it was saved" in page


def test_it_answers_503_when_saving_the_session_finds_the_lock(clinician, write_lock, caplog):
    # The home page itself writes nothing; the session saved with every response does, and
    # Django would report its failure as a 400 "session interrupted".
    login(client := Client(), clinician)
    write_lock()  # for longer than the busy timeout
    with caplog.at_level(logging.WARNING, logger="thermablate.web.middleware"):
        response = client.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_BUSY_RETRY_AFTER_S)
    assert "saving the session still found the write lock held" in caplog.text


def test_it_answers_503_when_a_middleware_write_finds_the_lock(clinician, write_lock, caplog):
    # A session past its absolute lifetime is signed out by a middleware before any view,
    # which deletes the session: Django turns that error into a 500 before any middleware
    # outside sees the exception.
    login(client := Client(raise_request_exception=False), clinician)
    session = client.session
    session[SIGNED_IN_AT_SESSION_KEY] = 0  # signed in in 1970
    session.save()
    write_lock()  # for longer than the busy timeout
    with caplog.at_level(logging.WARNING, logger="thermablate.web.middleware"):
        response = client.get(reverse("home"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_BUSY_RETRY_AFTER_S)
    assert "a middleware still found the write lock held" in caplog.text


def test_a_write_waits_for_a_lock_released_within_the_timeout(client, bearer, write_lock):
    write_lock(0.5)
    started = time.monotonic()
    response = client.post("/api/patients", NEW_PATIENT, content_type="application/json", **bearer)
    assert response.status_code == 201, response.content
    assert time.monotonic() - started >= 0.4, "the write should have waited for the lock"
    assert Patient.objects.filter(registry_number=response.json()["registry_number"]).exists()
