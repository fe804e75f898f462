"""Encrypt NHS numbers at rest and look them up by keyed hash (existing rows included)."""

from django.db import migrations, models

import thermablate.registry.fields
import thermablate.registry.validators


def encrypt_existing(apps, schema_editor):
    Patient = apps.get_model("registry", "Patient")
    for patient in Patient.objects.all().iterator():
        # Reading returns the plain value (old rows are plain text); saving encrypts it, and
        # the hash field fills itself in from the plain value.
        patient.save(update_fields=["nhs_number", "nhs_number_hash"])


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_audit_hash_chain")]

    operations = [
        migrations.RemoveConstraint(model_name="patient", name="unique_nhs_number_per_site"),
        migrations.AlterField(
            model_name="patient",
            name="nhs_number",
            field=thermablate.registry.fields.EncryptedTextField(
                help_text="10 digits",
                validators=[thermablate.registry.validators.validate_nhs_number],
                verbose_name="NHS number",
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="nhs_number_hash",
            field=thermablate.registry.fields.KeyedHashField(
                db_index=True, default="", editable=False, max_length=64, source="nhs_number"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                fields=("site", "nhs_number_hash"),
                name="unique_nhs_number_per_site",
                violation_error_message="A patient with this NHS number is already registered at this site.",
            ),
        ),
    ]
