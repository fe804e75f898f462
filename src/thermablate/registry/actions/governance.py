"""Writers of a site's governance records: local approvals and their lifecycle (a new
decision supersedes the one in force and carries its credentialed operators over; a withdrawal
ends it), credentialed operators, and a procedure recorded under the approval that authorises
it."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from thermablate.registry.actions.base import create_audited, record_audit, snapshot, validate
from thermablate.registry.actions.records import create_procedure
from thermablate.registry.approvals import approval_in_force, check_procedure, guidance_refusal
from thermablate.registry.data_quality import PATHWAY_RULES, breaches
from thermablate.registry.models import (
    CredentialedOperator,
    LocalApproval,
    ProcedureGovernance,
    Site,
)

_ONE_IN_FORCE = next(
    c for c in LocalApproval._meta.constraints if c.name == "one_approval_in_force_per_procedure"
)


@transaction.atomic
def record_approval(*, site, acting_user, operators: list[dict] = (), **fields) -> LocalApproval:
    """The committee's decision on a procedure the site has no decision in force on.

    Refused while another decision on the procedure is in force at the site: a new decision
    supersedes it (``supersede_approval``), which keeps its credentialed operators; recording a
    second one beside it used to leave several in force and silently drop every credential."""
    lock_governance_of(site)
    approval = _new_approval(site, acting_user, fields, supersedes=None)
    errors = approval_errors(approval)
    in_force = approval_in_force(site, approval.procedure_type) if approval.procedure_type else None
    if in_force is not None:
        errors.setdefault("procedure_type", []).append(
            f"An approval of {in_force.get_procedure_type_display().lower()} is already in force "
            f"at your site (decided on {in_force.decision_date:%d %B %Y}): supersede it to record "
            "the committee's new decision, or withdraw it first."
        )
    elif approval.procedure_type and approval.decision_date:
        ended = _last_end(site, approval.procedure_type)
        if ended is not None and approval.decision_date < ended:
            errors.setdefault("decision_date", []).append(
                f"The previous approval of this procedure at your site was in force until "
                f"{ended:%d %B %Y}: date the new decision on or after that day."
            )
    if errors:
        raise ValidationError(errors)
    _save_new_approval(approval, acting_user)
    for operator in operators:
        credential_operator(approval, acting_user=acting_user, **operator)
    return approval


@transaction.atomic
def supersede_approval(
    previous: LocalApproval, *, acting_user, reason: str, carry_over=None, **fields
) -> LocalApproval:
    """The committee's new decision on a procedure replaces the one in force (at its review, or
    when NICE changes its guidance: the approval's review flags ask for this).

    The previous approval stops being in force on the new decision's date, with the reason;
    its credentialed operators are carried over to the new one (``carry_over``: the credentials
    to keep, all of them when not given), each linked to the credential it continues. Both
    changes and every carried credential are audited."""
    lock_governance_of(previous.site)
    stored = LocalApproval.objects.select_for_update().get(pk=previous.pk)
    if stored.withdrawn_on is not None:
        raise ValidationError(
            f"This approval was withdrawn on {stored.withdrawn_on:%d %B %Y}, so there is nothing "
            "in force to supersede: record a new approval instead."
        )
    if stored.superseded_on is not None:
        raise ValidationError(
            f"This approval was already superseded on {stored.superseded_on:%d %B %Y}: "
            "supersede the approval in force instead."
        )
    given_type = fields.pop("procedure_type", stored.procedure_type)
    approval = _new_approval(
        stored.site,
        acting_user,
        {**fields, "procedure_type": stored.procedure_type},
        supersedes=stored,
    )
    errors = approval_errors(approval)
    if given_type != stored.procedure_type:
        errors.setdefault("procedure_type", []).append(
            "A new decision supersedes an approval of the same procedure: record an approval "
            "of another procedure separately."
        )
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("supersession_reason", []).append(
            "Give the reason for the committee's new decision."
        )
    if approval.decision_date and approval.decision_date < stored.decision_date:
        errors.setdefault("decision_date", []).append(
            "The new decision cannot be dated before the decision it supersedes "
            f"({stored.decision_date:%d %B %Y})."
        )
    credentials = _credentials_to_carry(stored, carry_over, errors)
    if errors:
        raise ValidationError(errors)

    # End the previous decision first: the database allows one in force per procedure and site.
    before = snapshot(stored)
    stored.superseded_on = approval.decision_date
    stored.supersession_reason = reason
    stored.version += 1
    stored.save(update_fields=["superseded_on", "supersession_reason", "version"])
    _audit_update(acting_user, stored, before)
    _save_new_approval(approval, acting_user)
    for credential in credentials:
        create_audited(
            CredentialedOperator(
                approval=approval,
                user=credential.user,
                training=credential.training,
                credentialed_on=credential.credentialed_on,
                carried_over_from=credential,
            ),
            acting_user=acting_user,
            patient=None,
        )
    return approval


def carriable_credentials(approval: LocalApproval):
    """The credentials of ``approval`` that a new decision can carry over: of operators who are
    still active staff of the site (one who left cannot be credentialed there)."""
    return approval.operators.filter(
        user__is_active=True, user__staff__site=approval.site_id, withdrawn_on__isnull=True
    ).select_related("user")


def _credentials_to_carry(stored: LocalApproval, carry_over, errors: dict) -> list:
    carriable = list(carriable_credentials(stored))
    if carry_over is None:
        return carriable
    wanted = list(carry_over)
    allowed = {c.pk for c in carriable}
    foreign = [c for c in wanted if c.approval_id != stored.pk]
    if foreign:
        errors.setdefault("carry_over", []).append(
            "Only the credentials of the approval being superseded can be carried over."
        )
    gone = [c for c in wanted if c.approval_id == stored.pk and c.pk not in allowed]
    if gone:
        names = ", ".join(c.user.get_full_name() or c.user.username for c in gone)
        errors.setdefault("carry_over", []).append(
            f"{names} no longer works at this site: their credential cannot be carried over."
        )
    return [c for c in carriable if c.pk in {w.pk for w in wanted}]


def lock_governance_of(site: Site) -> None:
    """Serialise the site's approval writers (the site row is the lock), so two decisions
    recorded at once cannot both find nothing in force (PostgreSQL; SQLite has one writer)."""
    Site.objects.select_for_update().filter(pk=site.pk).first()


def _new_approval(site, acting_user, fields: dict, *, supersedes) -> LocalApproval:
    guidance = fields.get("guidance")
    # What NICE said when the committee decided, which a decision recorded late may predate.
    version, recommendation = (
        guidance.as_known_on(fields.get("decision_date")) if guidance else (0, "")
    )
    return LocalApproval(
        site=site,
        recorded_by=acting_user,
        guidance_version=version,
        guidance_recommendation=recommendation,
        supersedes=supersedes,
        **fields,
    )


def approval_errors(approval: LocalApproval) -> dict[str, list[str]]:
    """Every refusal of the approval's own fields and of the rules across records that do not
    depend on what else is in force: the clinical lead's site, the guidance's procedure."""
    errors: dict[str, list[str]] = {}
    try:
        # The one-in-force constraint is checked by the callers, with a message that says
        # what to do; the database's constraint backs them up.
        approval.full_clean(validate_constraints=False)
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    lead = approval.clinical_lead if approval.clinical_lead_id else None
    if (
        lead is not None
        and getattr(getattr(lead, "staff", None), "site_id", None) != approval.site_id
    ):
        errors.setdefault("clinical_lead", []).append("The clinical lead must work at this site.")
    if approval.guidance_id and approval.procedure_type and "procedure_type" not in errors:
        refusal = guidance_refusal(approval.guidance, approval.procedure_type)
        if refusal:
            errors.setdefault("guidance", []).append(refusal)
    return errors


def _last_end(site, procedure_type):
    """The day the site's last decision on the procedure stopped being in force, if any did."""
    ends = [
        a.ended_on
        for a in LocalApproval.objects.filter(site=site, procedure_type=procedure_type).only(
            "withdrawn_on", "superseded_on"
        )
        if a.ended_on
    ]
    return max(ends, default=None)


