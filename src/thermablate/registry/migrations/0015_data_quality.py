# Written by hand: only the data-quality acknowledgement (issue 12, item 6).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0014_approval_lifecycle"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DataQualityAcknowledgement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rule", models.CharField(max_length=60)),
                (
                    "record_type",
                    models.CharField(help_text="The model name of the record", max_length=50),
                ),
                ("object_id", models.PositiveBigIntegerField()),
                ("reason", models.TextField()),
                (
                    "acknowledged_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "acknowledged_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("rule", "object_id"),
                        name="one_acknowledgement_per_finding",
                        violation_error_message="This finding has already been acknowledged.",
                    )
                ],
            },
        ),
    ]
