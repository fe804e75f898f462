"""API tokens get a public id, a scope, an expiry and a revocation time.

Tokens issued before this migration had full access (every read and write of the API their
user's role allows) and never expired. They keep that access, as scope ``read-write``, so the
systems using them do not stop at the upgrade, and they expire 90 days after this migration
runs: that long to issue replacements with the scope each system needs
(``thermablate api_token create USERNAME --scope read``). Each gets a random public id, so it
can be listed and revoked on its own; their token strings predate the id and do not carry it.
New tokens are read-only unless issued otherwise.
"""

import secrets
from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

import thermablate.registry.models

EXISTING_TOKENS_LIFETIME = timedelta(days=90)
# As registry.models at the time of writing; a migration keeps its own copy.
PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def expire_and_name_existing_tokens(apps, schema_editor):
    ApiToken = apps.get_model("registry", "ApiToken")
    expires_at = timezone.now() + EXISTING_TOKENS_LIFETIME
    taken = set()
    for api_token in ApiToken.objects.using(schema_editor.connection.alias).order_by("pk"):
        public_id = None
        while public_id is None or public_id in taken:
            public_id = "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(8))
        taken.add(public_id)
        api_token.public_id = public_id
        api_token.expires_at = expires_at
        api_token.save(update_fields=["public_id", "expires_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_record_versions"),
    ]

    operations = [
        # Existing rows first get what they had (full access), then new rows default to read.
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read only (GET)"), ("read-write", "read and write")],
                default="read-write",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="public_id",
            field=models.CharField(editable=False, max_length=8, null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(expire_and_name_existing_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read only (GET)"), ("read-write", "read and write")],
                default="read",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="public_id",
            field=models.CharField(
                default=thermablate.registry.models.new_api_token_public_id,
                editable=False,
                max_length=8,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(
                default=thermablate.registry.models.api_token_default_expiry
            ),
        ),
    ]
