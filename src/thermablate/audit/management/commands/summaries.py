"""thermablate summaries [--rebuild]: bring the audit's per-procedure summaries up to date.

Reports do this themselves for their cohort; run it after an upgrade, a restore or a bulk load
so that the first report does not pay for building every summary (about half a millisecond a
procedure), or with --rebuild to recompute every summary from the records."""

import time

from django.core.management.base import BaseCommand

from thermablate.audit import summaries
from thermablate.audit.models import CaseSummary
from thermablate.registry.models import Procedure


class Command(BaseCommand):
    help = "Build the outcomes audit's per-procedure summaries that are missing or out of date."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="recompute every summary, not only stale ones"
        )

    def handle(self, *args, **options):
        if options["rebuild"]:
            CaseSummary.objects.update(stale=True)
        started = time.perf_counter()
        built = summaries.refresh(Procedure.objects.all())
        self.stdout.write(
            f"{built} of {Procedure.objects.count()} procedure summaries built "
            f"in {time.perf_counter() - started:.1f} s ({summaries.derivation()})."
        )
