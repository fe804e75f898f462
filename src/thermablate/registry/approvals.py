"""Whether a site may do a procedure under its local approval, what of an approval needs the
committee's review, and what special arrangements still require for a patient."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils import timezone

from thermablate.guidance.governance import guidance_key_for, successor_of
from thermablate.guidance.models import RECOMMENDATION_LABELS, Guidance
from thermablate.registry.choices import APPROVED_DECISIONS, ApprovalDecision, ProcedureType
from thermablate.registry.data_quality import MDT_PATHWAY_RULES, breaches, live
from thermablate.registry.models import LocalApproval, Patient, Site


def in_force_on(on: date) -> Q:
    """Approvals in force on ``on``: decided by then, and neither withdrawn nor superseded by
    then (an approval stops holding on the day of its withdrawal or of the decision that
    supersedes it)."""
    return (
        Q(decision_date__lte=on)
        & (Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on))
        & (Q(superseded_on__isnull=True) | Q(superseded_on__gt=on))
    )


def current_approval(
    site: Site, procedure_type: str, on: date | None = None
) -> LocalApproval | None:
    """The site's decision on a procedure that was in force on ``on`` (today when not given).

    At most one is: the database allows one approval in force per procedure and site, and a
    new one is decided no earlier than the end of the last (``registry.actions.governance``).
    The newest wins for rows stored before that rule."""
    on = on or timezone.localdate()
    return (
        LocalApproval.objects.filter(site=site, procedure_type=procedure_type)
        .filter(in_force_on(on))
        .select_related("guidance")
        .order_by("-decision_date", "-pk")
        .first()
    )


def approval_in_force(site: Site, procedure_type: str) -> LocalApproval | None:
    """The site's decision on a procedure that is in force now (not withdrawn, not superseded),
    whatever its date: the one a new decision must supersede."""
    return (
        LocalApproval.objects.filter(
            site=site,
            procedure_type=procedure_type,
            withdrawn_on__isnull=True,
            superseded_on__isnull=True,
        )
        .order_by("-decision_date", "-pk")
        .first()
    )


def _not_approved_on(site: Site, procedure_type: str, on: date) -> str:
    """Why no approval of the site was in force on ``on``, in words a clinician can act on."""
    decisions = LocalApproval.objects.filter(site=site, procedure_type=procedure_type)
    first = decisions.order_by("decision_date", "pk").first()
    if first is None:
        return "This procedure has not been approved at your site."
    if on < first.decision_date:
        return (
            f"This procedure has not been approved at your site on {on:%d %B %Y}: the "
            f"committee first decided on it on {first.decision_date:%d %B %Y}."
        )
    withdrawn = decisions.filter(withdrawn_on__lte=on).order_by("-withdrawn_on", "-pk").first()
    if withdrawn is not None:
        return (
            f"This procedure has not been approved at your site since "
            f"{withdrawn.withdrawn_on:%d %B %Y}: the committee withdrew its approval "
            f"({withdrawn.withdrawal_reason})."
        )
    return "This procedure has not been approved at your site."


def covering_guidance_key(procedure_type: str) -> str | None:
    """The NICE document that governs a procedure type (``guidance/data/procedure_guidance.json``,
    the catalogue's one mapping of procedure types to guidance)."""
    return guidance_key_for(procedure_type)


def guidance_covers(guidance_key: str, procedure_type: str) -> bool:
    """Does ``guidance_key`` cover ``procedure_type``?

    It does when it is the document that governs the procedure, or an earlier one that document
    replaced (an approval decided under IPG319 covered intradiscal electrothermal therapy before
    IPG544 replaced it; its review flag then asks for a new decision). Documents that replace the
    governing one are not followed forwards: HTG670 replaced the 2022 draft on RF ablation of
    spinal metastases but covers RF ablation only as an adjunct to cement augmentation
    (HTG670 1.1; procedure_guidance.json)."""
    governing = covering_guidance_key(procedure_type)
    if governing is None:
        return False
    seen, key = set(), guidance_key
    while key and key not in seen:
        if key == governing:
            return True
        seen.add(key)
        key = successor_of(key)
    return False


def guidance_refusal(guidance: Guidance, procedure_type: str) -> str:
    """The refusal of an approval that cites guidance for another procedure, or ""."""
    if guidance_covers(guidance.key, procedure_type):
        return ""
    label = ProcedureType(procedure_type).label
    governing = covering_guidance_key(procedure_type)
    if governing is None:
        return f"No NICE guidance is known to cover {label.lower()}."
    return (
        f"{guidance.key} does not cover {label.lower()}: cite {governing}, the NICE guidance "
        f"for this procedure (or a document {governing} replaced)."
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
    on = on or timezone.localdate()
    approval = current_approval(site, procedure_type, on)
    if approval is None:
        return ProcedureCheck(None, _not_approved_on(site, procedure_type, on), ())
    if approval.decision not in APPROVED_DECISIONS:
        return ProcedureCheck(
            approval, f"Your site's committee decided: {approval.get_decision_display()}.", ()
        )
    # A credential withdrawn on or before the procedure's date no longer covers it.
    credentialed = set(
        approval.operators.filter(
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on)
        ).values_list("user_id", flat=True)
    )
    missing = tuple(op for op in operators if op.pk not in credentialed)
    return ProcedureCheck(approval, "", missing)


@dataclass(frozen=True)
class ReviewFlag:
    code: str
    message: str


def review_flags(approval: LocalApproval, today: date | None = None) -> list[ReviewFlag]:
    """Why an approval in force should go back to the committee, if it should (an approval
    withdrawn or superseded is history: nothing of it is for review)."""
    today = today or timezone.localdate()
    flags = []
    if not approval.in_force:
        return flags
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
    governing = covering_guidance_key(approval.procedure_type)
    if successor_key and successor is None:
        # Replaced by a document the catalogue does not hold: the committee should still look
        # at the approval against it.
        flags.append(
            ReviewFlag(
                "replaced",
                f"NICE replaced {guidance.key} with {successor_key}: review the approval "
                f"against {successor_key} (nice.org.uk/guidance/{successor_key.lower()}).",
            )
        )
    elif (
        successor is not None
        and governing
        and guidance.key != governing
        and guidance_covers(guidance.key, approval.procedure_type)
    ):
        # The guidance in force for the procedure replaced the one the approval rests on
        # (IPG544 replaced IPG319): whatever it recommends, the approval cites guidance that
        # is no longer NICE's word on the procedure.
        flags.append(ReviewFlag("replaced", _replaced_message(guidance.key, successor, governing)))
    elif successor is not None and successor.recommendation != approval.guidance_recommendation:
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


def _replaced_message(key: str, successor: Guidance, governing: str) -> str:
    """IPG319's approval: "NICE replaced IPG319 with IPG544, its guidance for the procedure
    now (special arrangements ...): review the approval against IPG544 (nice.org.uk/...)"."""
    in_force = (
        successor if successor.key == governing else Guidance.objects.filter(key=governing).first()
    )
    recommends = (
        f" ({_label(in_force.recommendation)})"
        if in_force is not None and in_force.recommendation
        else ""
    )
    replaced_by = (
        governing
        if successor.key == governing
        else f"{successor.key}, since replaced by {governing}"
    )
    return (
        f"NICE replaced {key} with {replaced_by}, its guidance for the procedure now{recommends}: "
        f"review the approval against {governing} (nice.org.uk/guidance/{governing.lower()})."
    )


def _label(recommendation: str) -> str:
    return RECOMMENDATION_LABELS.get(recommendation, "no recommendation stated").lower()


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    source: str


def special_arrangements_checklist(patient: Patient) -> list[ChecklistItem]:
    """What special arrangements require for this patient (IPG consultation ID1783, 2022,
    1.2-1.4; NICE's description of special arrangements), or [] when none apply.

    Special arrangements apply to the procedures recorded under an approval with that
    decision. The steps that must come before each such procedure are judged by the pathway
    rules (``data_quality.PATHWAY_RULES``), the rules that refuse a procedure when it is recorded
    and the Data quality page's findings: an MDT decision against the procedure, or a consent
    dated after it, is not "done"."""
    procedures = [
        p
        for p in live(patient.procedures.select_related("governance__approval"))
        if _approval_of(p) is not None
    ]
    special = [p for p in procedures if _approval_of(p).decision == ApprovalDecision.SPECIAL]
    if not special:
        return []

    def met_before_each(*codes: str) -> bool:
        return not any(breaches(procedure, codes) for procedure in special)

    consents = list(live(patient.consents.all()))
    return [
        ChecklistItem(
            "Clinical governance leads informed",
            all(_approval_of(p).governance_leads_informed for p in special),
            "recorded with the site's approval",
        ),
        ChecklistItem(
            "Written information given",
            met_before_each("procedure_special_without_written_consent"),
            "consent record with the leaflet, dated on or before each procedure",
        ),
        ChecklistItem(
            "Uncertainties of the procedure discussed",
            any(c.uncertainties_discussed for c in consents),
            "consent record",
        ),
        ChecklistItem(
            "Selected by a multidisciplinary team",
            met_before_each(*MDT_PATHWAY_RULES),
            "MDT decision to proceed, the latest on or before each procedure",
        ),
        ChecklistItem(
            "Enrolled in audit (consent to registry and audit use)",
            any(c.registry_audit_consent for c in consents),
            "consent record",
        ),
    ]


def _approval_of(procedure) -> LocalApproval | None:
    """The approval a procedure was recorded under (or, for one recorded without a governance
    record, the site's approval in force on its date)."""
    governance = getattr(procedure, "governance", None)
    if governance is not None:
        return governance.approval
    return current_approval(
        procedure.patient.site, procedure.procedure_type, procedure.procedure_date
    )
