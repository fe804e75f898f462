"""Patient-reported outcomes: how a patient is contacted, the invitation to answer one
follow-up time point, the links it was sent with, and every message sent (never its content).
"""

from django.conf import settings
from django.core.validators import EmailValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from thermablate.clinical.escalation import Step
from thermablate.proms.phone import normalise_uk_mobile, validate_uk_mobile
from thermablate.registry.fields import EncryptedTextField
from thermablate.registry.models import Assessment, Patient


class ContactDetails(models.Model):
    """How a patient who agreed to be contacted is reached. Personal data: encrypted at rest
    like the NHS number, shown only to the roles that contact patients, never exported."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="contact_details"
    )
    email = EncryptedTextField(
        "E-mail address", blank=True, validators=[EmailValidator("Enter a valid e-mail address.")]
    )
    mobile = EncryptedTextField(
        "Mobile phone number",
        blank=True,
        validators=[validate_uk_mobile],
        help_text="A UK mobile number, for example 07700 900123",
    )
    postal_address = EncryptedTextField(
        "Postal address", blank=True, help_text="For a printed letter, if e-mail and text fail"
    )
    # The patient asked not to be contacted any more: no invitation or reminder is sent from
    # this day on, until a later consent records their agreement again.
    contact_withdrawn_on = models.DateField(null=True, blank=True, editable=False)
    contact_withdrawn_reason = models.TextField(blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    # Recorded in the audit trail as "changed", never in clear (registry.actions.base).
    REDACTED_IN_AUDIT = frozenset({"email", "mobile", "postal_address"})

    class Meta:
        verbose_name_plural = "contact details"

    def __str__(self) -> str:
        return f"Contact details of {self.patient}"

    def clean_fields(self, exclude=None):
        self.email = self.email.strip()
        self.mobile = normalise_uk_mobile(self.mobile) if self.mobile else ""
        self.postal_address = self.postal_address.strip()
        super().clean_fields(exclude=exclude)


class StopReason(models.TextChoices):
    COMPLETED = "completed", "Completed by the patient"
    STAFF_RECORDED = "staff_recorded", "Recorded by staff"
    NOT_DONE = "not_done", "Closed: could not be done"
    WINDOW_CLOSED = "window_closed", "The window closed"
    FOLLOW_UP_ENDED = "follow_up_ended", "The patient's follow-up ended"
    CONTACT_WITHDRAWN = "contact_withdrawn", "The patient no longer wishes to be contacted"
    RECORD_IN_ERROR = "record_in_error", "The procedure was marked entered in error"


# Wrong years of birth an invitation's links tolerate (the policy and its reasons are in
# proms.links, which enforces it): every LOCK_EVERY lock the links for LOCK_HOURS, and at
# MAX_FAILED_CHECKS they stay locked until staff unlock them.
LOCK_EVERY = 5
LOCK_HOURS = 24
MAX_FAILED_CHECKS = 10


class Invitation(models.Model):
    """The invitation to answer one scheduled assessment, from its window's opening day."""

    assessment = models.OneToOneField(
        Assessment, on_delete=models.CASCADE, related_name="invitation"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The end of the window's last day: no link opens after it.
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    # Wrong years of birth given on a link: after too many, links of this invitation stay
    # locked for a day (proms.links).
    failed_checks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # The answers given so far, saved page by page so the patient can resume within the window.
    draft = models.JSONField(default=dict, blank=True)
    # When the case landed on the call-and-letter list for staff.
    call_list_since = models.DateTimeField(null=True, blank=True)
    # The versions of the questionnaire's wording and of the medicine table the patient
    # answered under: neutral labels are not a licensed instrument's validated wording.
    wording = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.assessment} of {self.assessment.patient}"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.stopped_at is None

    @property
    def locked_for_good(self) -> bool:
        """Locked by too many wrong years of birth, until staff unlock it (proms.links)."""
        return self.failed_checks >= MAX_FAILED_CHECKS

    @property
    def painkillers_to_resolve(self) -> str:
        """What the patient wrote in, while the recorded answers still have no painkiller
        entries (staff resolve it by correcting the assessment with them)."""
        other = self.other_medicines
        if not other or self.completed_at is None:
            return ""
        assessment = self.assessment
        if assessment.no_analgesics or assessment.analgesics.exists():
            return ""
        return other

    @property
    def other_medicines(self) -> str:
        """Painkillers the patient wrote in rather than picked, for staff to resolve."""
        return (self.draft.get("other_medicines") or "").strip()


class InvitationLink(models.Model):
    """One link sent to the patient (each message carries its own): only its SHA-256 is kept,
    so the database alone never opens a questionnaire."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Link of {self.invitation} sent {self.created_at:%Y-%m-%d %H:%M}"


class MessageKind(models.TextChoices):
    INVITATION = Step.INVITATION.value, "Invitation"
    REMINDER = Step.REMINDER.value, "Reminder"
    TEXT = Step.TEXT.value, "Text message reminder"
    LETTER = "letter", "Printed letter"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"
    LETTER = "letter", "Letter"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "To send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will be retried)"
    GAVE_UP = "gave_up", "Failed (not retried)"
    SKIPPED = "skipped", "Not sent"
    CANCELLED = "cancelled", "Cancelled"


class Message(models.Model):
    """A message to the patient: when, by which channel, for which step, with what outcome.

    Never its content: the content carries a link that opens the questionnaire."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Why it failed or was not sent, in words staff can act on; never the message itself.
    detail = models.CharField(max_length=300, blank=True)
    # The provider's id of the message (GOV.UK Notify), to trace a delivery with them.
    provider_reference = models.CharField(max_length=100, blank=True)
    # Who printed a letter (automatic messages have none).
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The sender's idempotence: each automatic step is taken once per invitation,
            # however often and however concurrently `send_reminders` runs.
            models.UniqueConstraint(
                fields=["invitation", "kind"],
                condition=~Q(kind="letter"),
                name="one_message_per_step",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()}"
