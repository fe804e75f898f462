"""``thermablate rotate_keys``: re-encrypt every identifier with the newest field key.

Put the new key first in THERMABLATE_FIELD_KEYS (keep the old one after it), run this, then
remove the old key. ``--rehash`` recomputes lookup hashes after THERMABLATE_HASH_KEY changed.
Each patient is rewritten by the registry's writer, with one audit entry naming the old and new
key ids (never the number); a patient already under the newest key is left alone, so the
command can be re-run after an interruption.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from thermablate.registry import actions
from thermablate.registry.models import Patient


class Command(BaseCommand):
    help = (
        "Re-encrypt NHS numbers with the newest key (and optionally recompute their lookup hashes)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rehash", action="store_true", help="recompute the keyed lookup hashes too"
        )
        parser.add_argument(
            "--user", help="the administrator running the rotation, named in the audit trail"
        )

    def handle(self, *args, rehash, user=None, **options):
        acting_user = None
        if user:
            acting_user = get_user_model().objects.filter(username=user, is_active=True).first()
            if acting_user is None:
                raise CommandError(f"no active user {user!r}")
        count = 0
        with transaction.atomic():
            for patient in Patient.objects.only("pk").order_by("pk").iterator():
                count += actions.reencrypt_identifiers(
                    patient, acting_user=acting_user, rehash=rehash
                )
        self.stdout.write(
            f"re-encrypted {count} NHS number(s){' and recomputed their hashes' if rehash else ''}"
        )
