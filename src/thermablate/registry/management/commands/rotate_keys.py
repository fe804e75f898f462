"""``thermablate rotate_keys``: re-encrypt every identifier with the newest field key.

Put the new key first in THERMABLATE_FIELD_KEYS (keep the old one after it), run this, then
remove the old key. ``--rehash`` recomputes lookup hashes after THERMABLATE_HASH_KEY changed.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from thermablate.registry.fields import identifier_hash, rotate
from thermablate.registry.models import Patient


class Command(BaseCommand):
    help = (
        "Re-encrypt NHS numbers with the newest key (and optionally recompute their lookup hashes)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rehash", action="store_true", help="recompute the keyed lookup hashes too"
        )

    @transaction.atomic
    def handle(self, *args, rehash, **options):
        count = 0
        for pk, stored in Patient.objects.values_list("pk", "nhs_number").iterator():
            # values_list decrypts; rotate() re-encrypts the plain value under the newest key.
            updates = {"nhs_number": rotate(stored)}
            if rehash:
                updates["nhs_number_hash"] = identifier_hash(stored)
            Patient.objects.filter(pk=pk).update(**updates)
            count += 1
        self.stdout.write(
            f"re-encrypted {count} NHS number(s){' and recomputed their hashes' if rehash else ''}"
        )
