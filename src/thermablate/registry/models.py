"""The registry: sites, staff, patients and every step of their journey.

Models hold data and the checks that involve only their own fields (``clean``); anything
that writes goes through ``thermablate.registry.actions``, which also writes the audit trail.
"""

import hashlib
import json
import secrets
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from thermablate.clinical import followup, sins
from thermablate.clinical.spine import SpinalLevelError, format_levels, parse_levels
from thermablate.guidance.models import Guidance
from thermablate.registry import choices as c
from thermablate.registry.audit_staging import stage_if_chained_at_end
from thermablate.registry.fields import (
    EncryptedTextField,
    KeyedHashField,
    identifier_hash,
    normalise_hospital_number,
    validate_hospital_number,
)
from thermablate.registry.validators import validate_nhs_number, validate_not_future


class Site(models.Model):
    code = models.SlugField(max_length=20, unique=True, help_text="Short code, e.g. an ODS code")
    name = models.CharField(max_length=200)
    collect_bpi = models.BooleanField(
        "Ask patients the Brief Pain Inventory (short form) at follow-up",
        default=False,
        help_text="The site's choice: its follow-up questionnaires and assessment pages then "
        "include the BPI's least pain, pain now and pain interference questions",
    )

    def __str__(self) -> str:
        return self.name


class SiteDevice(models.Model):
    """A site's own RF device, added to the shipped library (``planning/data/rf_devices.csv``)
    for its planning and procedure pages. The columns are the library's; an empty value is one
    no source documents, never a guess (``planning.devices``)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="devices")
    device_id = models.SlugField(
        max_length=80, help_text="Short, stable id, e.g. 'ngh-cannula-20g-10mm'"
    )
    manufacturer = models.CharField(max_length=100, blank=True)
    system = models.CharField(max_length=200, blank=True)
    electrode = models.CharField(max_length=200)
    polarity = models.CharField(max_length=10, choices=c.Polarity.choices, blank=True)
    active_tip_mm = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(50)],
    )  # fmt: skip
    gauge = models.PositiveSmallIntegerField(null=True, blank=True)
    articulating = models.BooleanField(null=True, blank=True)
    cooled = models.BooleanField(null=True, blank=True)
    control_mode = models.CharField(
        max_length=12,
        blank=True,
        choices=[("temperature", "Temperature"), ("power", "Power"), ("impedance", "Impedance")],
    )
    target_temp_c = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(37), MaxValueValidator(105)],
    )  # fmt: skip
    max_power_w = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(250)],
    )  # fmt: skip
    max_time_s = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    # The generator's output limits, from its operator manual: the planner then simulates the
    # roll-off a rising impedance causes (physics.generator.Generator).
    max_voltage_v = models.DecimalField(
        "Maximum output voltage (V rms)", max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(1000)],
    )  # fmt: skip
    max_current_a = models.DecimalField(
        "Maximum output current (A rms)", max_digits=4, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(10)],
    )  # fmt: skip
    max_impedance_ohm = models.PositiveIntegerField(
        "Impedance cut-off (ohm)", null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100000)],
        help_text="RF output stops when the load's impedance rises above this",
    )  # fmt: skip
    indications = models.CharField(
        max_length=200, blank=True, help_text="e.g. 'spinal-metastasis; osteoid-osteoma'"
    )
    source = models.CharField(
        max_length=500, help_text="Where the values come from: IFU, 510(k) summary, paper"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "device_id"],
                name="unique_device_id_per_site",
                violation_error_message="This site already has a device with this id.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.electrode}"

    @classmethod
    def library(cls, site: Site):
        """The site's device library: the shipped, cited table (``planning.devices``) and the
        site's own rows, offered alike by the planning and the procedure pages."""
        from thermablate.planning.devices import device_from_row, shipped_library

        own = [
            device_from_row(device.as_row(), site_defined=True)
            for device in cls.objects.filter(site=site).order_by("device_id")
        ]
        return shipped_library().with_site_devices(own)

    def as_row(self) -> dict[str, str]:
        """The device as a row of the library's table (``planning.devices.device_from_row``)."""

        def text(value) -> str:
            if value is None:
                return ""
            if isinstance(value, bool):
                return "yes" if value else "no"
            return str(value)

        from thermablate.planning.devices import COLUMNS

        return {name: text(getattr(self, name)) for name in COLUMNS}

    def clean(self):
        from thermablate.planning.devices import DeviceError, device_from_row, shipped_library

        try:
            device_from_row(self.as_row(), site_defined=True)
        except DeviceError as exc:
            raise ValidationError(str(exc)) from None
        if any(d.device_id == self.device_id for d in shipped_library().devices):
            raise ValidationError({"device_id": "The shipped library already has this id."})


