"""Whether a site may do a procedure under its local approval, what of an approval needs the
committee's review, and what special arrangements still require for a patient."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils import timezone

from thermablate.guidance.governance import successor_of
from thermablate.guidance.models import RECOMMENDATION_LABELS, Guidance
from thermablate.registry.choices import APPROVED_DECISIONS, ApprovalDecision
from thermablate.registry.models import LocalApproval, Patient, Site


def current_approval(
    site: Site, procedure_type: str, on: date | None = None
) -> LocalApproval | None:
    """The site's newest decision on a procedure that had not been withdrawn by ``on``
    (today when not given)."""
    on = on or timezone.localdate()
    return (
        LocalApproval.objects.filter(site=site, procedure_type=procedure_type)
        .filter(Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))
        .select_related("guidance")
        .order_by("-decision_date", "-pk")
        .first()
    )


@dataclass(frozen=True)
class ProcedureCheck:
    approval: LocalApproval | None
    refusal: str  # empty when the site may do the procedure
    uncredentialed: tuple  # operators (users) not credentialed under the approval


def check_procedure(
    site: Site, procedure_type: str, operators, on: date | None = None
) -> ProcedureCheck:
    """May the site do ``procedure_type`` on ``on`` (a procedure's date; today when not given)?"""
    approval = current_approval(site, procedure_type, on)
    if approval is None:
        return ProcedureCheck(None, "This procedure has not been approved at your site.", ())
    if approval.decision not in APPROVED_DECISIONS:
        return ProcedureCheck(
            approval, f"Your site's committee decided: {approval.get_decision_display()}.", ()
        )
    credentialed = set(approval.operators.values_list("user_id", flat=True))
    missing = tuple(op for op in operators if op.pk not in credentialed)
    return ProcedureCheck(approval, "", missing)


@dataclass(frozen=True)
class ReviewFlag:
    code: str
    message: str


def review_flags(approval: LocalApproval, today: date | None = None) -> list[ReviewFlag]:
    """Why an approval should go back to the committee, if it should."""
    today = today or timezone.localdate()
    flags = []
    guidance = approval.guidance
    if (
        guidance.version != approval.guidance_version
        and guidance.recommendation != approval.guidance_recommendation
    ):
        flags.append(
            ReviewFlag(
                "recommendation_changed",
                f"NICE changed {guidance.key} from {_label(approval.guidance_recommendation)} to "
                f"{_label(guidance.recommendation)} since the approval.",
            )
        )
    successor_key = successor_of(guidance.key)
    successor = Guidance.objects.filter(key=successor_key).first() if successor_key else None
    if successor is not None and successor.recommendation != approval.guidance_recommendation:
        flags.append(
            ReviewFlag(
                "superseded",
                f"The approval rests on {guidance.key} ({_label(approval.guidance_recommendation)}); "
                f"{successor.key} now recommends {_label(successor.recommendation)}.",
            )
        )
    if approval.review_date < today:
        flags.append(
            ReviewFlag("review_due", f"Review was due on {approval.review_date:%d %B %Y}.")
        )
    return flags


def _label(recommendation: str) -> str:
    return RECOMMENDATION_LABELS.get(recommendation, "no recommendation stated").lower()


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    source: str


def special_arrangements_checklist(patient: Patient) -> list[ChecklistItem]:
    """What special arrangements require for this patient (IPG consultation ID1783, 2022,
    1.2-1.4; NICE's description of special arrangements), or [] when none apply."""
    planned = {p.procedure_type for p in patient.procedures.all()}
    approvals = [current_approval(patient.site, t) for t in planned]
    special = [a for a in approvals if a and a.decision == ApprovalDecision.SPECIAL]
    if not special:
        return []
    consents = list(patient.consents.all())
    return [
        ChecklistItem(
            "Clinical governance leads informed",
            all(a.governance_leads_informed for a in special),
            "recorded with the site's approval",
        ),
        ChecklistItem(
            "Written information given", any(c.leaflet_title for c in consents), "consent record"
        ),
        ChecklistItem(
            "Uncertainties of the procedure discussed",
            any(c.uncertainties_discussed for c in consents),
            "consent record",
        ),
        ChecklistItem(
            "Selected by a multidisciplinary team",
            patient.mdt_decisions.filter(decision="proceed").exists(),
            "MDT decision",
        ),
        ChecklistItem(
            "Enrolled in audit (consent to registry and audit use)",
            any(c.registry_audit_consent for c in consents),
            "consent record",
        ),
    ]