def _save_new_approval(approval: LocalApproval, acting_user) -> None:
    try:
        with transaction.atomic():
            approval.save()
    except IntegrityError:
        # Another writer got there first (the site lock makes this rare): say so on the form.
        if approval_in_force(approval.site, approval.procedure_type) is not None:
            raise ValidationError(
                {NON_FIELD_ERRORS: _ONE_IN_FORCE.violation_error_message}
            ) from None
        raise
    record_audit(acting_user, "create", approval, None, {"new": snapshot(approval)})


def _audit_update(acting_user, stored, before: dict, reason: str = "") -> None:
    after = snapshot(stored)
    # The version is the optimistic lock's counter, not something the committee changed.
    changes = {
        k: {"old": before[k], "new": v}
        for k, v in after.items()
        if before[k] != v and k != "version"
    }
    record_audit(
        acting_user, "update", stored, None, {**changes, **({"reason": reason} if reason else {})}
    )


@transaction.atomic
def credential_operator(
    approval: LocalApproval, *, acting_user, user, training: str, credentialed_on
) -> CredentialedOperator:
    if getattr(user, "staff", None) is None or user.staff.site_id != approval.site_id:
        raise ValidationError({"user": "Only staff of the approving site can be credentialed."})
    if not LocalApproval.objects.filter(
        pk=approval.pk, withdrawn_on__isnull=True, superseded_on__isnull=True
    ).exists():
        raise ValidationError(
            "This approval is no longer in force: credential operators under the approval in force."
        )
    return create_audited(
        CredentialedOperator(
            approval=approval, user=user, training=training, credentialed_on=credentialed_on
        ),
        acting_user=acting_user,
        patient=None,
    )