class StaffProfile(models.Model):
    """Ties a Django user to one site and one role (the role is also a Django group)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=20, choices=c.Role.choices)

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.get_role_display()}, {self.site.code})"


GENESIS_HASH = "0" * 64  # the "previous hash" of the first audit entry


class RoleSecurityPolicy(models.Model):
    """What an administrator requires of a role at sign-in (two-factor authentication)."""

    role = models.CharField(max_length=20, choices=c.Role.choices, unique=True)
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Users of this role must confirm sign-in with an authenticator app code",
    )

    def __str__(self) -> str:
        return f"{self.get_role_display()}: two-factor {'required' if self.require_two_factor else 'optional'}"


_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_registry_number() -> str:
    """A random pseudonym such as TB-7KQ9XF: it reveals neither order nor count of patients."""
    return "TB-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(6))


# Statuses that end a patient's follow-up from their date on.
FOLLOW_UP_ENDED = [status for status in c.PatientStatus.values if status != c.PatientStatus.ALIVE]


class CorrectableQuerySet(models.QuerySet):
    def live(self):
        """The records that count: not marked "entered in error"."""
        return self.filter(entered_in_error=False)


class Correctable(models.Model):
    """A clinical record that is corrected or marked "entered in error", never deleted.

    A record marked in error leaves the timeline, the follow-up lists, the audit figures and
    the exports (each asks for ``.live()``), and stays in the database, the audit trail and the
    backups, so the mark can be undone (``registry.actions.corrections``).
    """

    entered_in_error = models.BooleanField(default=False, editable=False)
    entered_in_error_reason = models.TextField(blank=True, editable=False)
    # Optimistic locking: an edit made from an older version is refused (registry.actions).
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CorrectableQuerySet.as_manager()

    class Meta:
        abstract = True


class Patient(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    registry_number = models.CharField(max_length=12, unique=True, editable=False)
    # Encrypted at rest; found through its keyed hash (thermablate.registry.fields).
    nhs_number = EncryptedTextField(
        "NHS number", validators=[validate_nhs_number], help_text="10 digits"
    )
    nhs_number_hash = KeyedHashField(source="nhs_number", db_index=True)
    # The hospital's own number (medical record number): protected like the NHS number.
    mrn = EncryptedTextField(
        "Hospital number (MRN)",
        blank=True,
        validators=[validate_hospital_number],
        help_text="Optional: up to 20 letters, digits or hyphens",
    )
    mrn_hash = KeyedHashField(source="mrn", db_index=True, blank=True)
    year_of_birth = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    sex = models.CharField(max_length=10, choices=c.Sex.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Where the patient's follow-up stands (docs/audit.md, "Patient status and completeness");
    # set only through registry.actions.record_patient_status.
    status = models.CharField(
        max_length=20,
        choices=c.PatientStatus.choices,
        default=c.PatientStatus.ALIVE,
        editable=False,
    )
    status_date = models.DateField(null=True, blank=True, editable=False)
    death_related = models.CharField(
        "Death related to the procedure",
        max_length=10,
        choices=c.DeathRelated.choices,
        blank=True,
        editable=False,
    )
    status_notes = models.TextField(blank=True, editable=False)
    # Optimistic locking: an edit made from an older version is refused (registry.actions).
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "nhs_number_hash"],
                name="unique_nhs_number_per_site",
                violation_error_message="A patient with this NHS number is already registered at this site.",
            ),
            # Optional: many patients may have none, so only given numbers must be unique.
            models.UniqueConstraint(
                fields=["site", "mrn_hash"],
                condition=~models.Q(mrn_hash=""),
                name="unique_mrn_per_site",
                violation_error_message="A patient with this hospital number is already registered at this site.",
            ),
        ]
        permissions = [
            ("view_identifiers", "Can see patient identifiers (NHS number, hospital number)"),
            (
                "mark_entered_in_error",
                'Can mark clinical records "entered in error" and undo the mark',
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.registry_number

    @property
    def follow_up_ended_on(self) -> date | None:
        """The day the patient's follow-up ended (died, withdrew, lost), or None."""
        return self.status_date if self.status in FOLLOW_UP_ENDED else None

    def clean_fields(self, exclude=None):
        # Trim and capitalise before the validator sees it, whichever way it came (page, API,
        # import): the hash must be of the one spelling a search will use.
        self.mrn = normalise_hospital_number(self.mrn)
        super().clean_fields(exclude=exclude)

    def clean(self):
        # The unique-per-site checks compare hashes, so bring the hashes up to date first.
        self.nhs_number_hash = identifier_hash(self.nhs_number) if self.nhs_number else ""
        self.mrn_hash = identifier_hash(self.mrn) if self.mrn else ""
        if self.year_of_birth and self.year_of_birth > timezone.localdate().year:
            raise ValidationError({"year_of_birth": "The year of birth cannot be in the future."})
        self._clean_status()

    def _clean_status(self) -> None:
        errors = {}
        if self.status == c.PatientStatus.ALIVE:
            if self.status_date or self.death_related:
                errors["status_date"] = "A patient in follow-up has no status date."
        elif self.status_date is None:
            errors["status_date"] = (
                f"Give the date: {self.get_status_display().lower()} on which day?"
            )
        elif self.status_date > timezone.localdate():
            errors["status_date"] = "The date cannot be in the future."
        if self.status == c.PatientStatus.DIED and not self.death_related:
            errors["death_related"] = "Say whether the death was related to the procedure."
        if self.status != c.PatientStatus.DIED and self.death_related:
            errors["death_related"] = "Only a death is related or not to the procedure."
        if errors:
            raise ValidationError(errors)


