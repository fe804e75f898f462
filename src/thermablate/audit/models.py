"""The audit's own tables: permissions, and the per-procedure summaries its report reads.

Django attaches permissions to models; ``AuditAccess`` is an unmanaged model with no default
permissions that carries the audit's. ``CaseSummary`` holds figures derived from the registry
(never entered, never edited, not backed up): see ``audit.summaries``.
"""

from django.db import models

from thermablate.registry.choices import Timepoint
from thermablate.registry.models import Patient, Procedure, Site


class AuditAccess(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can see the site's outcomes audit dashboard and reports"),
            ("view_any_appraisal", "Can see the appraisal report of any operator of the site"),
        ]

    def __str__(self) -> str:
        return "Audit access"


class CaseSummary(models.Model):
    """One procedure as the governance report counts it, derived from its registry records.

    Rebuilt by ``audit.summaries.refresh`` when ``stale`` (set by any change to the procedure,
    its assessments and analgesics, the patient, or the patient's MDT decisions and consents) or when the
    ``derivation`` (conversion table version, EQ-5D-5L value set) differs from the current one.
    Besides the flags below, each time point has (generated after the class, see
    ``TIMEPOINT_FIELDS``) the assessment's window, whether it was done within it, whether it
    was recorded outside it, whether and how it was closed without one, whether the patient
    reported it, and its worst pain, EQ-5D-5L index, OME mg/day, unconvertible-entry count, EQ
    VAS, ODI and BPI scores, as ``outcomes.WIDE_VALUES`` has them: NULL unless the assessment
    was done within its window, the count a number exactly where it was.
    """

    # No database constraint: deleting a procedure deletes its assessments first, and marking
    # the summary stale on that may re-create it just before the procedure goes. The orphan
    # is never read (reports select summaries by procedure) and ``refresh`` removes it.
    backed_up = False  # derived: a restore leaves it empty and the next report rebuilds it

    procedure = models.OneToOneField(
        Procedure,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="case_summary",
    )
    stale = models.BooleanField(default=True, db_index=True)
    derivation = models.CharField(max_length=100, blank=True)  # "" until first built
    # A copy of the procedure's "entered in error" mark: a summary of a procedure in error is
    # kept (the mark can be undone) but selected by no report (``queries.summaries_in``).
    entered_in_error = models.BooleanField(default=False)
    # Copies of what reports select and count procedures by, so that a report reads this table
    # alone (``queries.summaries_in``). Empty until first built.
    site = models.ForeignKey(
        Site, null=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, null=True, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    procedure_type = models.CharField(max_length=40, blank=True)
    procedure_date = models.DateField(null=True)
    # Key fields recorded on the procedure (analysis.cohort.key_field_flags).
    device_lot_recorded = models.BooleanField(default=False)
    with_cement = models.BooleanField(default=False)
    cement_volume_recorded = models.BooleanField(default=False)
    # The special arrangements, each dated on or before the procedure (analysis.cohort).
    mdt_before = models.BooleanField(default=False)
    written_information_before = models.BooleanField(default=False)
    nice_information_before = models.BooleanField(default=False)
    uncertainties_before = models.BooleanField(default=False)
    consent_before = models.BooleanField(default=False)

    class Meta:
        verbose_name = "case summary"
        verbose_name_plural = "case summaries"

    def __str__(self) -> str:
        return f"Summary of procedure {self.procedure_id}"


def _timepoint_fields() -> dict[str, models.Field]:
    fields = {}
    for tp in Timepoint.values:
        fields[f"opens_{tp}"] = models.DateField(null=True)  # NULL: not scheduled
        fields[f"closes_{tp}"] = models.DateField(null=True)
        # done: assessed within its window (the only kind counted as done); outside: an
        # assessment date is recorded outside the window (docs/audit.md, "Follow-up windows").
        fields[f"done_{tp}"] = models.BooleanField(default=False)
        fields[f"outside_{tp}"] = models.BooleanField(default=False)
        # Closed without an assessment, and how it counts (analysis.cohort.CLOSED_STATES):
        # "not_eligible" (the patient died or withdrew on or before the window's last day),
        # "lost" (lost to follow-up by then) or "not_done" (could not be done, with a
        # reason); "" if not closed (docs/audit.md, "Patient status and completeness").
        fields[f"closed_{tp}"] = models.CharField(max_length=12, blank=True, default="")
        fields[f"pain_worst_{tp}"] = models.FloatField(null=True)
        fields[f"eq5d_index_{tp}"] = models.FloatField(null=True)
        fields[f"ome_mg_per_day_{tp}"] = models.FloatField(null=True)
        fields[f"ome_not_convertible_{tp}"] = models.IntegerField(null=True)
        fields[f"eq5d_vas_{tp}"] = models.FloatField(null=True)
        fields[f"odi_{tp}"] = models.FloatField(null=True)
        fields[f"bpi_severity_{tp}"] = models.FloatField(null=True)
        fields[f"bpi_interference_{tp}"] = models.FloatField(null=True)
        # Done within its window, with the answers reported by the patient (not by staff).
        fields[f"patient_reported_{tp}"] = models.BooleanField(default=False)
    return fields


# Six time points by fourteen values: generated, so the columns follow the registry's time points.
TIMEPOINT_FIELDS = _timepoint_fields()
for _name, _field in TIMEPOINT_FIELDS.items():
    CaseSummary.add_to_class(_name, _field)
