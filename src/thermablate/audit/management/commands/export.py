"""thermablate export --format csv|fhir --out FILE [--pseudonymised] [--site CODE] [--user NAME]"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from thermablate.audit.exports.run import export
from thermablate.registry.models import Site


class Command(BaseCommand):
    help = (
        "Export the registry for a register: a CSV (one row per procedure) or a FHIR R4 Bundle. "
        "Without --pseudonymised the file holds NHS numbers and exact dates. Every export is "
        "recorded in the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "fhir"], required=True)
        parser.add_argument("--out", required=True, help="file to write")
        parser.add_argument(
            "--pseudonymised",
            action="store_true",
            help="no NHS number or registry number; dates as intervals (CSV) or shifted (FHIR)",
        )
        parser.add_argument("--site", help="site code (default: every site)")
        parser.add_argument("--user", help="username of the person exporting, for the audit trail")

    def handle(self, *args, **options):
        site = None
        if options["site"]:
            site = Site.objects.filter(code=options["site"].lower()).first()
            if site is None:
                raise CommandError(f"no site with code {options['site']!r}")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        out = Path(options["out"])
        if not out.parent.exists():
            raise CommandError(f"folder {out.parent} does not exist")
        patients, procedures = export(
            export_format=options["format"],
            out=out,
            pseudonymised=options["pseudonymised"],
            site=site,
            acting_user=user,
        )
        kind = "pseudonymised" if options["pseudonymised"] else "IDENTIFIABLE"
        self.stdout.write(
            f"Wrote {procedures} procedures of {patients} patients to {out} ({options['format']}, {kind})."
        )
