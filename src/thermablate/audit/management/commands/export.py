"""thermablate export --format csv|fhir --out FILE (--pseudonymised | --identifiable)
--user NAME [--site CODE | --all-sites]"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from thermablate.audit.exports.run import export
from thermablate.registry.models import Site

CHOOSE_CONTENT = (
    "choose what the file may hold: --pseudonymised (a keyed pseudonym, no NHS number, registry "
    "number or birth year, dates as intervals or shifted) or --identifiable (NHS numbers and "
    "exact dates: patient data)"
)


class Command(BaseCommand):
    help = (
        "Export the registry for a register: a CSV (one row per procedure) or a FHIR R4 Bundle, "
        "pseudonymised or, when asked for explicitly, identifiable. Every export is recorded "
        "in the audit trail with the user who ran it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "fhir"], required=True)
        parser.add_argument("--out", required=True, help="file to write")
        content = parser.add_mutually_exclusive_group()
        content.add_argument(
            "--pseudonymised",
            action="store_true",
            help="no NHS number or registry number; dates as intervals (CSV) or shifted (FHIR)",
        )
        content.add_argument(
            "--identifiable",
            action="store_true",
            help="NHS numbers, registry numbers and exact dates: handle the file as patient data",
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--site", help="site code (default: the exporting user's own site)")
        scope.add_argument(
            "--all-sites",
            action="store_true",
            help="every site's patients (a superuser only: a national register's export)",
        )
        parser.add_argument(
            "--user",
            help="username of the person exporting (required; an active user), for the audit trail",
        )

    def handle(self, *args, **options):
        # Identifiable data leaves only when asked for by name, never by forgetting a flag.
        if not (options["pseudonymised"] or options["identifiable"]):
            raise CommandError(f"Refused: {CHOOSE_CONTENT}.")
        user = self._active_user(options["user"])
        site = self._site(user, options["site"], options["all_sites"])
        out = Path(options["out"])
        if not out.parent.exists():
            raise CommandError(f"folder {out.parent} does not exist")
        pseudonymised = options["pseudonymised"]
        written = export(
            export_format=options["format"],
            out=out,
            pseudonymised=pseudonymised,
            site=site,
            acting_user=user,
        )
        kind = "pseudonymised" if pseudonymised else "IDENTIFIABLE"
        self.stdout.write(
            f"Wrote {written.procedures} procedures of {written.patients} patients to {out} "
            f"({options['format']}, {kind})."
        )
        if written.left_out:
            self.stdout.write(f"{written.describe_left_out()}.")

    @staticmethod
    def _site(user, code: str | None, all_sites: bool):
        """The site to export: the user's own unless a superuser chooses; None for every
        site. Someone who works at one site exports that site's patients only, whoever runs
        the command (it had exported every site's, by default)."""
        own = getattr(getattr(user, "staff", None), "site", None)
        if all_sites:
            if not user.is_superuser:
                raise CommandError(
                    f"Refused: {user.username!r} is not a superuser: --all-sites exports every "
                    "site's patients."
                )
            return None
        if code is None:
            if own is None:
                raise CommandError(
                    f"Refused: {user.username!r} has no site of their own: name one with "
                    "--site, or export every site with --all-sites."
                )
            return own
        site = Site.objects.filter(code=code.lower()).first()
        if site is None:
            raise CommandError(f"no site with code {code!r}")
        if own is not None and site != own and not user.is_superuser:
            raise CommandError(
                f"Refused: {user.username!r} works at {own.code.upper()}: they cannot export "
                f"the patients of {site.code.upper()}."
            )
        return site

    @staticmethod
    def _active_user(username: str | None):
        """The person exporting: the audit trail must name who took the data out."""
        if not username:
            raise CommandError(
                "Refused: --user is required: the username of the person exporting, "
                "recorded in the audit trail."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Refused: no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"Refused: user {username!r} is not active.")
        return user
