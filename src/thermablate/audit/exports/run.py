"""Run an export to a file and record it in the audit trail (shared by the command and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from thermablate.audit.exports.csv_export import write_csv
from thermablate.audit.exports.fhir_bundle import write_bundle
from thermablate.audit.exports.log import record_export
from thermablate.audit.exports.records import left_out, patient_records
from thermablate.registry.models import Patient, Site

WRITERS = {"csv": write_csv, "fhir": write_bundle}
LEFT_OUT_REASONS = {"withdrew_consent": "withdrew consent to registry use"}


@dataclass(frozen=True)
class ExportSummary:
    patients: int
    procedures: int
    # Patients who would have been in the export but are left out, by reason (``records``).
    left_out: dict[str, int] = field(default_factory=dict)

    def describe_left_out(self) -> str:
        """E.g. "2 patients left out: withdrew consent to registry use"; "" if none."""
        return "; ".join(
            f"{n} patient{'s' if n != 1 else ''} left out: {LEFT_OUT_REASONS.get(why, why)}"
            for why, n in self.left_out.items()
        )


def export(
    *,
    export_format: str,
    out: Path,
    pseudonymised: bool,
    site: Site | None = None,
    acting_user=None,
) -> ExportSummary:
    """Write the export to ``out`` and log it, with how many patients were left out and why."""
    if export_format not in WRITERS:
        raise ValueError(f"unknown export format {export_format!r}: choose csv or fhir")
    patients = Patient.objects.all()
    if site is not None:
        patients = patients.filter(site=site)
    excluded = left_out(patients)
    # A temporary file, renamed when complete: a failed export leaves no half-written file.
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            counts = WRITERS[export_format](
                handle, patient_records(patients, with_identifiers=not pseudonymised), pseudonymised
            )
        with transaction.atomic():
            record_export(
                acting_user=acting_user,
                export_format=export_format,
                pseudonymised=pseudonymised,
                scope=site.code if site else "all sites",
                patients=counts[0],
                procedures=counts[1],
                destination=str(out),
                left_out=excluded,
            )
            partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return ExportSummary(*counts, left_out=excluded)
