"""Make the audit trail tamper-evident: chain every entry, existing ones included, by hash."""

import hashlib
import json
from datetime import UTC

import django.db.models.deletion
from django.db import migrations, models

GENESIS_HASH = "0" * 64


def chain_existing_entries(apps, schema_editor):
    # The same canonical form as AuditEvent.content_hash (a migration cannot import the model).
    AuditEvent = apps.get_model("registry", "AuditEvent")
    AuditChainHead = apps.get_model("registry", "AuditChainHead")
    previous = GENESIS_HASH
    for entry in AuditEvent.objects.order_by("id").iterator():
        entry.changes = json.loads(json.dumps(entry.changes, default=str))
        content = {
            "at": entry.at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "actor": entry.actor_id,
            "action": entry.action,
            "model": entry.model,
            "object_id": entry.object_id,
            "patient": entry.patient_id,
            "changes": entry.changes,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        entry.previous_hash = previous
        entry.entry_hash = hashlib.sha256(f"{previous}|{canonical}".encode()).hexdigest()
        entry.save(update_fields=["changes", "previous_hash", "entry_hash"])
        previous = entry.entry_hash
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_hash": previous})


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_procedure_opcs_coded_at_procedure_opcs_coded_by_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_hash", models.CharField(default=GENESIS_HASH, max_length=64)),
            ],
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["id"]}),
        migrations.AlterField(
            model_name="auditevent",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="registry.patient",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="entry_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="entry_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
    ]
