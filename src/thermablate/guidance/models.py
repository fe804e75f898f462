"""The NICE guidance catalogue and each site's local approval of a procedure under it."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from thermablate.guidance.record import CONDITIONS, RECOMMENDATIONS
from thermablate.registry import choices as registry_choices
from thermablate.registry.models import Procedure, Site

RECOMMENDATION_LABELS = {
    "standard": "Standard arrangements for clinical governance, consent and audit",
    "special": "Special arrangements for clinical governance, consent and audit or research",
    "research_only": "Only in the context of research",
    "do_not_use": "Should not be used",
}


class Guidance(models.Model):
    """The current version of one NICE document (guidance, draft, topic page, coding page)."""

    key = models.CharField(
        max_length=60, unique=True, help_text="Guidance id (HTG670) or project key (ID1783)"
    )
    kind = models.CharField(max_length=20)
    guidance_id = models.CharField(max_length=20, blank=True)
    project_id = models.CharField(max_length=20, blank=True)
    title = models.CharField(max_length=300)
    recommendation = models.CharField(
        max_length=20, blank=True, choices=[(r, RECOMMENDATION_LABELS[r]) for r in RECOMMENDATIONS]
    )
    record = models.JSONField(help_text="The parsed GuidanceRecord, as JSON")
    source = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "guidance"

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"

    @property
    def condition_labels(self) -> list[tuple[str, str]]:
        return [(c, CONDITIONS.get(c, c)) for c in self.record.get("conditions", [])]


class GuidanceVersion(models.Model):
    """Every imported version of a document, kept so a change of recommendation can be traced."""

    guidance = models.ForeignKey(Guidance, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    record = models.JSONField()
    source = models.CharField(max_length=500, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["guidance", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["guidance", "version"], name="one_row_per_guidance_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.guidance.key} v{self.version}"


class ApprovalDecision(models.TextChoices):
    STANDARD = "approved_standard", "Approved under standard arrangements"
    SPECIAL = "approved_special", "Approved under special arrangements"
    RESEARCH_ONLY = "research_only", "Approved for research only"
    NOT_APPROVED = "not_approved", "Not approved"


APPROVED = {ApprovalDecision.STANDARD, ApprovalDecision.SPECIAL, ApprovalDecision.RESEARCH_ONLY}


class LocalApproval(models.Model):
    """A site's decision, by its new-procedures or governance committee, to offer a procedure."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="approvals")
    procedure_type = models.CharField(max_length=40, choices=registry_choices.ProcedureType.choices)
    guidance = models.ForeignKey(Guidance, on_delete=models.PROTECT, related_name="approvals")
    decision = models.CharField(max_length=20, choices=ApprovalDecision.choices)
    committee = models.CharField(
        max_length=200, help_text="e.g. New Interventional Procedures Committee"
    )
    decision_date = models.DateField()
    clinical_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    governance_leads_informed = models.BooleanField(
        "Clinical governance leads informed",
        default=False,
        help_text="Required under special arrangements",
    )
    conditions = models.TextField(blank=True, help_text="Local conditions attached to the approval")
    review_date = models.DateField()
    # What NICE said when the committee decided, so a later change can be detected.
    guidance_version = models.PositiveIntegerField(editable=False)
    guidance_recommendation = models.CharField(max_length=20, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    withdrawn_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["site", "procedure_type", "-decision_date"]
        permissions = [("manage_approvals", "Can record local approvals and credential operators")]

    def __str__(self) -> str:
        return f"{self.get_procedure_type_display()} at {self.site.code}: {self.get_decision_display()}"

    @property
    def is_approved(self) -> bool:
        return self.decision in APPROVED and self.withdrawn_on is None

    def clean(self):
        errors = {}
        if self.decision_date and self.decision_date > timezone.localdate():
            errors["decision_date"] = "The decision date cannot be in the future."
        if self.decision_date and self.review_date and self.review_date <= self.decision_date:
            errors["review_date"] = "The review date must come after the decision."
        if self.decision == ApprovalDecision.SPECIAL and not self.governance_leads_informed:
            errors["governance_leads_informed"] = (
                "Under special arrangements the clinical governance leads must be informed."
            )
        if errors:
            raise ValidationError(errors)


class CredentialedOperator(models.Model):
    """An operator the committee accepts for a procedure: HTG670 asks for training and
    expertise in vertebral interventions, kyphoplasty or vertebroplasty."""

    approval = models.ForeignKey(LocalApproval, on_delete=models.CASCADE, related_name="operators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    training = models.CharField(
        max_length=300, help_text="Training and expertise, e.g. vertebroplasty, 50 cases"
    )
    credentialed_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["approval", "user"], name="one_credential_per_approval")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.approval}"


class ProcedureGovernance(models.Model):
    """How a recorded procedure stood against the site's approval when it was saved."""

    procedure = models.OneToOneField(Procedure, on_delete=models.CASCADE, related_name="governance")
    approval = models.ForeignKey(LocalApproval, on_delete=models.PROTECT, related_name="procedures")
    uncredentialed_operators = models.JSONField(default=list)
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Governance of procedure {self.procedure_id}"

    @property
    def has_override(self) -> bool:
        return bool(self.uncredentialed_operators)
