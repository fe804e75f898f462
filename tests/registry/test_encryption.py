"""NHS numbers are encrypted at rest: a database dump alone does not reveal them."""

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
    page = client.get(reverse("patient_list"), {"q": "943 476 5919"}).content.decode()
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
