"""Two API clients saving the same version of a record at the same moment (issue 11, finding
7: "10 of 10 concurrent PUT /api/assessments/{id} pairs both got 200"): exactly one is saved,
the other is told the record changed, and nothing is overwritten.

The race is real: two threads, each with its own database connection, released together by a
barrier, on committed data. It needs PostgreSQL: SQLite takes one writer at a time
(``BEGIN IMMEDIATE``), so its second PUT always reads the first one's version.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from tests.factories import login
from thermablate.registry.models import Assessment, Procedure

pytestmark = pytest.mark.django_db(transaction=True)

PAIRS = 10


def _put_together(url, payloads, users):
    """Each user PUTs its payload, all released at once; returns the status codes."""
    barrier = threading.Barrier(len(payloads))
    statuses = []

    def put(user, payload):
        try:
            client = login(Client(), user)
            barrier.wait(timeout=30)
            response = client.put(url, data=payload, content_type="application/json")
            statuses.append(response.status_code)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=put, args=pair) for pair in zip(users, payloads, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_concurrent_puts_of_one_version_save_exactly_one(procedure, clinician, coordinator):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: its PUTs cannot race")
    month = procedure.assessments.get(timepoint="1m")
    url = f"/api/assessments/{month.pk}"
    when = str(procedure.procedure_date + timedelta(days=30))
    for pair in range(PAIRS):
        version = Assessment.objects.get(pk=month.pk).version
        # After the first pair the assessment is recorded: a change is a correction.
        reason = {"correction_reason": "score read again from the form"} if pair else {}
        # Both change the score (a save that changes nothing is no save): scores 2p and 2p + 1
        # (mod 10), never the one the previous pair left.
        payloads = [
            {"assessed_on": when, "pain_worst": (2 * pair + k) % 10, "version": version, **reason}
            for k in (0, 1)
        ]
        statuses = _put_together(url, payloads, [coordinator, clinician])
        assert sorted(statuses) == [200, 409], f"pair {pair}: {statuses}"
    stored = Assessment.objects.get(pk=month.pk)
    assert stored.version == 1 + PAIRS  # one save per pair, none lost, none doubled


def test_concurrent_corrections_of_a_procedures_cycles_save_exactly_one(
    procedure, clinician, coordinator
):
    """PUT /api/procedures/{id} correcting only the cycles: the procedure's version counts the
    correction, so the second of two made from one version is refused (docs/corrections.md)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: its PUTs cannot race")
    url = f"/api/procedures/{procedure.pk}"
    reader = login(Client(), clinician)
    for pair in range(PAIRS):
        read = reader.get(url).json()
        # Each writer a different cycle, never the one the previous pair left.
        payloads = [
            {
                **read,
                "cycles": [{"target_temp_c": "70", "time_at_target_s": 100 + 2 * pair + k}],
                "reason": "Cycle times read again from the generator log",
            }
            for k in (0, 1)
        ]
        statuses = _put_together(url, payloads, [coordinator, clinician])
        assert sorted(statuses) == [200, 409], f"pair {pair}: {statuses}"
    stored = Procedure.objects.get(pk=procedure.pk)
    assert stored.version == 1 + PAIRS
    assert stored.cycles.count() == 1
