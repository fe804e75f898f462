"""Backup and restore: a backup restored into an empty database gives back every table."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from thermablate.registry.audit_trail import verify_chain
from thermablate.registry.backup import excluded, table_counts
from thermablate.registry.fields import decrypt


def every_row() -> dict[str, list]:
    """All rows of all tables, as the serializer sees them (natural keys for content types)."""
    import io

    out = io.StringIO()
    call_command(
        "dumpdata",
        "--natural-foreign",
        *[f"--exclude={e}" for e in excluded()],
        stdout=out,
    )
    rows: dict[str, list] = {}
    # Django's serialiser keeps milliseconds, so a time stored at 12:00:01.000456 is backed up
    # as "12:00:01.000" and comes back as "12:00:01": the same instant at the backup's precision.
    text = re.sub(r'(T\d\d:\d\d:\d\d)\.000(?=Z|[+-]\d\d:\d\d|")', r"\1", out.getvalue())
    for item in json.loads(text):
        if item["model"] == "registry.patient":  # ciphertext differs on every serialisation
            item["fields"]["nhs_number"] = decrypt(item["fields"]["nhs_number"])
        rows.setdefault(item["model"], []).append(item)
    return {
        model: sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
        for model, items in rows.items()
    }


@pytest.mark.django_db(transaction=True)
def test_a_backup_restored_into_an_empty_database_matches_every_table(tmp_path, approved_site):
    call_command("demo", patients=6, seed=3)
    before = every_row()
    counts = table_counts()
    backup = tmp_path / "thermablate.json.gz"
    call_command("backup", str(backup))
    assert backup.stat().st_size > 1000
    # An empty database: flushed, then migrated state rebuilt as a fresh install would have it.
    call_command("flush", interactive=False)
    assert table_counts() != counts
    call_command("restore", str(backup))
    assert table_counts() == counts
    assert every_row() == before
    assert verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_holds_patients(tmp_path, patient):
    backup = tmp_path / "b.json.gz"
    call_command("backup", str(backup))
    with pytest.raises(CommandError, match="already holds patients"):
        call_command("restore", str(backup))


@pytest.mark.django_db(transaction=True)
def test_the_backup_file_holds_no_plain_nhs_number(tmp_path, patient):
    import gzip

    backup = tmp_path / "b.json.gz"
    call_command("backup", str(backup))
    with gzip.open(backup, "rt") as content:
        assert patient.nhs_number not in content.read()


def test_a_file_that_is_not_a_backup_is_refused(tmp_path, db):
    bogus = tmp_path / "x.json.gz"
    bogus.write_text("hello")
    with pytest.raises(CommandError, match="not a Thermablate backup"):
        call_command("restore", str(bogus))
