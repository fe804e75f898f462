"""Corrections of a site's governance records: a local approval and a credential under it.

A record typed wrong (the committee's name, a date, the clinical lead, the guidance cited, an
operator's training) is corrected with a reason, not superseded or withdrawn: those record a
decision the committee made, a correction puts right what was written about one. The audit
entry keeps each changed field's old and new value and the reason; a correction from a page
read before someone else's change is refused and says who changed what (optimistic locking).

The procedure an approval is for is not corrected: an approval recorded for the wrong
procedure is withdrawn, with that reason, and the right one recorded. Nor may a correction take
the approval (or the operator's credential) away from procedures already recorded under it: it
is refused, naming them, since their records say they were authorised (docs/corrections.md).
"""

import copy

from django.core.exceptions import ValidationError
from django.db import transaction

from thermablate.registry.actions.base import locked_current, update_audited
from thermablate.registry.actions.corrections import required_reason
from thermablate.registry.actions.governance import approval_errors, lock_governance_of
from thermablate.registry.choices import APPROVED_DECISIONS
from thermablate.registry.models import CredentialedOperator, LocalApproval, Procedure

APPROVAL_FIELDS = frozenset(
    {
        "guidance",
        "decision",
        "committee",
        "decision_date",
        "clinical_lead",
        "governance_leads_informed",
        "conditions",
        "review_date",
    }
)
CREDENTIAL_FIELDS = frozenset({"training", "credentialed_on"})


def _only(fields: dict, allowed: frozenset, what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"{what} cannot be corrected: {', '.join(sorted(unknown))}")


def _recorded_under(approval: LocalApproval):
    return Procedure.objects.filter(governance__approval=approval, entered_in_error=False)


def _uncovered(procedures, what: str) -> str:
    """The refusal of a correction that would leave ``procedures`` (dated, ordered) uncovered."""
    dates = [p.procedure_date for p in procedures]
    if not dates:
        return ""
    first = dates[0]
    count = f"{len(dates)} procedure{'s' if len(dates) != 1 else ''}"
    return (
        f"{count} recorded under this approval, on {first:%d %B %Y}"
        f"{' and after' if len(dates) > 1 else ''}, would {what}, though their records say it "
        "authorised them. If it did not, that is for the committee to review: a correction does "
        "not change it."
    )


def _end_of_other_decisions(approval: LocalApproval):
    """The last day an earlier decision of the site on the same procedure ended, if any."""
    ends = [
        other.ended_on
        for other in LocalApproval.objects.filter(
            site=approval.site_id,
            procedure_type=approval.procedure_type,
            decision_date__lte=approval.decision_date,
        ).exclude(pk=approval.pk)
        if other.ended_on
    ]
    return max(ends, default=None)


@transaction.atomic
def correct_approval(
    approval: LocalApproval,
    fields: dict,
    *,
    reason: str,
    acting_user,
    expected_version: int | None = None,
) -> LocalApproval:
    """Correct what was recorded of the committee's decision (``APPROVAL_FIELDS``)."""
    _only(fields, APPROVAL_FIELDS, "An approval's procedure or its end")
    reason = required_reason(reason, "the correction")
    lock_governance_of(approval.site)
    stored = locked_current(approval, expected_version)
    candidate = copy.copy(stored)
    for name, value in fields.items():
        setattr(candidate, name, value)
    errors = approval_errors(candidate)
    if candidate.clinical_lead_id == stored.clinical_lead_id:
        # The lead the committee named may have left the site since: that is no reason to
        # refuse correcting another field, nor to name someone else.
        errors.pop("clinical_lead", None)
    if (candidate.guidance_id, candidate.decision_date) != (
        stored.guidance_id,
        stored.decision_date,
    ) and not errors.get("guidance"):
        # The corrected citation, or date, rests on what NICE said when the committee decided
        # (not what it says now: a change since then must still flag the approval for review).
        version, recommendation = candidate.guidance.as_known_on(candidate.decision_date)
        fields = {
            **fields,
            "guidance_version": version,
            "guidance_recommendation": recommendation,
        }
    ended = stored.ended_on
    if candidate.decision_date and ended and candidate.decision_date > ended:
        errors.setdefault("decision_date", []).append(
            f"This approval stopped being in force on {ended:%d %B %Y}: its decision cannot be "
            "dated after that."
        )
    earlier_end = _end_of_other_decisions(stored)
    if candidate.decision_date and earlier_end and candidate.decision_date < earlier_end:
        errors.setdefault("decision_date", []).append(
            f"The site's earlier decision on this procedure was in force until "
            f"{earlier_end:%d %B %Y}: this one cannot be dated before that."
        )
    if stored.supersedes_id and candidate.decision_date != stored.decision_date:
        errors.setdefault("decision_date", []).append(
            "This decision superseded an earlier one on its date: that date is when the earlier "
            "one ended, so it is not corrected here."
        )
    procedures = _recorded_under(stored).order_by("procedure_date")
    if candidate.decision not in APPROVED_DECISIONS:
        refusal = _uncovered(procedures, "be left without an approval")
    elif candidate.decision_date is None:
        refusal = ""  # refused above as a required field
    else:
        refusal = _uncovered(
            procedures.filter(procedure_date__lt=candidate.decision_date),
            "then be dated before the decision",
        )
    if refusal:
        errors.setdefault("__all__", []).append(refusal)
    if errors:
        raise ValidationError(errors)
    return update_audited(stored, fields, acting_user=acting_user, patient=None, reason=reason)


@transaction.atomic
def correct_credential(
    credential: CredentialedOperator,
    fields: dict,
    *,
    reason: str,
    acting_user,
    expected_version: int | None = None,
) -> CredentialedOperator:
    """Correct an operator's training or the date they were credentialed
    (``CREDENTIAL_FIELDS``); the operator and the approval are not corrected (withdraw the
    credential, with that reason, and credential the right one)."""
    _only(fields, CREDENTIAL_FIELDS, "A credential's operator, approval or withdrawal")
    reason = required_reason(reason, "the correction")
    stored = locked_current(credential, expected_version)
    credentialed_on = fields.get("credentialed_on", stored.credentialed_on)
    errors = {}
    if credentialed_on is None:
        errors["credentialed_on"] = ["Give the date the operator was credentialed."]
    elif stored.withdrawn_on and credentialed_on > stored.withdrawn_on:
        errors["credentialed_on"] = [
            f"This credential was withdrawn on {stored.withdrawn_on:%d %B %Y}: it cannot have "
            "been given after that."
        ]
    else:
        # Procedures by the operator that the credential covered when they were recorded and
        # that a later date would leave before it (those already before it are not this
        # correction's doing: the approval's check does not read the credential's date).
        covered = (
            _recorded_under(stored.approval)
            .filter(
                operators=stored.user,
                procedure_date__gte=stored.credentialed_on,
                procedure_date__lt=credentialed_on,
            )
            .select_related("governance")
            .order_by("procedure_date")
        )
        covered = [
            p for p in covered if stored.user.username not in p.governance.uncredentialed_operators
        ]
        refusal = _uncovered(covered, "then be dated before the operator's credential")
        if refusal:
            errors["credentialed_on"] = [refusal]
    if errors:
        raise ValidationError(errors)
    return update_audited(stored, fields, acting_user=acting_user, patient=None, reason=reason)
