from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.backup import write_backup
from thermablate.registry.backup_crypto import KEY_VARIABLE, BackupKeyError
from thermablate.registry.backup_crypto import new_key as fresh_key


class Command(BaseCommand):
    help = (
        "Write a backup of the whole database (SQLite or PostgreSQL) to FILE, encrypted and "
        f"authenticated with {KEY_VARIABLE}; or print a new key (--new-key)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, nargs="?")
        parser.add_argument(
            "--new-key",
            action="store_true",
            help=f"print a fresh random key for {KEY_VARIABLE} and exit",
        )

    def handle(self, *args, file, new_key: bool, **options):
        if new_key:
            # The key alone on standard output, so `$(thermablate backup --new-key)` captures it.
            self.stdout.write(fresh_key())
            self.stderr.write(
                f"Store this key in your secret store, apart from the backups, and set "
                f"{KEY_VARIABLE} to it (newest first, older keys after a comma, to restore "
                f"older backups). A backup cannot be restored without the key that wrote it."
            )
            return
        if file is None:
            raise CommandError("give the FILE to write the backup to (or --new-key)")
        try:
            manifest = write_backup(file)
        except BackupKeyError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            f"backup written to {file}: {rows} rows in {len(manifest['counts'])} tables"
        )
