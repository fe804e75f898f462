"""Local approvals, credentialed operators and the governance of each procedure move from the
guidance app to the registry: they are the site's own records, written by the registry's one
writer. The tables are renamed, not copied, so every row and its id is kept; the content types
(and with them the permissions granted to roles) move too.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ("localapproval", "credentialedoperator", "proceduregovernance")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="registry", model=model).exists():
            ContentType.objects.filter(app_label="guidance", model=model).update(
                app_label="registry"
            )


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="guidance", model=model).exists():
            ContentType.objects.filter(app_label="registry", model=model).update(
                app_label="guidance"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("guidance", "0001_initial"),
        ("registry", "0007_audit_trail_database_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LocalApproval",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "procedure_type",
                            models.CharField(
                                choices=[
                                    ("rfa_spinal_metastasis", "RF ablation of spinal metastasis"),
                                    (
                                        "rfa_vertebroplasty",
                                        "RF ablation plus percutaneous vertebroplasty",
                                    ),
                                    ("rfa_kyphoplasty", "RF ablation plus balloon kyphoplasty"),
                                    (
                                        "osteoid_osteoma_thermocoagulation",
                                        "CT-guided thermocoagulation of osteoid osteoma",
                                    ),
                                    ("idet", "Percutaneous intradiscal electrothermal therapy"),
                                ],
                                max_length=40,
                            ),
                        ),
                        (
                            "decision",
                            models.CharField(
                                choices=[
                                    ("approved_standard", "Approved under standard arrangements"),
                                    ("approved_special", "Approved under special arrangements"),
                                    ("research_only", "Approved for research only"),
                                    ("not_approved", "Not approved"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "committee",
                            models.CharField(
                                help_text="e.g. New Interventional Procedures Committee",
                                max_length=200,
                            ),
                        ),
                        ("decision_date", models.DateField()),
                        (
                            "governance_leads_informed",
                            models.BooleanField(
                                default=False,
                                help_text="Required under special arrangements",
                                verbose_name="Clinical governance leads informed",
                            ),
                        ),
                        (
                            "conditions",
                            models.TextField(
                                blank=True, help_text="Local conditions attached to the approval"
                            ),
                        ),
                        ("review_date", models.DateField()),
                        ("guidance_version", models.PositiveIntegerField(editable=False)),
                        (
                            "guidance_recommendation",
                            models.CharField(blank=True, editable=False, max_length=20),
                        ),
                        (
                            "recorded_at",
                            models.DateTimeField(default=django.utils.timezone.now, editable=False),
                        ),
                        (
                            "withdrawn_on",
                            models.DateField(
                                blank=True,
                                help_text="From this date the procedure is no longer approved",
                                null=True,
                            ),
                        ),
                        (
                            "clinical_lead",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "guidance",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="approvals",
                                to="guidance.guidance",
                            ),
                        ),
                        (
                            "recorded_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "site",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="approvals",
                                to="registry.site",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "guidance_localapproval",
                        "ordering": ["site", "procedure_type", "-decision_date"],
                        "permissions": [
                            (
                                "manage_approvals",
                                "Can record local approvals and credential operators",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ProcedureGovernance",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("uncredentialed_operators", models.JSONField(blank=True, default=list)),
                        ("override_reason", models.TextField(blank=True)),
                        (
                            "approval",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="procedures",
                                to="registry.localapproval",
                            ),
                        ),
                        (
                            "overridden_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "procedure",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="governance",
                                to="registry.procedure",
                            ),
                        ),
                    ],
                    options={"db_table": "guidance_proceduregovernance"},
                ),
                migrations.CreateModel(
                    name="CredentialedOperator",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "training",
                            models.CharField(
                                help_text="Training and expertise, e.g. vertebroplasty, 50 cases",
                                max_length=300,
                            ),
                        ),
                        ("credentialed_on", models.DateField()),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="credentials",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "approval",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="operators",
                                to="registry.localapproval",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "guidance_credentialedoperator",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("approval", "user"), name="one_credential_per_approval"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="localapproval", table=None),
        migrations.AlterModelTable(name="proceduregovernance", table=None),
        migrations.AlterModelTable(name="credentialedoperator", table=None),
        migrations.RunPython(move_content_types, move_content_types_back),
        migrations.AddField(
            model_name="localapproval",
            name="withdrawal_reason",
            field=models.TextField(blank=True),
        ),
    ]
