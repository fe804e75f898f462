"""The NICE guidance catalogue: the current version of each document and its history.

What a site decides under a document (local approval, credentialed operators) is the site's
own record and lives in the registry."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from thermablate.guidance.record import CONDITIONS, RECOMMENDATIONS

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
