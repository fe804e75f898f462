from pathlib import Path

from django.core.management.base import BaseCommand

from thermablate.registry.backup import write_backup


class Command(BaseCommand):
    help = "Write a backup of the whole database (SQLite or PostgreSQL) to FILE (gzip JSON)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        manifest = write_backup(file)
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            f"backup written to {file}: {rows} rows in {len(manifest['counts'])} tables"
        )
