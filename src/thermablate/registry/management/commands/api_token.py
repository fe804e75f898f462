"""``thermablate api_token``: bearer tokens for other hospital systems.

- ``create USERNAME --name "EPR feed" [--scope read|read-write] [--expires-in-days N]``: a new
  token, printed once (only its SHA-256 hash is stored); read-only and 90 days unless chosen
  otherwise, at most 366 days.
- ``list USERNAME``: the user's tokens by name and public id, with scope, dates and revocation.
- ``revoke --token ID``: one token; ``revoke USERNAME --all``: every token of the user.

A revoked token is kept, marked with the time, so the audit trail that names it stays
readable. ``--by ADMIN`` names who ran the command in that trail. The rules themselves live in
``registry.token_lifecycle``; this only parses and reports.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from thermablate.registry import token_lifecycle
from thermablate.registry.models import ApiToken
from thermablate.registry.token_lifecycle import local_time

_BY_HELP = "the administrator running the command, named in the audit trail"
_REVOKE_TARGET = "say which: revoke --token ID or USERNAME --all"


class Command(BaseCommand):
    help = "Create, list or revoke API bearer tokens (a token acts with its user's site and role)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="issue a token (printed once)")
        create.add_argument("username")
        create.add_argument(
            "--name", default="API client", help="what the token is for, e.g. 'EPR feed'"
        )
        create.add_argument(
            "--scope",
            choices=ApiToken.Scope.values,
            default=ApiToken.Scope.READ,
            help="read: GET only (the default); read-write: also create and change records",
        )
        create.add_argument(
            "--expires-in-days",
            type=int,
            default=token_lifecycle.DEFAULT_LIFETIME_DAYS,
            help=f"lifetime in days, 1 to {token_lifecycle.MAX_LIFETIME_DAYS} (default: "
            f"{token_lifecycle.DEFAULT_LIFETIME_DAYS})",
        )
        create.add_argument("--by", metavar="ADMIN", help=_BY_HELP)

        listing = actions.add_parser("list", help="a user's tokens, revoked ones included")
        listing.add_argument("username")

        revoke = actions.add_parser("revoke", help="revoke one token, or all of a user's")
        revoke.add_argument("username", nargs="?", help="with --all: whose tokens")
        revoke.add_argument(
            "--all", dest="every_token", action="store_true", help="every token of USERNAME"
        )
        revoke.add_argument("--token", metavar="ID", help="the public id of one token")
        revoke.add_argument("--by", metavar="ADMIN", help=_BY_HELP)

    def handle(self, *args, action, **options):
        {"create": self.create, "list": self.list_tokens, "revoke": self.revoke}[action](**options)

    # ---- actions ----------------------------------------------------------------------------

    def create(self, *, username, name, scope, expires_in_days, by, **options):
        user = (
            get_user_model()
            .objects.filter(username=username, is_active=True)
            .select_related("staff")
            .first()
        )
        if user is None:
            raise CommandError(f"no active user {username!r}")
        if getattr(user, "staff", None) is None:
            raise CommandError(
                f"{username} is not attached to a site, so a token could reach nothing"
            )
        try:
            issued = token_lifecycle.issue_token(
                user,
                name=name,
                scope=scope,
                lifetime_days=expires_in_days,
                acting_user=self._administrator(by),
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        api_token = issued.api_token
        self.stdout.write(
            f"token for {username} ({name}), id {api_token.public_id}, scope {scope}, "
            f"expires {local_time(api_token.expires_at)}; shown once, keep it secret:\n{issued.bearer}"
        )

    def list_tokens(self, *, username, **options):
        user = self._any_user(username)  # an inactive user's tokens are worth seeing too
        tokens = ApiToken.objects.filter(user=user).order_by("created_at", "pk")
        if not tokens:
            self.stdout.write(f"{username} has no tokens")
            return
        now = timezone.now()
        header = ("name", "id", "scope", "created", "expires", "last used", "revoked")
        rows = [
            (
                t.name,
                t.public_id,
                t.scope,
                local_time(t.created_at),
                local_time(t.expires_at) + (" (expired)" if t.expires_at <= now else ""),
                local_time(t.last_used_at) or "never",
                local_time(t.revoked_at) or "-",
            )
            for t in tokens
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def revoke(self, *, username, every_token, token, by, **options):
        if token and (username or every_token):
            raise CommandError(f"{_REVOKE_TARGET}, not both")
        if not token and not (username and every_token):
            # A bare USERNAME once revoked everything; now that must be asked for with --all.
            raise CommandError(_REVOKE_TARGET)
        acting_user = self._administrator(by)
        if token:
            api_token = ApiToken.objects.select_related("user").filter(public_id=token).first()
            if api_token is None:
                raise CommandError(f"no token with id {token!r}")
            label = f"{api_token.public_id} ({api_token.name}) of {api_token.user.username}"
            if token_lifecycle.revoke_token(
                api_token, acting_user=acting_user, reason="revoked on the command line"
            ):
                self.stdout.write(f"revoked token {label}")
            else:
                self.stdout.write(
                    f"token {label} was already revoked on {local_time(api_token.revoked_at)}"
                )
            return
        user = self._any_user(username)
        count = token_lifecycle.revoke_all_tokens(
            user,
            acting_user=acting_user,
            reason="all of the user's tokens revoked on the command line",
        )
        self.stdout.write(f"revoked {count} token(s) of {username}")

    # ---- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _any_user(username):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    @staticmethod
    def _administrator(username):
        if not username:
            return None  # the trail shows the command line (no named user)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--by: no active user {username!r}")
        return user