class Lesion(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lesions")
    spinal_levels = models.CharField(
        max_length=40, blank=True, help_text="Spinal level or contiguous levels, e.g. L3 or T12-L1"
    )
    bone_site = models.CharField(
        max_length=100, blank=True, help_text="For a lesion outside the spine, e.g. femur, tibia"
    )
    diagnosis = models.CharField(max_length=30, choices=c.Diagnosis.choices)
    primary_tumour = models.CharField(
        max_length=100, blank=True, help_text="For metastases, e.g. breast"
    )
    lesion_type = models.CharField(max_length=20, choices=c.LesionType.choices)
    size_mm = models.DecimalField(
        "Size (mm)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(300)],
    )
    posterior_wall_intact = models.BooleanField(
        null=True, blank=True, help_text="Posterior vertebral wall intact (spinal lesions)"
    )
    distance_to_neural_mm = models.DecimalField(
        "Shortest distance to spinal cord or nerve roots (mm)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(300)],
    )
    pain_at_site = models.PositiveSmallIntegerField(
        "Pain at the site (0-10)", null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    # Spinal Instability Neoplastic Score: the raw answers of the components a person judges
    # (Fisher et al. 2010, thermablate.clinical.sins). Location follows from the level and the
    # bone lesion from the lesion type; the total is derived (``sins_score``), never stored.
    sins_pain = models.CharField(
        "SINS: pain", max_length=30, choices=c.SinsPain.choices, blank=True
    )
    sins_alignment = models.CharField(
        "SINS: radiographic spinal alignment",
        max_length=30,
        choices=c.SinsAlignment.choices,
        blank=True,
    )
    sins_collapse = models.CharField(
        "SINS: vertebral body collapse", max_length=30, choices=c.SinsCollapse.choices, blank=True
    )
    sins_posterolateral = models.CharField(
        "SINS: posterolateral involvement of the spinal elements",
        max_length=30,
        choices=c.SinsPosterolateral.choices,
        blank=True,
    )
    bilsky_grade = models.CharField(
        "Epidural spinal cord compression (Bilsky grade)",
        max_length=2,
        choices=c.BilskyGrade.choices,
        blank=True,
        help_text="On axial T2-weighted MRI at the most compressed level",
    )
    prior_radiotherapy = models.CharField(
        "Radiotherapy to this level or site before",
        max_length=10,
        choices=c.PriorRadiotherapy.choices,
        blank=True,
    )
    prior_radiotherapy_date = models.DateField(
        "Date of the last radiotherapy to it",
        null=True,
        blank=True,
        help_text="The last fraction, if known",
    )

    SINS_FIELDS = ("sins_pain", "sins_alignment", "sins_collapse", "sins_posterolateral")

    def __str__(self) -> str:
        return f"{self.location} {self.get_diagnosis_display().lower()}"

    @property
    def sins_score(self) -> sins.SinsScore | None:
        """The SINS of this lesion, or None when it cannot be scored: outside the spine, a
        lesion type SINS does not grade, or a component not yet answered."""
        bone_lesion = c.SINS_BONE_LESION_OF_LESION_TYPE.get(self.lesion_type)
        if not self.spinal_levels or bone_lesion is None:
            return None
        answered = {name.removeprefix("sins_"): getattr(self, name) for name in self.SINS_FIELDS}
        if not all(answered.values()):
            return None
        try:
            return sins.score(self.spinal_levels, {**answered, "bone_lesion": bone_lesion})
        except (sins.SinsError, SpinalLevelError):
            return None  # levels not yet validated; clean() reports them

    @property
    def location(self) -> str:
        return self.spinal_levels or self.bone_site

    @property
    def level_list(self) -> list[str]:
        return parse_levels(self.spinal_levels) if self.spinal_levels else []

    def clean(self):
        if self.spinal_levels:
            try:
                self.spinal_levels = format_levels(parse_levels(self.spinal_levels))
            except SpinalLevelError as exc:
                raise ValidationError({"spinal_levels": str(exc)}) from None
        if bool(self.spinal_levels) == bool(self.bone_site.strip()):
            raise ValidationError(
                {
                    "spinal_levels": "Give either the spinal level(s) or another bone site, not both or neither."
                }
            )
        if not self.spinal_levels:
            # SINS and the Bilsky grade describe the spine; on a femur they would mean nothing.
            spinal_only = {
                name: "Only for a lesion of the spine."
                for name in (*self.SINS_FIELDS, "bilsky_grade")
                if getattr(self, name)
            }
            if spinal_only:
                raise ValidationError(spinal_only)
        if self.prior_radiotherapy_date is not None:
            if self.prior_radiotherapy != c.PriorRadiotherapy.YES:
                raise ValidationError(
                    {"prior_radiotherapy_date": "A date is given, but no radiotherapy before."}
                )
            if self.prior_radiotherapy_date > timezone.localdate():
                raise ValidationError(
                    {"prior_radiotherapy_date": "The date cannot be in the future."}
                )


def linked_in_error(record: "Correctable", link: str, noun: str) -> dict[str, str]:
    """The refusal of a live record that points at one marked "entered in error" (a new MDT
    decision on a lesion in error, say): what counts must not hang on what does not."""
    target = getattr(record, link) if getattr(record, f"{link}_id") else None
    if target is None or not target.entered_in_error or record.entered_in_error:
        return {}
    return {
        link: f"This {noun} is marked entered in error: choose another, or undo the mark first."
    }


class MdtDecisionRecord(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="mdt_decisions")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, null=True, blank=True)
    meeting_date = models.DateField(validators=[validate_not_future])
    member_roles = models.JSONField(default=list, help_text="Roles present at the meeting")
    decision = models.CharField(max_length=20, choices=c.MdtDecision.choices)
    # Assessed at the meeting: Oken et al., Am J Clin Oncol 1982;5(6):649-655.
    ecog_performance_status = models.PositiveSmallIntegerField(
        "Performance status (ECOG)",
        choices=c.EcogPerformanceStatus.choices,
        null=True,
        blank=True,
        validators=[MaxValueValidator(5)],
    )
    reasons = models.TextField(blank=True)

    class Meta:
        ordering = ["meeting_date"]

    def __str__(self) -> str:
        return f"MDT decision of {self.meeting_date:%d %b %Y}: {self.get_decision_display()}"

    def clean(self):
        linked = linked_in_error(self, "lesion", "lesion")
        if linked:
            raise ValidationError(linked)
        allowed = set(c.MdtMemberRole.values)
        if not self.member_roles or not set(self.member_roles) <= allowed:
            raise ValidationError({"member_roles": "Choose the roles of the members present."})
        if len(set(self.member_roles)) < 2:
            # A decision by one specialty is not a multidisciplinary decision (HTG670 1.2).
            raise ValidationError(
                {"member_roles": "A multidisciplinary team needs at least two specialties."}
            )


class Consent(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    consent_date = models.DateField(validators=[validate_not_future])
    leaflet_title = models.CharField("Written information (leaflet title)", max_length=200)
    leaflet_version = models.CharField(max_length=40)
    nice_information_offered = models.BooleanField(
        "NICE's information for the public offered", default=False
    )
    uncertainties_discussed = models.BooleanField(
        "Uncertainties of the procedure discussed", default=False
    )
    plan_discussed = models.BooleanField(
        "The chosen plan's prediction and its uncertainties discussed",
        default=False,
        help_text="The predicted ablation zone, the heat at the cord and roots, and what the "
        "model leaves out",
    )
    registry_audit_consent = models.BooleanField(
        "Consents to registry and audit use of data", default=False
    )
    contact_for_follow_up = models.BooleanField(
        "Agrees to be contacted for follow-up questionnaires",
        default=False,
        help_text="By e-mail, text message or letter, each with a link to answer the "
        "follow-up questionnaire online",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["consent_date"]

    def __str__(self) -> str:
        return f"Consent of {self.consent_date:%d %b %Y}"


def after_death(patient, on: date | None, what: str) -> str:
    """Why ``what`` (a procedure, an assessment) cannot be dated ``on`` for ``patient``: after
    their recorded death (issue 12, the patient's course); "" when it can."""
    died_on = patient.status_date if patient.status == c.PatientStatus.DIED else None
    if on is None or died_on is None or on <= died_on:
        return ""
    return (
        f"The patient died on {died_on:%d %B %Y}: {what} cannot be dated after the patient's "
        "death. Correct the date, or the patient's status."
    )


class Procedure(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="procedures")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="procedures")
    procedure_date = models.DateField(validators=[validate_not_future])
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="procedures_performed"
    )
    procedure_type = models.CharField(max_length=40, choices=c.ProcedureType.choices)
    setting = models.CharField(max_length=20, choices=c.Setting.choices)
    anaesthesia = models.CharField(max_length=20, choices=c.Anaesthesia.choices)
    approach = models.CharField(max_length=20, choices=c.Approach.choices, blank=True)
    access = models.CharField(max_length=20, choices=c.Access.choices)
    image_guidance = models.JSONField(default=list)
    device_manufacturer = models.CharField(max_length=100)
    device_model = models.CharField(max_length=100)
    device_id = models.CharField(
        "Device in the library",
        max_length=80,
        blank=True,
        help_text="The same library as the plans, so the device used and the device planned "
        "can be compared",
    )
    device_lot = models.CharField("Device lot number", max_length=60, blank=True)
    polarity = models.CharField(max_length=10, choices=c.Polarity.choices)
    active_tip_mm = models.DecimalField(
        "Active tip length (mm)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    biopsy_taken = models.BooleanField(default=False)
    cement = models.CharField(max_length=20, choices=c.Cement.choices, default=c.Cement.NONE)
    cement_volume_ml = models.DecimalField(
        "Cement volume (ml)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
    )
    thermal_protection = models.JSONField(default=list)
    levels_treated = models.CharField(max_length=40, blank=True, help_text="e.g. L2 or L2-L3")
    duration_min = models.PositiveSmallIntegerField(
        "Total duration (minutes)", validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    post_imaging = models.CharField(
        "Post-procedure imaging",
        max_length=20,
        choices=c.PostImaging.choices,
        default=c.PostImaging.CT,
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # OPCS-4 codes as accepted or changed by a coder (suggestions are computed, not stored).
    opcs_codes = models.JSONField(default=list, blank=True)
    opcs_coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opcs_coded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["procedure_date"]

    def __str__(self) -> str:
        return f"{self.get_procedure_type_display()} on {self.procedure_date:%d %b %Y}"

    @property
    def is_spinal(self) -> bool:
        return self.procedure_type in c.SPINAL_PROCEDURES

    def clean(self):
        errors: dict[str, str] = linked_in_error(self, "lesion", "lesion")
        if not self.image_guidance or not set(self.image_guidance) <= set(c.Imaging.values):
            errors["image_guidance"] = "Choose the image guidance used."
        if not self.thermal_protection or not set(self.thermal_protection) <= set(
            c.ThermalProtection.values
        ):
            errors["thermal_protection"] = "Choose the thermal protection used, or none."
        elif "none" in self.thermal_protection and len(self.thermal_protection) > 1:
            errors["thermal_protection"] = "'None' cannot be combined with a protection method."
        if self.cement == c.Cement.NONE and self.cement_volume_ml:
            errors["cement_volume_ml"] = "A cement volume is given but no cement was used."
        if self.cement != c.Cement.NONE and self.cement_volume_ml is None:
            errors["cement_volume_ml"] = "Give the volume of cement injected."
        expected_cement = c.CEMENT_OF_PROCEDURE_TYPE.get(self.procedure_type)
        if expected_cement == c.Cement.NONE and self.cement not in ("", c.Cement.NONE):
            errors["cement"] = (
                f"{c.ProcedureType(self.procedure_type).label} injects no cement: choose none, "
                "or record RF ablation plus vertebroplasty or kyphoplasty."
            )
        elif expected_cement and self.cement != expected_cement:
            errors["cement"] = f"This procedure includes {c.Cement(expected_cement).label.lower()}."
        if self.levels_treated:
            try:
                self.levels_treated = format_levels(parse_levels(self.levels_treated))
            except SpinalLevelError as exc:
                errors["levels_treated"] = str(exc)
        if self.lesion_id and self.patient_id and self.lesion.patient_id != self.patient_id:
            errors["lesion"] = "This lesion belongs to another patient."
        if self.device_id and self.patient_id:
            errors.update(self._device_errors())
        if self.patient_id and (
            after := after_death(self.patient, self.procedure_date, "a procedure")
        ):
            errors["procedure_date"] = after
        if errors:
            raise ValidationError(errors)

    def _device_errors(self) -> dict[str, str]:
        """The library's device must be one the site knows, and agree with what the record
        says of its polarity and active tip where the library documents them."""
        from thermablate.planning.devices import DeviceError

        try:
            device = SiteDevice.library(self.patient.site).get(self.device_id)
        except DeviceError:
            return {"device_id": "This device is not in your site's library."}
        errors = {}
        if device.polarity and self.polarity and device.polarity != self.polarity:
            errors["polarity"] = f"The library's device is {device.polarity}."
        if (
            device.active_tip_mm is not None
            and self.active_tip_mm is not None
            and float(self.active_tip_mm) != device.active_tip_mm
        ):
            errors["active_tip_mm"] = f"The library's device has a {device.active_tip_mm:g} mm tip."
        return errors


class AblationCycle(models.Model):
    # Temperature-controlled RF generators for bone run 70-95 °C; the osteoid osteoma guidance
    # (IPG53) heats the nidus to 85-90 °C for 4-6 minutes. 100 °C is the ceiling: above it
    # tissue boils and chars, and no bone RF system targets it.
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="cycles")
    order = models.PositiveSmallIntegerField()
    target_temp_c = models.DecimalField(
        "Target temperature (°C)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(37), MaxValueValidator(100)],
    )
    time_at_target_s = models.PositiveIntegerField(
        "Time at target (s)", validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    power_w = models.DecimalField(
        "Power (W)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(250)],
    )

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"Cycle {self.order}: {self.target_temp_c} °C for {self.time_at_target_s} s"


# An assessment whose patient's follow-up ended on or before its window's last day: closed,
# not overdue (``Assessment.is_closed`` in Python; the follow-up lists and the questionnaire
# figures in the database).
FOLLOW_UP_ENDED_IN_WINDOW = Q(patient__status__in=FOLLOW_UP_ENDED) & Q(
    window_closes__gte=F("patient__status_date")
)


class AssessmentQuerySet(CorrectableQuerySet):
    def awaiting(self):
        """Scheduled assessments still to be done: not recorded (or recorded in error), not
        closed (could not be done, or the patient's follow-up ended before the window
        closed), of a procedure that counts. What the follow-up lists chase."""
        ended = FOLLOW_UP_ENDED_IN_WINDOW
        return (
            self.filter(Q(assessed_on__isnull=True) | Q(entered_in_error=True))
            .filter(not_done_reason="", procedure__entered_in_error=False)
            .exclude(ended)
        )


class Assessment(Correctable):
    """One scheduled follow-up (or the baseline): raw answers only; scores are derived."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="assessments")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="assessments")
    timepoint = models.CharField(max_length=10, choices=c.Timepoint.choices)
    due_date = models.DateField()
    window_opens = models.DateField()
    window_closes = models.DateField()
    assessed_on = models.DateField(null=True, blank=True, validators=[validate_not_future])
    pain_worst = models.PositiveSmallIntegerField(
        "Worst pain in the last 24 hours (0-10)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(10)],
    )
    pain_average = models.PositiveSmallIntegerField(
        "Average pain in the last 24 hours (0-10)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(10)],
    )
    eq5d_mobility = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(i, str(i)) for i in range(1, 6)]
    )
    eq5d_self_care = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(i, str(i)) for i in range(1, 6)]
    )
    eq5d_usual_activities = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(i, str(i)) for i in range(1, 6)]
    )
    eq5d_pain_discomfort = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(i, str(i)) for i in range(1, 6)]
    )
    eq5d_anxiety_depression = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(i, str(i)) for i in range(1, 6)]
    )
    eq5d_vas = models.PositiveSmallIntegerField(
        "EQ VAS: health today, 0-100",
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="0 = the worst health you can imagine, 100 = the best",
    )
    # The ODI's ten sections (odi_pain_intensity ... odi_travelling) and the BPI's pain
    # interference items (bpi_general_activity ... bpi_enjoyment_of_life) are added below the
    # class, one field each (c.ODI_SECTIONS, c.BPI_INTERFERENCE).
    bpi_least = models.PositiveSmallIntegerField(
        "BPI: least pain in the last 24 hours (0-10)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(10)],
    )
    bpi_now = models.PositiveSmallIntegerField(
        "BPI: pain right now (0-10)", null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    no_analgesics = models.BooleanField("Takes no analgesics", default=False)
    notes = models.TextField(blank=True)
    # Who gave the answers (set by registry.actions.record_assessment, never typed): a staff
    # correction of the patient's own answers keeps "patient" and sets corrected_by_staff; the
    # correction, with its reason, is in the audit trail.
    reported_by = models.CharField(
        max_length=10,
        choices=c.ReportedBy.choices,
        default=c.ReportedBy.STAFF,
        editable=False,
    )
    corrected_by_staff = models.BooleanField(default=False, editable=False)
    # An assessment dated outside its time point's window is refused unless the
    # user says so explicitly; the audit then counts it out of window, never as
    # done in window (a 12-month score taken at day 15 is not a 12-month outcome).
    outside_window = models.BooleanField("Outside the window", default=False)
    outside_window_reason = models.TextField("Reason for assessing outside the window", blank=True)
    # A time point that could not be done (too unwell to answer, in hospital elsewhere...):
    # closed with its reason rather than left overdue (docs/audit.md).
    not_done_reason = models.TextField("Why it could not be done", blank=True, editable=False)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "timepoint"], name="one_assessment_per_timepoint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_timepoint_display()} assessment"

    @property
    def is_done(self) -> bool:
        # Answers marked "entered in error" stay on the row for the undo, but do not count.
        return self.assessed_on is not None and not self.entered_in_error

    @property
    def is_closed(self) -> bool:
        """Not done and never will be: it could not be done, or the patient's follow-up ended
        before its window closed (died, withdrew, lost to follow-up)."""
        if self.is_done:
            return False
        return bool(self.not_done_reason) or followup.ended_in_window(
            self.window_closes, self.patient.follow_up_ended_on
        )

    def status(self, today: date | None = None) -> followup.Status:
        return followup.status(
            self.window_opens,
            self.window_closes,
            self.assessed_on if self.is_done else None,
            today or timezone.localdate(),
            closed=self.is_closed,
        )

    @property
    def eq5d_profile(self) -> tuple[int, ...] | None:
        answers = tuple(getattr(self, name) for name, _ in c.EQ5D_DIMENSIONS)
        return answers if all(a is not None for a in answers) else None

    @property
    def source(self) -> str:
        """Who gave the answers, as every page shows it beside them."""
        if self.reported_by != c.ReportedBy.PATIENT:
            return "Staff-entered"
        if self.corrected_by_staff:
            return "Patient-reported, corrected by staff"
        return "Patient-reported"

    @property
    def in_window(self) -> bool:
        """Done within [window_opens, window_closes]: the only kind the audit counts as done."""
        return self.assessed_on is not None and followup.within_dates(
            self.window_opens, self.window_closes, self.assessed_on
        )

    @property
    def window_days_text(self) -> str:
        """The window in days from the procedure, as the page shows it above the form."""
        return followup.days_text(
            self.procedure.procedure_date, self.window_opens, self.window_closes
        )

    def _clean_window(self, procedure_date: date) -> None:
        """An assessment outside its window is refused unless marked so, with a reason; the
        mark and the reason are refused where they do not apply, so the audit can trust them."""
        reason_given = bool(self.outside_window_reason.strip())
        if followup.within_dates(self.window_opens, self.window_closes, self.assessed_on):
            if self.outside_window:
                raise ValidationError(
                    {
                        "outside_window": "This date is inside the window: untick "
                        "'Outside the window'."
                    }
                )
            if reason_given:
                raise ValidationError(
                    {
                        "outside_window_reason": "A reason is given only for an assessment "
                        "outside the window: clear it, or correct the date."
                    }
                )
            return
        window = followup.window_message(
            self.get_timepoint_display(),
            procedure_date,
            self.window_opens,
            self.window_closes,
            self.assessed_on,
        )
        if not self.outside_window:
            raise ValidationError(
                {
                    "assessed_on": f"{window} If it really was done outside the window, tick "
                    "'Outside the window' and give the reason."
                }
            )
        if not reason_given:
            raise ValidationError(
                {"outside_window_reason": f"{window} Give the reason it was done outside it."}
            )

    def clean(self):
        if self.assessed_on is None:
            if self.outside_window or self.outside_window_reason.strip():
                raise ValidationError(
                    {"outside_window": "Give the date of the assessment outside the window."}
                )
            return
        procedure_date = self.procedure.procedure_date
        if self.timepoint == c.Timepoint.BASELINE:
            if self.assessed_on > procedure_date:
                raise ValidationError(
                    {
                        "assessed_on": "A baseline assessment is made on or before the procedure date."
                    }
                )
        elif self.assessed_on < procedure_date:
            raise ValidationError(
                {"assessed_on": "A follow-up cannot be dated before its procedure."}
            )
        if after := after_death(self.patient, self.assessed_on, "an assessment"):
            raise ValidationError({"assessed_on": after})
        self._clean_window(procedure_date)
        if (
            self.pain_worst is not None
            and self.pain_average is not None
            and self.pain_average > self.pain_worst
        ):
            raise ValidationError(
                {"pain_average": "Average pain cannot be higher than the worst pain."}
            )
        given = [getattr(self, name) for name, _ in c.EQ5D_DIMENSIONS]
        if any(a is not None for a in given) and not all(a is not None for a in given):
            raise ValidationError({"eq5d_mobility": "Answer all five EQ-5D-5L questions, or none."})
        # BPI items 3-5 are about the same 24 hours: the least pain cannot exceed the worst or
        # the average (as the average cannot exceed the worst, above). Any item may be left
        # unanswered: the scores say when there are too few answers (clinical.bpi, .odi).
        least = self.bpi_least
        if least is not None and any(
            other is not None and least > other for other in (self.pain_worst, self.pain_average)
        ):
            raise ValidationError(
                {"bpi_least": "The least pain cannot be higher than the worst or average pain."}
            )


def _answer_field(label: str, maximum: int, help_text: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=[MaxValueValidator(maximum)], help_text=help_text
    )


# One field per ODI section and per BPI interference item, generated from the instruments'
# own item lists (clinical.odi.SECTIONS, clinical.bpi.INTERFERENCE_ITEMS) under the names
# c.ODI_SECTIONS and c.BPI_INTERFERENCE give: odi_pain_intensity, bpi_general_activity, ...
for _name, _label in c.ODI_SECTIONS:
    Assessment.add_to_class(
        _name,
        _answer_field(
            _label, 5, "0 = the first statement (least disability) ... 5 = the last (most)"
        ),
    )
for _name, _label in c.BPI_INTERFERENCE:
    Assessment.add_to_class(
        _name, _answer_field(_label, 10, "0 = no interference ... 10 = complete interference")
    )


class AnalgesicEntry(models.Model):
    """A drug as the patient takes it; the morphine equivalent is computed from these."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="analgesics")
    drug = models.CharField(
        max_length=80, help_text="Generic name, e.g. morphine, oxycodone, paracetamol"
    )
    dose = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0.01)])
    unit = models.CharField(max_length=15, choices=c.DoseUnit.choices)
    route = models.CharField(max_length=15, choices=c.Route.choices)
    doses_per_day = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(24)],
        help_text="Regular doses in 24 hours (leave empty for a patch)",
    )
    as_needed = models.BooleanField("As needed (PRN)", default=False)

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} {self.unit} {self.route}"

    def clean(self):
        if self.unit == c.DoseUnit.MICROGRAM_PER_HOUR:
            if self.route != c.Route.TRANSDERMAL:
                raise ValidationError(
                    {"unit": "microgram/hour is the dose unit of a transdermal patch."}
                )
        elif self.doses_per_day is None:
            raise ValidationError({"doses_per_day": "Give the number of doses in 24 hours."})


