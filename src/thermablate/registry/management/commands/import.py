"""``thermablate import patients|procedures|assessments FILE.csv --as USERNAME``: all or nothing."""

import csv
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.imports import IMPORT_PERMISSIONS, IMPORTERS


class Command(BaseCommand):
    help = (
        "Import patients, procedures or assessments from CSV; any bad row stores nothing and is "
        "reported (columns: docs/imports.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(IMPORTERS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--as", dest="username", required=True, help="the user the records are entered as"
        )
        parser.add_argument("--progress", action="store_true", help="print a line every 100 rows")

    def handle(self, *args, kind, file, username, progress, **options):
        user = (
            get_user_model()
            .objects.filter(username=username, is_active=True)
            .select_related("staff")
            .first()
        )
        if user is None or getattr(user, "staff", None) is None:
            raise CommandError(f"{username!r} is not an active user attached to a site")
        if not user.has_perm(IMPORT_PERMISSIONS[kind]):
            raise CommandError(f"{username} may not enter clinical records ({kind})")

        def show(rows: int) -> None:
            if rows % 100 == 0:
                self.stdout.write(f"row {rows}")
                sys.stdout.flush()

        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                report = IMPORTERS[kind](
                    csv.DictReader(handle),
                    site=user.staff.site,
                    acting_user=user,
                    progress=show if progress else None,
                )
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CommandError(f"{file} is not a readable CSV file: {exc}") from None
        if not report.ok:
            for line, message in report.errors:
                self.stderr.write(f"line {line}: {message}")
            raise CommandError(
                f"nothing imported: {len(report.errors)} of {report.rows} rows refused"
            )
        self.stdout.write(f"imported {report.rows} {kind}")
