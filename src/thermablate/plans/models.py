"""A plan: one simulated ablation of a lesion, its complete inputs, its run and its results.

A plan is immutable once created: its scenario (every input the engine used), the engine
version and who asked for it never change; the background run fills in the progress and then,
once, the result or the reason it failed. Re-planning makes a new plan. Marking a plan
"chosen" is the one later change, made through ``plans.actions`` with its audit entry.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from thermablate.registry.models import Lesion, Patient, Procedure


class PlanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


class PlanPurpose(models.TextChoices):
    OPTION = "option", "Option"
    AS_DELIVERED = "delivered", "As delivered"


class Plan(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    purpose = models.CharField(
        max_length=10,
        choices=PlanPurpose.choices,
        default=PlanPurpose.OPTION,
        help_text="An option weighed before the procedure, or the procedure re-simulated as "
        "its cycles were delivered",
    )
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(max_length=120, help_text="A short name to tell the options apart")
    options = models.JSONField(help_text="The settings chosen on the form (PlanOptions)")
    scenario = models.JSONField(help_text="Every input of the simulation, as a scenario file")
    caveats = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    device_id = models.CharField(max_length=80)
    engine_version = models.CharField(max_length=40)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_time_s = models.FloatField(null=True, blank=True)
    progress_tip_c = models.FloatField(null=True, blank=True)
    failure = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    slices_png = models.BinaryField(null=True, blank=True)

    chosen = models.BooleanField(default=False)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(null=True, blank=True)
    procedure = models.ForeignKey(
        Procedure,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plans",
        help_text="The procedure that carried out this plan, or that it re-simulates",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lesion"],
                condition=models.Q(chosen=True),
                name="one_chosen_plan_per_lesion",
                violation_error_message="Another plan of this lesion is already chosen.",
            )
        ]

    def __str__(self) -> str:
        return f"Plan {self.pk}: {self.name}"

    @property
    def duration_s(self) -> float:
        return float(self.scenario.get("duration_s", 0.0))

    @property
    def progress_share(self) -> float:
        if self.status == PlanStatus.SUCCEEDED:
            return 1.0
        if not self.progress_time_s or not self.duration_s:
            return 0.0
        return min(1.0, self.progress_time_s / self.duration_s)

    @property
    def safety_status(self) -> str:
        return (self.result or {}).get("safety", {}).get("status", "")

    @property
    def model_leaves_out(self) -> list[str]:
        """What the model of this plan's run left out, as its stored result says (a plan run
        by an earlier engine shows its own list, not today's), or today's list for a plan
        without one (not run yet, or stored before the result said)."""
        from thermablate.planning.safety import MODEL_LIMITATIONS

        stored = (self.result or {}).get("safety", {}).get("model_leaves_out")
        return list(stored) if stored else list(MODEL_LIMITATIONS)

    @property
    def is_finished(self) -> bool:
        return self.status in (PlanStatus.SUCCEEDED, PlanStatus.FAILED)


class CoverageSeen(models.TextChoices):
    YES = "yes", "Yes, the lesion is covered"
    NO = "no", "No, part of the lesion is outside the zone"
    UNCERTAIN = "uncertain", "Cannot tell"


class ObservedZone(models.Model):
    """The ablation zone measured on post-procedure imaging: what a plan's prediction is
    compared with (the audit's predicted-against-observed agreement)."""

    procedure = models.OneToOneField(
        Procedure, on_delete=models.PROTECT, related_name="observed_zone"
    )
    imaging = models.CharField(
        max_length=10, choices=[("ct", "CT"), ("mri", "MRI")], help_text="Post-procedure imaging"
    )
    measured_on = models.DateField()
    length_mm = models.DecimalField(
        "Length along the electrode (mm)",
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(200)],
    )
    width_mm = models.DecimalField(
        "Largest width across it (mm)",
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(200)],
    )
    lesion_covered = models.CharField(max_length=10, choices=CoverageSeen.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Measured zone {self.length_mm} x {self.width_mm} mm"

    def clean(self):
        if self.measured_on and self.procedure_id:
            if self.measured_on < self.procedure.procedure_date:
                raise ValidationError(
                    {"measured_on": "The imaging cannot be before the procedure."}
                )
            if self.measured_on > timezone.localdate():
                raise ValidationError({"measured_on": "The date cannot be in the future."})
