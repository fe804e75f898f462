"""Case summaries: per time point, the EQ VAS, ODI and BPI scores, and whether the patient
reported the assessment. The summaries are derived: SUMMARY_FORMAT 5 has every one rebuilt by
the next report or `thermablate summaries`, so no data migration is needed."""

from django.db import migrations, models

TIMEPOINTS = ("baseline", "1w", "1m", "3m", "6m", "12m")
SCORES = ("eq5d_vas", "odi", "bpi_severity", "bpi_interference")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_summary_closed_followups"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="casesummary",
                name=f"{score}_{tp}",
                field=models.FloatField(null=True),
            )
            for tp in TIMEPOINTS
            for score in SCORES
        ),
        *(
            migrations.AddField(
                model_name="casesummary",
                name=f"patient_reported_{tp}",
                field=models.BooleanField(default=False),
            )
            for tp in TIMEPOINTS
        ),
    ]
