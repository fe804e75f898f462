"""`thermablate serve`: what it refuses, and how it starts gunicorn (without starting it; the
real server is tests/web/test_production_server.py)."""

import sys

import pytest
from django.core.management import CommandError, call_command

from thermablate.web.management.commands import serve


@pytest.fixture
def collected_static_root(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    return tmp_path


@pytest.fixture
def started(monkeypatch):
    """The argv the command would replace itself with."""
    calls = []
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: calls.append((path, argv)))
    return calls


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_it_refuses_to_serve_with_debug_on(settings, collected_static_root, started):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="DEBUG is true"):
        call_command("serve")
    assert started == []


def test_it_refuses_to_serve_before_static_files_are_collected(settings, tmp_path, started):
    settings.STATIC_ROOT = tmp_path
    with pytest.raises(CommandError, match="collectstatic"):
        call_command("serve")
    assert started == []


def test_it_starts_gunicorn_on_loopback_with_two_workers_by_default(
    collected_static_root, started, monkeypatch
):
    monkeypatch.delenv("THERMABLATE_WORKERS", raising=False)
    call_command("serve")
    [(path, argv)] = started
    assert path == sys.executable and argv[1:4] == ["-m", "gunicorn", serve.WSGI_APPLICATION]
    assert option(argv, "--bind") == "127.0.0.1:8000"
    assert option(argv, "--workers") == "2"
    assert option(argv, "--access-logfile") == "-"
    assert "%(q)s" not in option(argv, "--access-logformat")  # no query strings in the log


def test_it_takes_the_workers_from_the_environment(collected_static_root, started, monkeypatch):
    monkeypatch.setenv("THERMABLATE_WORKERS", "5")
    call_command("serve", "--bind", "127.0.0.1:9000")
    [(_, argv)] = started
    assert option(argv, "--workers") == "5" and option(argv, "--bind") == "127.0.0.1:9000"


def test_a_wrong_worker_count_names_the_variable(collected_static_root, started, monkeypatch):
    monkeypatch.setenv("THERMABLATE_WORKERS", "many")
    with pytest.raises(CommandError, match="THERMABLATE_WORKERS"):
        call_command("serve")


def test_gunicorn_trusts_forwarded_headers_only_from_the_trusted_proxies(
    settings, collected_static_root, started
):
    settings.TRUSTED_PROXIES = frozenset({"10.0.0.2", "127.0.0.1"})
    call_command("serve")
    assert option(started[0][1], "--forwarded-allow-ips") == "10.0.0.2,127.0.0.1"


def test_with_no_trusted_proxy_gunicorn_trusts_none(settings, collected_static_root, started):
    # gunicorn's own default believes 127.0.0.1, which would let a local client pose as HTTPS.
    settings.TRUSTED_PROXIES = frozenset()
    call_command("serve")
    assert option(started[0][1], "--forwarded-allow-ips") == ""
