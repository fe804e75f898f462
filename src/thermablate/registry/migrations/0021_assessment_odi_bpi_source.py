"""Assessments keep the ODI's and the BPI's raw answers and the EQ VAS, and who reported them
(every earlier assessment was entered by staff: the default); a consent records agreement to
be contacted for follow-up questionnaires; a site chooses whether its patients are asked the
BPI (issue 15)."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0020_plan_discussed_device_library"),
    ]

    operations = [
        migrations.AddField(
            model_name="assessment",
            name="bpi_enjoyment_of_life",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with enjoyment of life (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_general_activity",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with general activity (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_least",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: least pain in the last 24 hours (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_mood",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with mood (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_normal_work",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with normal work (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_now",
            field=models.PositiveSmallIntegerField(
                blank=True,
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain right now (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_relations_with_others",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with relations with others (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_sleep",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with sleep (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="bpi_walking_ability",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = no interference ... 10 = complete interference",
                null=True,
                validators=[django.core.validators.MaxValueValidator(10)],
                verbose_name="BPI: pain interference with walking ability (0-10)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="corrected_by_staff",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="assessment",
            name="eq5d_vas",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the worst health you can imagine, 100 = the best",
                null=True,
                validators=[django.core.validators.MaxValueValidator(100)],
                verbose_name="EQ VAS: health today, 0-100",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_lifting",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 3: lifting (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_pain_intensity",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 1: pain intensity (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_personal_care",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 2: personal care (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_sex_life",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 8: sex life (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_sitting",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 5: sitting (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_sleeping",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 7: sleeping (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_social_life",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 9: social life (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_standing",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 6: standing (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_travelling",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 10: travelling (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="odi_walking",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="0 = the first statement (least disability) ... 5 = the last (most)",
                null=True,
                validators=[django.core.validators.MaxValueValidator(5)],
                verbose_name="ODI section 4: walking (0-5)",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="reported_by",
            field=models.CharField(
                choices=[("staff", "Staff"), ("patient", "Patient")],
                default="staff",
                editable=False,
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="consent",
            name="contact_for_follow_up",
            field=models.BooleanField(
                default=False,
                help_text="By e-mail, text message or letter, each with a link to answer the follow-up questionnaire online",
                verbose_name="Agrees to be contacted for follow-up questionnaires",
            ),
        ),
        migrations.AddField(
            model_name="site",
            name="collect_bpi",
            field=models.BooleanField(
                default=False,
                help_text="The site's choice: its follow-up questionnaires and assessment pages then include the BPI's least pain, pain now and pain interference questions",
                verbose_name="Ask patients the Brief Pain Inventory (short form) at follow-up",
            ),
        ),
    ]
