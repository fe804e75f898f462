"""Writers of a site's governance records: local approvals, credentialed operators, their
withdrawal, and a procedure recorded under the approval that authorises it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from thermablate.registry.actions.base import create_audited, record_audit, snapshot
from thermablate.registry.actions.records import record_procedure
from thermablate.registry.approvals import check_procedure
from thermablate.registry.models import CredentialedOperator, LocalApproval, ProcedureGovernance


@transaction.atomic
def record_approval(*, site, acting_user, operators: list[dict] = (), **fields) -> LocalApproval:
    guidance = fields["guidance"]
    approval = LocalApproval(
        site=site,
        recorded_by=acting_user,
        guidance_version=guidance.version,
        guidance_recommendation=guidance.recommendation,
        **fields,
    )
    approval.full_clean()
    if approval.clinical_lead.staff.site_id != site.pk:
        raise ValidationError({"clinical_lead": "The clinical lead must work at this site."})
    approval.save()
    record_audit(acting_user, "create", approval, None, {"new": snapshot(approval)})
    for operator in operators:
        credential_operator(approval, acting_user=acting_user, **operator)
    return approval


@transaction.atomic
def credential_operator(
    approval: LocalApproval, *, acting_user, user, training: str, credentialed_on
) -> CredentialedOperator:
    if getattr(user, "staff", None) is None or user.staff.site_id != approval.site_id:
        raise ValidationError({"user": "Only staff of the approving site can be credentialed."})
    return create_audited(
        CredentialedOperator(
            approval=approval, user=user, training=training, credentialed_on=credentialed_on
        ),
        acting_user=acting_user,
        patient=None,
    )


@transaction.atomic
def withdraw_approval(
    approval: LocalApproval, *, acting_user, withdrawn_on, reason: str
) -> LocalApproval:
    """The committee withdraws its approval: from that date the procedure is not authorised.

    Procedures done before the withdrawal stay authorised (they were done under it)."""
    stored = LocalApproval.objects.select_for_update().get(pk=approval.pk)
    if stored.withdrawn_on is not None:
        raise ValidationError(
            {
                "withdrawn_on": f"This approval was already withdrawn on {stored.withdrawn_on:%d %B %Y}."
            }
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"withdrawal_reason": "Give the reason for the withdrawal."})
    if withdrawn_on is None:
        raise ValidationError({"withdrawn_on": "Give the date of the withdrawal."})
    if withdrawn_on > timezone.localdate():
        raise ValidationError({"withdrawn_on": "The withdrawal date cannot be in the future."})
    if withdrawn_on < stored.decision_date:
        raise ValidationError(
            {"withdrawn_on": "An approval cannot be withdrawn before it was decided."}
        )
    before = snapshot(stored)
    stored.withdrawn_on = withdrawn_on
    stored.withdrawal_reason = reason
    stored.full_clean()
    stored.save(update_fields=["withdrawn_on", "withdrawal_reason"])
    after = snapshot(stored)
    record_audit(
        acting_user,
        "update",
        stored,
        None,
        {k: {"old": before[k], "new": v} for k, v in after.items() if before[k] != v},
    )
    return stored


@transaction.atomic
def record_governed_procedure(
    patient, *, acting_user, operators, cycles, override_reason: str = "", **fields
):
    """Record a procedure after checking it against the site's approval.

    Refused when the site has not approved the procedure (or had withdrawn its approval by the
    procedure's date). An operator who is not credentialed needs an explicit override with a
    reason, which is kept and shown to governance.
    """
    operators = list(operators)
    check = check_procedure(
        patient.site, fields.get("procedure_type"), operators, on=fields.get("procedure_date")
    )
    if check.refusal:
        raise ValidationError({"procedure_type": check.refusal})
    override_reason = override_reason.strip()
    if check.uncredentialed and not override_reason:
        names = ", ".join(op.get_full_name() or op.username for op in check.uncredentialed)
        raise ValidationError(
            {
                "override_reason": f"{names} is not credentialed for this procedure at your site: give the reason to override."
            }
        )
    procedure = record_procedure(
        patient, acting_user=acting_user, operators=operators, cycles=cycles, **fields
    )
    governance = ProcedureGovernance(
        procedure=procedure,
        approval=check.approval,
        uncredentialed_operators=[op.username for op in check.uncredentialed],
        override_reason=override_reason if check.uncredentialed else "",
        overridden_by=acting_user if check.uncredentialed else None,
    )
    governance.full_clean()
    governance.save()
    # An override is its own kind of entry, so the trail can be searched for overrides.
    action = "override" if check.uncredentialed else "create"
    record_audit(acting_user, action, governance, patient, {"new": snapshot(governance)})
    return procedure
