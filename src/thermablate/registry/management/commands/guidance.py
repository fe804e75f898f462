"""``thermablate guidance import FILE...``: store NICE documents in the catalogue.

(``thermablate guidance parse`` is answered by the pure parser before Django starts.)
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from thermablate.guidance.models import Guidance
from thermablate.guidance.parser import parse
from thermablate.registry.actions import import_record


def _known_key(record) -> str | None:
    """A document without an id (a consultation draft, an old page) that is already in the
    catalogue under the same kind and title keeps its key."""
    if record.guidance_id or record.project_id or not record.title:
        return None
    existing = Guidance.objects.filter(kind=record.kind, title=record.title).first()
    return existing.key if existing else None


class Command(BaseCommand):
    help = "Import NICE guidance documents (text, HTML or PDF text) into the catalogue."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        importer = sub.add_parser(
            "import", help="parse and store documents; a changed document becomes a new version"
        )
        importer.add_argument("files", nargs="+", type=Path)
        importer.add_argument(
            "--key",
            help="catalogue key to use (one file only), e.g. when the document states no id",
        )

    def handle(self, *args, action, files, key=None, **options):
        if key and len(files) > 1:
            raise CommandError("--key names one document: give one file with it")
        parsed = []
        for path in files:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            parsed.append((path, parse(text, source=str(path))))
        # All or nothing: one unreadable or uncataloguable document imports none of them.
        results = []
        with transaction.atomic():
            for path, record in parsed:
                try:
                    results.append((path, *import_record(record, key=key or _known_key(record))))
                except ValidationError as exc:
                    transaction.set_rollback(True)
                    raise CommandError(
                        f"nothing imported: {path}: {'; '.join(exc.messages)}"
                    ) from None
        for path, guidance, outcome in results:
            self.stdout.write(
                f"{path}: {guidance.key} {outcome} (version {guidance.version}, recommendation {guidance.recommendation or 'not stated'})"
            )
