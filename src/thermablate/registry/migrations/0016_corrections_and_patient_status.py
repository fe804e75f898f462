"""Records corrected or marked "entered in error" instead of deleted; a patient's status
(died, withdrew, lost to follow-up); a time point that could not be done."""

from django.db import migrations, models

CORRECTABLE = ("lesion", "mdtdecisionrecord", "consent", "procedure", "assessment", "adverseevent")
# These three had no version yet (the others got theirs in 0010).
NEWLY_VERSIONED = ("lesion", "mdtdecisionrecord", "consent")


def _correctable_fields():
    for model in CORRECTABLE:
        yield migrations.AddField(
            model_name=model,
            name="entered_in_error",
            field=models.BooleanField(default=False, editable=False),
        )
        yield migrations.AddField(
            model_name=model,
            name="entered_in_error_reason",
            field=models.TextField(blank=True, editable=False),
        )
    for model in NEWLY_VERSIONED:
        yield migrations.AddField(
            model_name=model,
            name="version",
            field=models.PositiveIntegerField(default=1, editable=False),
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0015_data_quality")]

    operations = [
        *_correctable_fields(),
        migrations.AddField(
            model_name="patient",
            name="status",
            field=models.CharField(
                choices=[
                    ("alive", "Alive, in follow-up"),
                    ("died", "Died"),
                    ("withdrew_follow_up", "Withdrew from follow-up"),
                    ("withdrew_consent", "Withdrew consent to registry use"),
                    ("lost_to_follow_up", "Lost to follow-up"),
                ],
                default="alive",
                editable=False,
                max_length=20,
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="status_date",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="death_related",
            field=models.CharField(
                blank=True,
                choices=[
                    ("yes", "Related to the procedure"),
                    ("no", "Not related to the procedure"),
                    ("unknown", "Not known"),
                ],
                editable=False,
                max_length=10,
                verbose_name="Death related to the procedure",
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="status_notes",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AlterModelOptions(
            name="patient",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    (
                        "view_identifiers",
                        "Can see patient identifiers (NHS number, hospital number)",
                    ),
                    (
                        "mark_entered_in_error",
                        'Can mark clinical records "entered in error" and undo the mark',
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="assessment",
            name="not_done_reason",
            field=models.TextField(
                blank=True, editable=False, verbose_name="Why it could not be done"
            ),
        ),
    ]
