"""``thermablate worker``: the background worker (django-tasks' database worker: plans run
there), with the periodic jobs beside it, each in its own thread:

- every ``RECOVERY_EVERY_S``, and at start, the plans a stopped worker left running are put
  right (``plans.recovery.recover_stalled``);
- every ``REMINDERS_EVERY_S``, the follow-up invitations and reminders that are due are
  sent (``proms.sender.run``, as
  ``thermablate send_reminders`` does; idempotent, so a cron job may run it as well).

It lives in the project, not in an app, because it runs the jobs of several apps."""

import threading
import time
from collections.abc import Callable

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections, connection

from thermablate.plans.recovery import recover_stalled
from thermablate.proms import sender

RECOVERY_EVERY_S = 30.0
REMINDERS_EVERY_S = 300.0
RETRY_AFTER_S = 5.0


def _recover(stdout) -> None:
    for plan_id, what in recover_stalled():
        stdout.write(f"plan {plan_id}: {what}")


def _send_reminders(stdout) -> None:
    # Even with no e-mail or text set up: the invitations open and the call-and-letter list
    # fills, for the letters staff print.
    stdout.write(f"send_reminders: {sender.run()}")


def _every(period_s: float, job: Callable, stdout, stop: threading.Event) -> None:
    while not stop.wait(period_s):
        try:
            close_old_connections()
            job(stdout)
        except Exception as exc:  # a database hiccup must not end the worker
            stdout.write(f"{job.__name__.strip('_')} failed: {exc}")
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run background tasks (plans) and the periodic jobs (stalled plans, reminders)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")

    def handle(self, *args, batch: bool, interval: float, **options):
        _recover(self.stdout)
        try:
            _send_reminders(self.stdout)  # what fell due while no worker ran
        except Exception as exc:  # a broken e-mail set-up must not stop the plans
            self.stdout.write(f"send_reminders failed: {exc}")
        worker_args = ["--interval", str(interval), "--no-reload", "--no-startup-delay"]
        if batch:
            call_command("db_worker", *worker_args, "--batch")
            return
        stop = threading.Event()
        for period_s, job in ((RECOVERY_EVERY_S, _recover), (REMINDERS_EVERY_S, _send_reminders)):
            threading.Thread(
                target=_every, args=(period_s, job, self.stdout, stop), daemon=True
            ).start()
        try:
            while True:
                try:
                    call_command("db_worker", *worker_args)
                    return
                except OperationalError as exc:
                    # The database went away or stayed locked past its timeout: django-tasks'
                    # loop ends on it. Wait and poll again rather than leave plans unrun.
                    self.stdout.write(f"database unavailable ({exc}); polling again shortly")
                    connection.close()
                    time.sleep(RETRY_AFTER_S)
        finally:
            stop.set()