@transaction.atomic
def withdraw_credential(
    credential: CredentialedOperator, *, acting_user, withdrawn_on, reason: str
) -> CredentialedOperator:
    """The committee withdraws an operator's credential (or it was recorded in error): from
    that date the operator needs an override; procedures before it stay covered. Audited with
    the reason; the credential is kept."""
    stored = CredentialedOperator.objects.select_for_update().get(pk=credential.pk)
    errors = {}
    if stored.withdrawn_on is not None:
        errors["withdrawn_on"] = (
            f"This credential was already withdrawn on {stored.withdrawn_on:%d %B %Y}."
        )
    elif withdrawn_on is None:
        errors["withdrawn_on"] = "Give the date the credential was withdrawn."
    elif withdrawn_on > timezone.localdate():
        errors["withdrawn_on"] = "The withdrawal date cannot be in the future."
    elif withdrawn_on < stored.credentialed_on:
        errors["withdrawn_on"] = "A credential cannot be withdrawn before it was given."
    reason = (reason or "").strip()
    if not reason:
        errors["withdrawal_reason"] = "Give the reason for withdrawing the credential."
    if errors:
        raise ValidationError(errors)
    before = snapshot(stored)
    stored.withdrawn_on = withdrawn_on
    stored.withdrawal_reason = reason
    stored.version += 1
    stored.save(update_fields=["withdrawn_on", "withdrawal_reason", "version"])
    _audit_update(acting_user, stored, before, reason=reason)
    return stored


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
    if stored.superseded_on is not None:
        raise ValidationError(
            {
                "withdrawn_on": f"This approval was superseded on {stored.superseded_on:%d %B %Y}: "
                "withdraw the approval in force instead."
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
    stored.version += 1
    stored.save(update_fields=["withdrawn_on", "withdrawal_reason", "version"])
    _audit_update(acting_user, stored, before)
    return stored


@transaction.atomic
def record_governed_procedure(
    patient,
    *,
    acting_user,
    operators,
    cycles,
    override_reason: str = "",
    pathway_override_reason: str = "",
    **fields,
):
    """Record a procedure after checking it against the site's approval and the pathway.

    Refused when the site has not approved the procedure (or had withdrawn its approval by the
    procedure's date). An operator who is not credentialed needs an explicit override with a
    reason, which is kept and shown to governance. So does a procedure that breaks a pathway
    rule (``data_quality.PATHWAY_RULES``: an MDT decision to proceed on or before it; under
    special arrangements, consent with written information on or before it).
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
    procedure = create_procedure(
        patient, acting_user=acting_user, operators=operators, cycles=cycles, **fields
    )
    governance = ProcedureGovernance(
        procedure=procedure,
        approval=check.approval,
        uncredentialed_operators=[op.username for op in check.uncredentialed],
        override_reason=override_reason if check.uncredentialed else "",
        overridden_by=acting_user if check.uncredentialed else None,
    )
    # The procedure was created a moment ago: it has no governance record yet.
    validate(governance, check_constraints=False)
    governance.save()
    # The pathway rules are the data-quality rules' own conditions, asked of the rows just
    # saved (a special-arrangements rule needs the governance row): a refusal rolls them back.
    broken = breaches(procedure, PATHWAY_RULES)
    pathway_override_reason = (pathway_override_reason or "").strip()
    if broken and not pathway_override_reason:
        raise ValidationError(
            {
                "pathway_override_reason": [rule.message for rule in broken]
                + [
                    "Correct the records, or give the reason to record the procedure outside "
                    "the pathway (the Governance page lists it)."
                ]
            }
        )
    if broken:
        governance.pathway_exceptions = [rule.code for rule in broken]
        governance.pathway_override_reason = pathway_override_reason
        governance.overridden_by = acting_user
        governance.save(
            update_fields=["pathway_exceptions", "pathway_override_reason", "overridden_by"]
        )
    # An override is its own kind of entry, so the trail can be searched for overrides.
    action = "override" if governance.has_override else "create"
    record_audit(acting_user, action, governance, patient, {"new": snapshot(governance)})
    return procedure
