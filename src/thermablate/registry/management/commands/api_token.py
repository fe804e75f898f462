"""``thermablate api_token create USERNAME --name NAME``: a bearer token for another system.

The token is printed once; only its SHA-256 hash is stored. ``revoke`` deletes a user's tokens.
"""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.models import ApiToken


class Command(BaseCommand):
    help = "Create or revoke API bearer tokens (the token acts with its user's site and role)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="API client", help="what the token is for, e.g. 'EPR feed'"
        )

    def handle(self, *args, action, username, name, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        if action == "revoke":
            count, _ = ApiToken.objects.filter(user=user).delete()
            self.stdout.write(f"revoked {count} token(s) of {username}")
            return
        if getattr(user, "staff", None) is None:
            raise CommandError(
                f"{username} is not attached to a site, so a token could reach nothing"
            )
        token = "tb_" + secrets.token_urlsafe(32)
        ApiToken.objects.create(
            user=user, name=name, key_hash=hashlib.sha256(token.encode()).hexdigest()
        )
        self.stdout.write(f"token for {username} ({name}); shown once, keep it secret:\n{token}")
