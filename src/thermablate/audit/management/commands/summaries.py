"""thermablate summaries [--rebuild]: bring the audit's per-procedure summaries and the kept
data-quality findings up to date.

Reports and the Data quality page do this themselves for what they show; run it after an
upgrade, a restore or a bulk load so that the first report and the first Data quality page do
not pay for building everything (about half a millisecond a procedure), or with --rebuild to
recompute every summary and every patient's findings from the records."""

import time

from django.core.management.base import BaseCommand

from thermablate.audit import summaries
from thermablate.audit.models import CaseSummary
from thermablate.registry import findings_store
from thermablate.registry.models import Patient, Procedure


class Command(BaseCommand):
    help = (
        "Build the outcomes audit's per-procedure summaries and the kept data-quality findings "
        "that are missing or out of date."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="recompute every summary, not only stale ones"
        )

    def handle(self, *args, **options):
        if options["rebuild"]:
            CaseSummary.objects.update(stale=True)
            findings_store.mark_every_patient_stale()
        started = time.perf_counter()
        built = summaries.refresh(Procedure.objects.all())
        self.stdout.write(
            f"{built} of {Procedure.objects.count()} procedure summaries built "
            f"in {time.perf_counter() - started:.1f} s ({summaries.derivation()})."
        )
        started = time.perf_counter()
        rebuilt = findings_store.refresh()
        self.stdout.write(
            f"data-quality findings of {rebuilt} patient{'s' if rebuilt != 1 else ''} rebuilt "
            f"(of {Patient.objects.count()}) in {time.perf_counter() - started:.1f} s."
        )