class AdverseEvent(Correctable):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="adverse_events")
    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="adverse_events"
    )
    event_type = models.CharField(max_length=30, choices=c.AdverseEventType.choices)
    symptomatic = models.BooleanField(
        null=True, blank=True, help_text="For cement leakage: symptomatic or not"
    )
    onset_date = models.DateField(validators=[validate_not_future])
    severity = models.PositiveSmallIntegerField(
        choices=c.Severity.choices, help_text="CTCAE v5.0 grade"
    )
    device_related = models.CharField(max_length=10, choices=c.DeviceRelated.choices)
    outcome = models.CharField(max_length=20, choices=c.EventOutcome.choices)
    description = models.TextField()
    yellow_card_reported_on = models.DateField(
        "Reported to MHRA Yellow Card on", null=True, blank=True
    )
    yellow_card_reference = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["onset_date"]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} (grade {self.severity})"

    def clean(self):
        errors = linked_in_error(self, "procedure", "procedure")
        if (
            self.procedure_id
            and self.onset_date
            and self.onset_date < self.procedure.procedure_date
        ):
            errors["onset_date"] = (
                "An adverse event of a procedure cannot start before the procedure."
            )
        if self.procedure_id and self.patient_id and self.procedure.patient_id != self.patient_id:
            errors["procedure"] = "This procedure belongs to another patient."
        # Inside the patient's course: nothing starts after the death (issue 12, item 4).
        patient = self.patient if self.patient_id else None
        if (
            patient is not None
            and self.onset_date
            and patient.status == c.PatientStatus.DIED
            and patient.status_date
            and self.onset_date > patient.status_date
        ):
            errors["onset_date"] = (
                f"The patient died on {patient.status_date:%d %B %Y}: an adverse event cannot "
                "start after the patient's death. Correct the date, or the patient's status."
            )
        # CTCAE v5.0: grade 5 is death related to the adverse event, so the two go together.
        fatal = self.outcome == c.EventOutcome.FATAL
        if self.severity == c.Severity.GRADE_5 and not fatal:
            errors["outcome"] = "A grade 5 event is a death: its outcome is fatal."
        if fatal and self.severity is not None and self.severity != c.Severity.GRADE_5:
            errors["severity"] = "A fatal outcome is grade 5 (death related to the event)."
        if self.event_type == c.AdverseEventType.CEMENT_LEAKAGE and self.symptomatic is None:
            errors["symptomatic"] = "Say whether the cement leakage was symptomatic."
        if self.yellow_card_reference and not self.yellow_card_reported_on:
            errors["yellow_card_reported_on"] = "Give the date the Yellow Card report was made."
        if self.yellow_card_reported_on:
            if self.onset_date and self.yellow_card_reported_on < self.onset_date:
                errors["yellow_card_reported_on"] = "The report cannot precede the event."
            if self.yellow_card_reported_on > timezone.localdate():
                errors["yellow_card_reported_on"] = "The date cannot be in the future."
        if errors:
            raise ValidationError(errors)


