"""Case summaries: the procedure's "entered in error" mark, and per time point whether and how
it was closed without an assessment (not eligible, lost, could not be done). The summaries
are derived: SUMMARY_FORMAT 3 has every one rebuilt by the next report or `thermablate
summaries`, so no data migration is needed."""

from django.db import migrations, models

TIMEPOINTS = ("baseline", "1w", "1m", "3m", "6m", "12m")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_case_summary_outside_window"),
        ("registry", "0016_corrections_and_patient_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="casesummary",
            name="entered_in_error",
            field=models.BooleanField(default=False),
        ),
        *(
            migrations.AddField(
                model_name="casesummary",
                name=f"closed_{tp}",
                field=models.CharField(blank=True, default="", max_length=12),
            )
            for tp in TIMEPOINTS
        ),
    ]
