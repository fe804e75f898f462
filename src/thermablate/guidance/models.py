"""The NICE guidance catalogue: the current version of each document and its history.

What a site decides under a document (local approval, credentialed operators) is the site's
own record and lives in the registry."""

from datetime import date

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

    def as_known_on(self, day: date | None) -> tuple[int, str]:
        """The version and recommendation the catalogue held at the end of ``day``.

        That is the last version imported by then. The catalogue cannot know what NICE said
        before it first held the document, so a day before that gets the first version it
        held; without a day (or a history), the current one. A site's approval records this
        for its decision date, so that a later change of recommendation is flagged for review
        (``registry.approvals.review_flags``) even when the decision is recorded, or its
        citation corrected, after NICE changed it.
        """
        versions = self.versions.order_by("version")
        held = versions.filter(imported_at__date__lte=day).last() if day else None
        chosen = held or (versions.first() if day else None)
        if chosen is None:
            return self.version, self.recommendation
        return chosen.version, chosen.record.get("recommendation") or ""


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
