"""Run an export to a file and record it in the audit trail (shared by the command and tests)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from thermablate.audit.exports.csv_export import write_csv
from thermablate.audit.exports.fhir_bundle import write_bundle
from thermablate.audit.exports.log import record_export
from thermablate.audit.exports.records import patient_records
from thermablate.registry.models import Patient, Site

WRITERS = {"csv": write_csv, "fhir": write_bundle}


def export(
    *,
    export_format: str,
    out: Path,
    pseudonymised: bool,
    site: Site | None = None,
    acting_user=None,
) -> tuple[int, int]:
    """Write the export to ``out`` and log it; return (patients, procedures)."""
    if export_format not in WRITERS:
        raise ValueError(f"unknown export format {export_format!r}: choose csv or fhir")
    patients = Patient.objects.all()
    if site is not None:
        patients = patients.filter(site=site)
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
            )
            partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return counts
