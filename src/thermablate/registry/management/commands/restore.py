from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.backup import RestoreError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup into an empty, migrated database (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data"
        )

    def handle(self, *args, file, force, **options):
        try:
            manifest = restore_backup(file, force=force)
        except RestoreError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {sum(manifest['counts'].values())} rows from {file}")