# Local governance: what the site's committee decided about a procedure under NICE guidance.


class LocalApproval(models.Model):
    """A site's decision, by its new-procedures or governance committee, to offer a procedure."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="approvals")
    procedure_type = models.CharField(max_length=40, choices=c.ProcedureType.choices)
    guidance = models.ForeignKey(Guidance, on_delete=models.PROTECT, related_name="approvals")
    decision = models.CharField(max_length=20, choices=c.ApprovalDecision.choices)
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
    withdrawn_on = models.DateField(
        null=True, blank=True, help_text="From this date the procedure is no longer approved"
    )
    withdrawal_reason = models.TextField(blank=True)
    # The committee's later decision on the same procedure replaces this one: the new approval
    # names the one it supersedes, and this one records the date it stopped being in force
    # (the new decision's date) and why, so "in force" is a condition on this row alone, which
    # the database's partial unique constraint below can check (registry.actions.governance).
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        editable=False,
    )
    superseded_on = models.DateField(null=True, blank=True, editable=False)
    supersession_reason = models.TextField(blank=True, editable=False)
    # Optimistic locking of corrections (registry.actions.governance_corrections).
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["site", "procedure_type", "-decision_date"]
        permissions = [("manage_approvals", "Can record local approvals and credential operators")]
        constraints = [
            # One decision in force per procedure per site: a second one is recorded by
            # superseding the first, or after withdrawing it (issue 12: three were in force).
            models.UniqueConstraint(
                fields=["site", "procedure_type"],
                condition=models.Q(withdrawn_on__isnull=True, superseded_on__isnull=True),
                name="one_approval_in_force_per_procedure",
                violation_error_message=(
                    "Another approval of this procedure is in force at this site: supersede it "
                    "or withdraw it first."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_procedure_type_display()} at {self.site.code}: {self.get_decision_display()}"

    @property
    def in_force(self) -> bool:
        """Neither withdrawn nor superseded (both dates are never in the future)."""
        return self.withdrawn_on is None and self.superseded_on is None

    @property
    def ended_on(self) -> date | None:
        """The first day this decision no longer held, if it has ended."""
        return self.withdrawn_on or self.superseded_on

    @property
    def is_approved(self) -> bool:
        return self.decision in c.APPROVED_DECISIONS and self.in_force

    def clean(self):
        errors = {}
        if self.decision_date and self.decision_date > timezone.localdate():
            errors["decision_date"] = "The decision date cannot be in the future."
        if self.decision_date and self.review_date and self.review_date <= self.decision_date:
            errors["review_date"] = "The review date must come after the decision."
        if self.decision == c.ApprovalDecision.SPECIAL and not self.governance_leads_informed:
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
    # The credential this one continues when its approval superseded an earlier one: the
    # operator was not credentialed again, the committee carried the credential over.
    carried_over_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="carried_into",
        editable=False,
    )
    # The committee withdraws a credential (or it was recorded in error): from that day the
    # operator needs an override; procedures before it stay covered. Kept, never deleted.
    withdrawn_on = models.DateField(null=True, blank=True, editable=False)
    withdrawal_reason = models.TextField(blank=True, editable=False)
    # Optimistic locking of corrections (registry.actions.governance_corrections).
    version = models.PositiveIntegerField(default=1, editable=False)

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
    uncredentialed_operators = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The pathway rules (registry.data_quality.PATHWAY_RULES) the procedure broke when it was
    # recorded, by their codes, and the reason the user gave to record it all the same.
    pathway_exceptions = models.JSONField(default=list, blank=True)
    pathway_override_reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Governance of procedure {self.procedure_id}"

    @property
    def has_credentialing_override(self) -> bool:
        return bool(self.uncredentialed_operators)

    @property
    def has_pathway_override(self) -> bool:
        return bool(self.pathway_exceptions)

    @property
    def has_override(self) -> bool:
        return self.has_credentialing_override or self.has_pathway_override


class AuditChainHead(models.Model):
    """The hash of the newest audit entry: one row, locked by every writer, so entries form a
    single chain even with concurrent writers on PostgreSQL. The database refuses to delete it
    or to move it other than forward, to the newest entry (migration 0009)."""

    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return self.last_hash


class AuditEvent(models.Model):
    """One create, update, delete, override, view or export of clinical data: who, when, what,
    with old and new values.

    Append-only and tamper-evident: each entry stores the SHA-256 of its own content and of the
    entry before it, so an edited, inserted or deleted entry breaks the chain
    (``thermablate audit verify``). Written by ``registry.actions`` in the same transaction as
    the change itself; inside ``audit_trail.entries_chained_at_end`` (an import) entries are
    staged and chained together when that transaction ends, so the head is locked only then.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    action = models.CharField(max_length=10)  # create, update, delete, override, view, export
    model = models.CharField(max_length=50)
    object_id = models.CharField(max_length=40)
    # No database constraint: the trail keeps the id even if the patient record is removed.
    patient = models.ForeignKey(
        Patient,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    changes = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.model} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The audit trail is append-only: an entry cannot be changed.")
        # Store exactly what is hashed: JSON round-trip turns dates and decimals into text.
        self.changes = json.loads(json.dumps(self.changes, default=str))
        # Milliseconds, as Django's serialiser writes times: a restored backup then verifies.
        self.at = self.at.replace(microsecond=self.at.microsecond // 1000 * 1000)
        from django.db import router

        # Inside a long transaction (an import) entries are chained together at its end, so
        # the head is not held locked for the whole transaction (registry.audit_trail).
        using = kwargs.get("using") or router.db_for_write(AuditEvent, instance=self)
        if stage_if_chained_at_end(self, using):
            return
        with transaction.atomic(using=using):
            head, _ = AuditChainHead.objects.using(using).select_for_update().get_or_create(pk=1)
            self.previous_hash = head.last_hash
            self.entry_hash = self.content_hash(head.last_hash)
            super().save(*args, **kwargs)
            head.last_hash = self.entry_hash
            head.save(update_fields=["last_hash"])

    @classmethod
    def append_to_chain(cls, entries: list["AuditEvent"], *, using: str) -> None:
        """Chain new entries, in order, after the head, and insert them together: one lock of
        the head and one move of it, however many entries. The head stays locked until the
        transaction commits, so what does not need it is done before it is taken."""
        if not entries:
            return
        contents = [entry._canonical_content() for entry in entries]
        with transaction.atomic(using=using):
            head, _ = AuditChainHead.objects.using(using).select_for_update().get_or_create(pk=1)
            previous = head.last_hash
            for entry, content in zip(entries, contents, strict=True):
                entry.previous_hash = previous
                entry.entry_hash = previous = cls._chained(previous, content)
            cls._insert_in_order(entries, using)
            head.last_hash = previous
            head.save(update_fields=["last_hash"])

    @classmethod
    def _insert_in_order(cls, entries: list["AuditEvent"], using: str) -> None:
        """Ids follow the chain's order. On PostgreSQL, COPY: about four times faster than
        INSERT for a large import's entries (33,000 in 0.8 s instead of 3.7 s, measured for
        benchmarks/imports.py), and every other writer waits for it."""
        from django.db import connections

        connection = connections[using]
        if connection.vendor != "postgresql" or len(entries) < 100:
            cls.objects.using(using).bulk_create(entries, batch_size=2000)
            return
        columns = (*cls.STORED_CONTENT, "previous_hash", "entry_hash")
        with connection.cursor() as cursor:
            copy_sql = f"COPY {cls._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for entry in entries:
                    copy.write_row([*entry.stored_content(), entry.previous_hash, entry.entry_hash])

    # The columns an entry's content is stored in, in one order for every bulk writer.
    STORED_CONTENT = ("at", "actor_id", "action", "model", "object_id", "patient_id", "changes")

    def stored_content(self) -> list:
        """The entry's content as the STORED_CONTENT columns hold it (changes as JSON text)."""
        values = [getattr(self, name) for name in self.STORED_CONTENT]
        values[-1] = json.dumps(self.changes)
        return values

    def delete(self, *args, **kwargs):
        raise ValueError("The audit trail is append-only: an entry cannot be deleted.")

    def content_hash(self, previous_hash: str) -> str:
        return self._chained(previous_hash, self._canonical_content())

    def _canonical_content(self) -> str:
        content = {
            "at": self.at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "actor": self.actor_id,
            "action": self.action,
            "model": self.model,
            "object_id": self.object_id,
            "patient": self.patient_id,
            "changes": self.changes,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)

    @staticmethod
    def _chained(previous_hash: str, canonical_content: str) -> str:
        return hashlib.sha256(f"{previous_hash}|{canonical_content}".encode()).hexdigest()


API_TOKEN_DEFAULT_LIFETIME_DAYS = 90
API_TOKEN_PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def api_token_default_expiry():
    """Every token expires; one stored without a chosen expiry gets the default lifetime."""
    from datetime import timedelta  # here, so the module's shared import line stays as it is

    return timezone.now() + timedelta(days=API_TOKEN_DEFAULT_LIFETIME_DAYS)


def new_api_token_public_id() -> str:
    """Eight random characters naming a token in lists, logs and the audit trail; not secret."""
    return "".join(secrets.choice(API_TOKEN_PUBLIC_ID_ALPHABET) for _ in range(8))


class ApiToken(models.Model):
    """A bearer token for another hospital system; only its SHA-256 hash is stored.

    The token reads ``tb_<public_id>_<secret>``: the public id is stored in clear so that a
    token can be named (listed, revoked, found in the audit trail) without its secret. A token
    has a scope and an expiry, and a revoked one is kept, marked with the time, so the trail
    that names it stays readable (``registry.token_lifecycle``).
    """

    class Scope(models.TextChoices):
        READ = "read", "read only (GET)"
        READ_WRITE = "read-write", "read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    public_id = models.CharField(
        max_length=8, unique=True, default=new_api_token_public_id, editable=False
    )
    key_hash = models.CharField(max_length=64, unique=True)
    # Deny by default: a token stored without a scope can only read.
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=api_token_default_expiry)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} [{self.public_id}] ({self.user})"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE


