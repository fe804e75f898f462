"""One declaration of each record's fields: what a person records, in the order pages show it.

The page's form, the API's input and output schemas, the CSV import columns and the export
columns are all derived from these declarations (``tests/registry/test_declarations.py``
checks each of them), so adding a field to a record is the model field, its migration and one
line here. Everything else about a field (type, choices, whether it is required, its label and
help text, its limits) is read from the model field itself.
"""

from dataclasses import dataclass, field

from django.db import models

from thermablate.registry import choices as c
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    Lesion,
    MdtDecisionRecord,
    Patient,
    Procedure,
)


# eq=False: a declaration is its own identity (hashable, so consumers can key by it).
@dataclass(frozen=True, eq=False)
class RecordFields:
    model: type[models.Model]
    fields: tuple[str, ...]
    # JSON fields that hold a list of codes: the vocabulary each list is drawn from.
    code_lists: dict[str, type[models.TextChoices]] = field(default_factory=dict)
    # Free text that may name people or carry identifiers: kept in the registry, never in an
    # export file (registers and analysts get coded fields only).
    free_text: frozenset[str] = frozenset()
    # Identifiers: exported only in identifiable exports, by their own columns.
    identifiers: frozenset[str] = frozenset()
    # Required whenever a person records the record, though the model allows them empty
    # (a scheduled assessment exists, empty, before it is done).
    also_required: frozenset[str] = frozenset()
    # Set by the record's writer, never typed by a person (who reported an assessment's
    # answers): returned by the API and exported, never asked on a form or read from an import.
    set_by_writer: tuple[str, ...] = ()

    def model_field(self, name: str) -> models.Field:
        return self.model._meta.get_field(name)

    def is_required(self, name: str) -> bool:
        """Must a person give this field? As the page's form decides: the model field does
        not allow it blank (a default only pre-fills the page)."""
        if name in self.also_required:
            return True
        f = self.model_field(name)
        if isinstance(f, models.BooleanField) and not f.null:
            return False  # an unticked box is an answer
        return not f.blank

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields if self.is_required(name))

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields if not self.is_required(name))

    @property
    def returned(self) -> tuple[str, ...]:
        """What the API returns: the declared fields and those the writer sets."""
        return self.fields + self.set_by_writer

    @property
    def exported(self) -> tuple[str, ...]:
        return tuple(
            name
            for name in self.returned
            if name not in self.free_text and name not in self.identifiers
        )

    def value_names(self, names: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Names for ``QuerySet.values()``: a foreign key is read as its id; a many-to-many
        field has no single value and is read separately."""
        out = []
        for name in self.fields if names is None else names:
            f = self.model_field(name)
            if f.many_to_many:
                continue
            out.append(f.attname)
        return tuple(out)


PATIENT = RecordFields(
    Patient,
    ("nhs_number", "mrn", "year_of_birth", "sex"),
    identifiers=frozenset({"nhs_number", "mrn"}),
)

LESION = RecordFields(
    Lesion,
    (
        "spinal_levels",
        "bone_site",
        "diagnosis",
        "primary_tumour",
        "lesion_type",
        "size_mm",
        "posterior_wall_intact",
        "distance_to_neural_mm",
        "pain_at_site",
        "sins_pain",
        "sins_alignment",
        "sins_collapse",
        "sins_posterolateral",
        "bilsky_grade",
        "prior_radiotherapy",
        "prior_radiotherapy_date",
    ),
)

MDT_DECISION = RecordFields(
    MdtDecisionRecord,
    ("meeting_date", "lesion", "member_roles", "decision", "ecog_performance_status", "reasons"),
    code_lists={"member_roles": c.MdtMemberRole},
    free_text=frozenset({"reasons"}),
)

CONSENT = RecordFields(
    Consent,
    (
        "consent_date",
        "leaflet_title",
        "leaflet_version",
        "nice_information_offered",
        "uncertainties_discussed",
        "plan_discussed",
        "registry_audit_consent",
        "contact_for_follow_up",
        "notes",
    ),
    free_text=frozenset({"notes"}),
)

PROCEDURE = RecordFields(
    Procedure,
    (
        "lesion",
        "procedure_date",
        "operators",
        "procedure_type",
        "setting",
        "anaesthesia",
        "approach",
        "access",
        "image_guidance",
        "device_manufacturer",
        "device_model",
        "device_id",
        "device_lot",
        "polarity",
        "active_tip_mm",
        "biopsy_taken",
        "cement",
        "cement_volume_ml",
        "thermal_protection",
        "levels_treated",
        "duration_min",
        "post_imaging",
        "notes",
    ),
    code_lists={"image_guidance": c.Imaging, "thermal_protection": c.ThermalProtection},
    free_text=frozenset({"notes"}),
)

ABLATION_CYCLE = RecordFields(AblationCycle, ("target_temp_c", "time_at_target_s", "power_w"))

ASSESSMENT = RecordFields(
    Assessment,
    (
        "assessed_on",
        "outside_window",
        "outside_window_reason",
        "pain_worst",
        "pain_average",
        *(name for name, _ in c.EQ5D_DIMENSIONS),
        "eq5d_vas",
        *(name for name, _ in c.ODI_SECTIONS),
        "bpi_least",
        "bpi_now",
        *(name for name, _ in c.BPI_INTERFERENCE),
        "no_analgesics",
        "notes",
    ),
    free_text=frozenset({"notes", "outside_window_reason"}),
    also_required=frozenset({"assessed_on"}),
    set_by_writer=("reported_by", "corrected_by_staff"),
)

ANALGESIC = RecordFields(
    AnalgesicEntry, ("drug", "dose", "unit", "route", "doses_per_day", "as_needed")
)

ADVERSE_EVENT = RecordFields(
    AdverseEvent,
    (
        "procedure",
        "event_type",
        "symptomatic",
        "onset_date",
        "severity",
        "device_related",
        "outcome",
        "description",
        "yellow_card_reported_on",
        "yellow_card_reference",
    ),
    free_text=frozenset({"description"}),
)

ALL = (
    PATIENT,
    LESION,
    MDT_DECISION,
    CONSENT,
    PROCEDURE,
    ABLATION_CYCLE,
    ASSESSMENT,
    ANALGESIC,
    ADVERSE_EVENT,
)
