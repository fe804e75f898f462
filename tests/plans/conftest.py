import pytest


@pytest.fixture(autouse=True)
def _in_process_worker_keeps_the_tests_connection(monkeypatch):
    """These tests run the database worker in process (``thermablate worker --batch``), on the
    connection whose open transaction holds the test's data. django-tasks-db's worker closes
    "old" connections as it polls, as a long-running process should; here that would close
    the test's own (Django's test client disconnects the same handler for the same reason)."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
