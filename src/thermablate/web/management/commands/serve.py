"""``thermablate serve``: the production web server, gunicorn, started with Thermablate's defaults.

The command refuses what a production server must not run with (DEBUG on) or cannot serve
pages without (static files not collected), then replaces itself with gunicorn, so a service
manager's signals and process id reach gunicorn's master directly. Options in
``GUNICORN_CMD_ARGS`` still apply where this command sets none.
"""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from thermablate.web.env import env_int

WSGI_APPLICATION = "thermablate.web.wsgi:application"
DEFAULT_BIND = "127.0.0.1:8000"  # loopback: the reverse proxy in front is what clients reach
WORKERS_VARIABLE = "THERMABLATE_WORKERS"
DEFAULT_WORKERS = 2
# Longer than gunicorn's 30 s: a governance report's PDF of a large cohort takes a while, and
# a write may wait up to the SQLite busy timeout (20 s) before answering.
DEFAULT_TIMEOUT_S = 60
# No query string and no referrer: a patient search carries an NHS number in its URL, and
# it must not reach the logs. Client address, time, method, path, status, bytes, duration.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def gunicorn_arguments(
    *, bind: str, workers: int, timeout_s: int, trusted_proxies: frozenset[str]
) -> list[str]:
    return [
        WSGI_APPLICATION,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--timeout",
        str(timeout_s),
        "--access-logfile",
        "-",  # standard output, which systemd's journal keeps
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "--error-logfile",
        "-",
        # gunicorn believes X-Forwarded-Proto from 127.0.0.1 unless told otherwise, which
        # would let any local client pose as HTTPS: trust the proxies Django trusts, or none.
        "--forwarded-allow-ips",
        ",".join(sorted(trusted_proxies)),
        # The control socket would go in the service account's home folder, which a system
        # account does not have; systemd already stops and reloads the server.
        "--no-control-socket",
    ]


class Command(BaseCommand):
    help = (
        "Serve Thermablate with gunicorn, the production web server (DEBUG must be false and "
        "static files collected with `thermablate collectstatic`)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=DEFAULT_BIND,
            help=f"address:port to listen on (default {DEFAULT_BIND})",
        )
        parser.add_argument(
            "--workers",
            type=int,
            help=f"worker processes (default: ${WORKERS_VARIABLE}, or {DEFAULT_WORKERS})",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=DEFAULT_TIMEOUT_S,
            help=f"seconds before a silent worker is restarted (default {DEFAULT_TIMEOUT_S})",
        )

    def handle(self, *args, bind: str, workers: int | None, timeout: int, **options):
        if settings.DEBUG:
            raise CommandError(
                "DEBUG is true: the production server runs with DEBUG=false (debug pages show "
                "settings and data); use `thermablate runserver` for development"
            )
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        if not manifest.is_file():
            raise CommandError(
                f"static files are not collected in {settings.STATIC_ROOT} "
                "(THERMABLATE_STATIC_ROOT): run `thermablate collectstatic --no-input` first"
            )
        if workers is None:
            try:
                workers = env_int(WORKERS_VARIABLE, DEFAULT_WORKERS, minimum=1)
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from None
        if workers < 1 or timeout < 1:
            raise CommandError("--workers and --timeout must be at least 1")
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            *gunicorn_arguments(
                bind=bind,
                workers=workers,
                timeout_s=timeout,
                trusted_proxies=settings.TRUSTED_PROXIES,
            ),
        ]
        self.stdout.write(f"Starting gunicorn on {bind} with {workers} workers")
        self.stdout.flush()
        sys.stderr.flush()
        # Replaced, not a child: the service manager's signals go straight to gunicorn.
        os.execv(sys.executable, argv)  # noqa: S606 (a fixed program and list, no shell)