class DataQualityAcknowledgement(models.Model):
    """A data-quality finding (``registry.data_quality``) that a user reviewed and accepted
    as a true value, with the reason: the finding then shows as acknowledged and leaves the
    open count. A finding is one rule firing on one record, so it is named by the rule's code
    and the record's id (the rule says which kind of record). Written only by
    ``registry.actions.acknowledge_finding``, with its audit entry."""

    rule = models.CharField(max_length=60)
    record_type = models.CharField(max_length=50, help_text="The model name of the record")
    object_id = models.PositiveBigIntegerField()
    reason = models.TextField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "object_id"],
                name="one_acknowledgement_per_finding",
                violation_error_message="This finding has already been acknowledged.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.record_type} {self.object_id}"


class StoredFinding(models.Model):
    """One data-quality rule firing on one live record, kept so that the Data quality page
    counts rows of one narrow table instead of evaluating every rule over every record
    (``registry.findings_store``, which keeps it; issue 12: under 2 s at 100,000 procedures).

    Only rules whose truth does not change with the day are kept (``Rule.changes_with_today``
    false); the others are evaluated when the page is read. Written only by
    ``findings_store.refresh``, from the rules themselves: it is derived data, with no audit
    entry of its own. Plain ids, not foreign keys: the rows of a patient being deleted are
    removed by the next refresh, not by a cascade the database would refuse."""

    backed_up = False  # derived: not in backups; a restore's rows mark their patients stale
    rule = models.CharField(max_length=60)
    object_id = models.PositiveBigIntegerField()
    patient_id = models.PositiveBigIntegerField()
    site_id = models.PositiveBigIntegerField()

    class Meta:
        indexes = [
            # The counts: a site's rows grouped by rule, read from the index alone.
            models.Index(fields=["site_id", "rule", "object_id"], name="stored_finding_site_rule"),
            # A refresh replaces the rows of the patients it rebuilds.
            models.Index(fields=["patient_id"], name="stored_finding_patient"),
            # An acknowledgement is matched to its finding by rule and record.
            models.Index(fields=["rule", "object_id"], name="stored_finding_record"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.object_id}"


class StoredFindingsState(models.Model):
    """Per patient, whether the stored findings of its records are stale: set by database
    triggers on every write to the patient and the records the rules read
    (``registry.findings_store``), in the writer's own transaction; cleared by the refresh
    that rebuilds them."""

    backed_up = False  # derived: not in backups; a restore's rows mark their patients stale
    patient_id = models.BigIntegerField(primary_key=True)
    stale = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["patient_id"], condition=Q(stale=True), name="stored_findings_stale"
            )
        ]

    def __str__(self) -> str:
        return f"patient {self.patient_id}: {'stale' if self.stale else 'up to date'}"


class StoredFindingsVersion(models.Model):
    """One row: which rules the stored findings were derived with (a digest of their SQL).
    When the rules change, every patient's findings are marked stale and rebuilt."""

    backed_up = False  # derived: a restore leaves it empty
    derivation = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.derivation
