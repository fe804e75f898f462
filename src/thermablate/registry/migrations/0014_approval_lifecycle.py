"""Local approval lifecycle (issue 12, item 5): an approval can be superseded by the committee's
new decision, which carries its credentialed operators over, and only one approval of a
procedure is in force at a site at a time.

Sites that recorded several decisions on one procedure before this rule (the app allowed it)
keep the newest in force; each older one is marked superseded by the next, on that decision's
date, with a reason that says the migration did it, so the constraint can be added."""

import django.db.models.deletion
from django.db import migrations, models

MIGRATION_REASON = (
    "Superseded by the committee's later decision on the same procedure (recorded while "
    "several approvals could be in force at once; marked by the approval-lifecycle upgrade)."
)


def _supersede_older_decisions(apps, schema_editor):
    LocalApproval = apps.get_model("registry", "LocalApproval")
    in_force = LocalApproval.objects.filter(withdrawn_on__isnull=True).order_by(
        "site_id", "procedure_type", "decision_date", "pk"
    )
    previous = None
    for approval in in_force:
        same = (
            previous is not None
            and previous.site_id == approval.site_id
            and previous.procedure_type == approval.procedure_type
        )
        if same:
            previous.superseded_on = approval.decision_date
            previous.supersession_reason = MIGRATION_REASON
            previous.save(update_fields=["superseded_on", "supersession_reason"])
            approval.supersedes_id = previous.pk
            approval.save(update_fields=["supersedes"])
        previous = approval
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: PostgreSQL will not add the index of the constraint
        # below while their deferred checks are pending in this transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("registry", "0013_mdt_clinical_fields")]

    operations = [
        migrations.AddField(
            model_name="credentialedoperator",
            name="carried_over_from",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="carried_into",
                to="registry.credentialedoperator",
            ),
        ),
        migrations.AddField(
            model_name="localapproval",
            name="superseded_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="localapproval",
            name="supersedes",
            field=models.OneToOneField(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_by",
                to="registry.localapproval",
            ),
        ),
        migrations.AddField(
            model_name="localapproval",
            name="supersession_reason",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(_supersede_older_decisions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="localapproval",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded_on__isnull", True), ("withdrawn_on__isnull", True)),
                fields=("site", "procedure_type"),
                name="one_approval_in_force_per_procedure",
                violation_error_message=(
                    "Another approval of this procedure is in force at this site: supersede it "
                    "or withdraw it first."
                ),
            ),
        ),
    ]
