"""Local approvals moved to the registry (its migration 0008 renamed the tables): here they
only leave the guidance app's model state."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("guidance", "0001_initial"),
        ("registry", "0008_move_local_approvals"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="localapproval",
                    name="clinical_lead",
                ),
                migrations.RemoveField(
                    model_name="localapproval",
                    name="guidance",
                ),
                migrations.RemoveField(
                    model_name="localapproval",
                    name="recorded_by",
                ),
                migrations.RemoveField(
                    model_name="localapproval",
                    name="site",
                ),
                migrations.RemoveField(
                    model_name="proceduregovernance",
                    name="approval",
                ),
                migrations.RemoveField(
                    model_name="proceduregovernance",
                    name="overridden_by",
                ),
                migrations.RemoveField(
                    model_name="proceduregovernance",
                    name="procedure",
                ),
                migrations.DeleteModel(
                    name="CredentialedOperator",
                ),
                migrations.DeleteModel(
                    name="LocalApproval",
                ),
                migrations.DeleteModel(
                    name="ProcedureGovernance",
                ),
            ],
            database_operations=[],
        ),
    ]
