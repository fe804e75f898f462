"""NHS numbers are encrypted at rest: a database dump alone does not reveal them."""

import json

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from tests.factories import login
from thermablate.registry.fields import _fernet
from thermablate.registry.models import Patient


def raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT nhs_number, nhs_number_hash FROM registry_patient")
        return cursor.fetchall()


def test_the_raw_table_holds_no_nhs_number(patient):
    ((stored, digest),) = raw_rows()
    assert patient.nhs_number not in stored and patient.nhs_number not in digest
    assert stored.startswith("fernet:")
    assert Patient.objects.get().nhs_number == "9434765919"


def test_finding_a_patient_by_nhs_number_still_works(client, clinician, patient):
    login(client, clinician)
    page = client.post(reverse("patient_list"), {"q": "943 476 5919"}).content.decode()
    assert patient.registry_number in page


def test_the_same_number_encrypts_differently_each_time_but_hashes_the_same(
    patient, clinician, site_b, outsider
):
    from thermablate.registry import actions

    actions.create_patient(
        site=site_b,
        acting_user=outsider,
        nhs_number=patient.nhs_number,
        year_of_birth=1958,
        sex="female",
    )
    (a, hash_a), (b, hash_b) = raw_rows()
    assert a != b and hash_a == hash_b


def test_keys_rotate_without_losing_a_number(patient, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    _fernet.cache_clear()
    call_command("rotate_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    _fernet.cache_clear()
    try:
        assert Patient.objects.get().nhs_number == "9434765919"
    finally:
        _fernet.cache_clear()


def test_a_missing_key_is_a_clear_error_not_a_silent_leak(patient, settings):
    import pytest

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _fernet.cache_clear()
    try:
        with pytest.raises(ValueError, match="lacks the key"):
            Patient.objects.get()
    finally:
        _fernet.cache_clear()


def test_rotation_goes_through_the_writer_with_one_audit_entry_per_patient(
    patient, clinician, site_a, settings
):
    from thermablate.registry import actions
    from thermablate.registry.audit_trail import verify_chain
    from thermablate.registry.fields import key_id
    from thermablate.registry.models import AuditEvent

    second = actions.create_patient(
        site=site_a, acting_user=clinician, nhs_number="4010232137", year_of_birth=1970, sex="male"
    )
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    _fernet.cache_clear()
    try:
        call_command("rotate_keys", "--user", clinician.username)
        entries = AuditEvent.objects.filter(action="rekey").order_by("id")
        assert [e.patient_id for e in entries] == sorted([patient.pk, second.pk])
        for entry in entries:
            assert entry.actor == clinician
            assert entry.changes == {
                "nhs_number": {"key": {"old": key_id(old_key), "new": key_id(new_key)}}
            }
            text = json.dumps(entry.changes)
            assert "9434765919" not in text and "4010232137" not in text
        assert verify_chain().intact
        # Everything is under the newest key now: running again rewrites and records nothing.
        call_command("rotate_keys")
        assert AuditEvent.objects.filter(action="rekey").count() == 2
        settings.FIELD_ENCRYPTION_KEYS = [new_key]
        _fernet.cache_clear()
        assert {p.nhs_number for p in Patient.objects.all()} == {"9434765919", "4010232137"}
    finally:
        _fernet.cache_clear()


def test_rehashing_after_a_new_hash_key_keeps_the_patient_findable(patient, settings):
    from thermablate.registry.fields import identifier_hash
    from thermablate.registry.models import AuditEvent

    settings.IDENTIFIER_HASH_KEY = "a-new-hash-key-of-at-least-thirty-two-characters"
    assert not Patient.objects.filter(nhs_number_hash=identifier_hash("9434765919")).exists()
    call_command("rotate_keys", "--rehash")
    assert Patient.objects.filter(nhs_number_hash=identifier_hash("9434765919")).exists()
    entry = AuditEvent.objects.get(action="rekey")
    assert entry.changes["nhs_number_hash"] == "recomputed"
    assert entry.actor is None  # run by the system, without --user


def test_rotation_re_encrypts_the_hospital_number_too(patient, site_a, clinician, settings):
    from thermablate.registry import actions
    from thermablate.registry.fields import key_id
    from thermablate.registry.models import AuditEvent

    actions.update_patient(
        patient, acting_user=clinician, expected_version=patient.version, mrn="RX-12345"
    )
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    _fernet.cache_clear()
    try:
        call_command("rotate_keys")
        entry = AuditEvent.objects.get(action="rekey")
        assert entry.changes["mrn"] == {"key": {"old": key_id(old_key), "new": key_id(new_key)}}
        assert "RX-12345" not in json.dumps(entry.changes)
        settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
        _fernet.cache_clear()
        assert Patient.objects.get().mrn == "RX-12345"
    finally:
        _fernet.cache_clear()
