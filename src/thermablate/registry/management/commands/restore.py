from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.backup import RestoreError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup into an empty, migrated database (all or nothing), after checking "
        "that the whole file is what `thermablate backup` wrote with THERMABLATE_BACKUP_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data"
        )
        parser.add_argument(
            "--unencrypted",
            action="store_true",
            help="restore an unencrypted backup written by an earlier version (format 1); "
            "nothing can prove such a file unchanged, so only one you trust",
        )

    def handle(self, *args, file, force, unencrypted, **options):
        try:
            manifest = restore_backup(file, force=force, unencrypted=unencrypted)
        except RestoreError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {sum(manifest['counts'].values())} rows from {file}")
