import pytest
from django.core.exceptions import ImproperlyConfigured

from thermablate.web.env import database_from_url, env_bool, env_int, env_list


def test_it_reads_booleans_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("DEBUG", "yes")
    assert env_bool("DEBUG", False) is True
    monkeypatch.setenv("DEBUG", "0")
    assert env_bool("DEBUG", True) is False
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)


def test_it_refuses_a_non_integer_or_too_small_value(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("SESSION_IDLE_MINUTES", 30)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("SESSION_IDLE_MINUTES", 30, minimum=1)


def test_it_splits_host_lists(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "thermablate.nhs.uk, localhost ,")
    assert env_list("ALLOWED_HOSTS", []) == ["thermablate.nhs.uk", "localhost"]


def test_it_reads_sqlite_and_postgresql_urls():
    assert database_from_url("sqlite:////var/lib/tb/db.sqlite3")["NAME"] == "/var/lib/tb/db.sqlite3"
    pg = database_from_url("postgresql://tb:s%40cret@db.example:6543/registry?sslmode=require")
    assert (pg["ENGINE"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "django.db.backends.postgresql",
        "tb",
        "s@cret",
        "db.example",
        "6543",
        "registry",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize("url", ["mysql://x@y/z", "postgresql://x@y/", "sqlite://", "nonsense"])
def test_it_refuses_unsupported_or_incomplete_database_urls(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


def test_a_wrong_setting_stops_start_up_with_a_clear_message(tmp_path):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": "mysql://nobody@nowhere/x",
        "THERMABLATE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "thermablate.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DATABASE_URL='mysql://nobody@nowhere/x': unsupported database" in result.stderr
