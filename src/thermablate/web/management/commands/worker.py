"""``thermablate worker``: the background worker (django-tasks' database worker), which also
puts right, at start and then every ``RECOVERY_EVERY_S``, the plans a stopped worker left
running (``plans.runner.recover_stalled``)."""

import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections, connection

from thermablate.plans.runner import recover_stalled

RECOVERY_EVERY_S = 30.0
RETRY_AFTER_S = 5.0


def _recover(stdout) -> None:
    for plan_id, what in recover_stalled():
        stdout.write(f"plan {plan_id}: {what}")


def _keep_recovering(stdout, stop: threading.Event) -> None:
    while not stop.wait(RECOVERY_EVERY_S):
        try:
            close_old_connections()
            _recover(stdout)
        except Exception as exc:  # a database hiccup must not end the worker
            stdout.write(f"recovery of stalled plans failed: {exc}")
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run background tasks (plans), retrying the runs a stopped worker left behind."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")

    def handle(self, *args, batch: bool, interval: float, **options):
        _recover(self.stdout)
        worker_args = ["--interval", str(interval), "--no-reload", "--no-startup-delay"]
        if batch:
            call_command("db_worker", *worker_args, "--batch")
            return
        stop = threading.Event()
        threading.Thread(target=_keep_recovering, args=(self.stdout, stop), daemon=True).start()
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
