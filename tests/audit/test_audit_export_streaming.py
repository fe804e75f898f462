"""Exports stream: chunks of patients read (outside a transaction) by a helper thread while the
previous chunk is written, with the same files as reading on the caller's connection."""

import io
import json
import threading

import pytest
from django.db import transaction
from fhir.resources.R4B import get_fhir_model_class

from tests.audit.conftest import load_benchmark_cohort
from thermablate.audit.exports import records
from thermablate.audit.exports.csv_export import write_csv
from thermablate.audit.exports.fhir_bundle import write_bundle
from thermablate.registry.models import Patient


@pytest.fixture
def synthetic_registry(transactional_db):
    """40 committed procedures (a helper thread's connection sees only committed rows)."""
    load_benchmark_cohort(40, seed=3)


def export_text(writer, monkeypatch, *, in_transaction: bool) -> tuple[str, set[str]]:
    threads = set()
    chunk = records._chunk

    def spy(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return chunk(*args, **kwargs)

    out = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(records, "_chunk", spy)
        patients = records.patient_records(Patient.objects.all(), chunk_size=7)
        if in_transaction:
            with transaction.atomic():
                counts = writer(out, patients, True)
        else:
            counts = writer(out, patients, True)
    assert counts == (40, 40)
    return out.getvalue(), threads


@pytest.mark.parametrize("writer", [write_csv, write_bundle])
def test_it_reads_ahead_in_a_helper_thread_with_the_same_result(
    synthetic_registry, monkeypatch, writer
):
    ahead, ahead_threads = export_text(writer, monkeypatch, in_transaction=False)
    inline, inline_threads = export_text(writer, monkeypatch, in_transaction=True)
    assert ahead_threads and all(name.startswith("export-reader") for name in ahead_threads)
    assert inline_threads == {threading.current_thread().name}
    if writer is write_bundle:  # the bundle's id and timestamp differ between runs
        ahead, inline = ahead.split("\n", 1)[1], inline.split("\n", 1)[1]
    assert ahead == inline


def test_the_synthetic_bundle_validates(synthetic_registry, monkeypatch):
    """Every resource of a larger, varied bundle (not only the recorded cohort's)."""
    text, _ = export_text(write_bundle, monkeypatch, in_transaction=False)
    entries = json.loads(text)["entry"]
    assert len(entries) > 40 * 10
    for entry in entries:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
