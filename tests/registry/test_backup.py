"""Backup and restore: a backup restored into an empty database gives back every table; the
file is encrypted and authenticated, written owner-only and atomically, and a restore refuses
any file that is not exactly what a backup wrote, changing nothing."""

import base64
import gzip
import io
import json
import os
import re
import threading

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection

from thermablate.registry.audit_trail import verify_chain
from thermablate.registry.backup import excluded, table_counts
from thermablate.registry.fields import decrypt
from thermablate.registry.models import Patient

KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()


@pytest.fixture(autouse=True)
def backup_key(monkeypatch):
    """Backups are encrypted with a key from the environment; every test here has one."""
    monkeypatch.setenv("THERMABLATE_BACKUP_KEY", KEY)
    return KEY


def every_row() -> dict[str, list]:
    """All rows of all tables, as the serializer sees them (natural keys for content types)."""
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


def read_backup(path, key: str = KEY) -> tuple[dict, list[dict]]:
    """Decrypt a backup following the format docs/backup.md describes, written here from that
    description rather than with the restore code, so the two are checked against each other:
    header (magic, key id, salt), HKDF-SHA256 file key, AES-256-GCM segments whose nonce is the
    segment number and a last-segment flag, the header as associated data; then gzip, JSON lines
    (the manifest first)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    content = path.read_bytes()
    header, body = content[:56], content[56:]
    assert header[:16] == b"THERMABLATE\x00BKP1"
    file_key = HKDF(
        algorithm=SHA256(), length=32, salt=header[24:56], info=b"thermablate backup segments"
    ).derive(base64.urlsafe_b64decode(key))
    sealed_size = (1 << 20) + 16
    segments = [body[i : i + sealed_size] for i in range(0, len(body), sealed_size)] or [b""]
    plain = b"".join(
        AESGCM(file_key).decrypt(
            n.to_bytes(11, "big") + (b"\x01" if n == len(segments) - 1 else b"\x00"),
            segment,
            header,
        )
        for n, segment in enumerate(segments)
    )
    first, *rows = gzip.decompress(plain).decode().splitlines()
    return json.loads(first)["manifest"], [json.loads(row) for row in rows]


def rewrite_backup(path, manifest: dict, rows: list[dict], key: str = KEY) -> None:
    """Write a backup with the given content, encrypted as `thermablate backup` would."""
    from thermablate.registry.backup_crypto import SealedWriter

    lines = [json.dumps({"manifest": manifest})] + [json.dumps(row) for row in rows]
    with path.open("wb") as raw:
        sealed = SealedWriter(raw, base64.urlsafe_b64decode(key))
        sealed.write(gzip.compress("\n".join(lines).encode() + b"\n"))
        sealed.finish()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restored_into_an_empty_database_matches_every_table(tmp_path, approved_site):
    call_command("demo", patients=6, seed=3)
    before = every_row()
    counts = table_counts()
    backup = tmp_path / "thermablate.backup"
    call_command("backup", str(backup))
    assert backup.stat().st_size > 1000
    # An empty database: flushed, then migrated state rebuilt as a fresh install would have it.
    call_command("flush", interactive=False)
    assert table_counts() != counts
    call_command("restore", str(backup))
    assert table_counts() == counts
    assert every_row() == before
    assert verify_chain().intact
    # Sequences follow the restored ids (PostgreSQL), so the next record gets a free one.
    Group.objects.create(name="created after the restore")


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_holds_patients(tmp_path, patient):
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    with pytest.raises(CommandError, match="already holds patients"):
        call_command("restore", str(backup))


@pytest.mark.django_db(transaction=True)
def test_the_backup_file_is_encrypted_and_holds_no_plain_nhs_number(tmp_path, patient):
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    content = backup.read_bytes()
    assert content[:2] != b"\x1f\x8b"  # not a readable gzip any more
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(content)
    manifest, rows = read_backup(backup)
    assert manifest["counts"]["registry.Patient"] == 1
    (stored,) = [r for r in rows if r["model"] == "registry.patient"]
    # Inside the encryption the NHS number is still the field's own ciphertext, as in the database.
    assert patient.nhs_number not in json.dumps(rows)
    assert decrypt(stored["fields"]["nhs_number"]) == patient.nhs_number


def test_a_file_that_is_not_a_backup_is_refused(tmp_path, db):
    bogus = tmp_path / "x.backup"
    bogus.write_text("hello")
    with pytest.raises(CommandError, match="not a Thermablate backup"):
        call_command("restore", str(bogus))


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_before_approvals_moved_to_the_registry_restores(tmp_path, approved_site):
    """Backups written when local approvals were the guidance app's models still restore."""
    call_command("demo", patients=2, seed=5)
    counts = table_counts()
    backup = tmp_path / "old.backup"
    call_command("backup", str(backup))
    manifest, rows = read_backup(backup)
    moved = {"LocalApproval", "CredentialedOperator", "ProcedureGovernance"}
    for row in rows:
        app, model = row["model"].split(".")
        if app == "registry" and model in {m.lower() for m in moved}:
            row["model"] = f"guidance.{model}"
    manifest["counts"] = {
        (f"guidance.{k.split('.')[1]}" if k.split(".")[1] in moved else k): v
        for k, v in manifest["counts"].items()
    }
    assert any(r["model"] == "guidance.localapproval" for r in rows)
    rewrite_backup(backup, manifest, rows)
    call_command("flush", interactive=False)
    call_command("restore", str(backup))
    assert table_counts() == counts


@pytest.mark.django_db(transaction=True)
def test_an_unencrypted_backup_of_an_earlier_version_restores_only_when_asked(
    tmp_path, approved_site
):
    """Format 1 was a plain gzip of JSON (and then still had the old approval labels): it
    cannot be authenticated, so the operator says they trust it."""
    call_command("demo", patients=2, seed=5)
    counts = table_counts()
    backup = tmp_path / "new.backup"
    call_command("backup", str(backup))
    manifest, rows = read_backup(backup)
    for row in rows:
        if row["model"] == "registry.localapproval":
            row["model"] = "guidance.localapproval"
    manifest["counts"]["guidance.LocalApproval"] = manifest["counts"].pop("registry.LocalApproval")
    old = tmp_path / "thermablate.json.gz"
    with gzip.open(old, "wt", encoding="utf-8") as out:
        json.dump({"manifest": {**manifest, "format": 1}, "data": rows}, out)
    call_command("flush", interactive=False)
    with pytest.raises(CommandError, match="unencrypted backup.*--unencrypted"):
        call_command("restore", str(old))
    assert not Group.objects.filter(name__startswith="demo").exists()
    call_command("restore", str(old), "--unencrypted")
    assert table_counts() == counts


# --- keys ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_refuse_without_a_key_and_say_how_to_make_one(
    tmp_path, patient, monkeypatch
):
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    monkeypatch.delenv("THERMABLATE_BACKUP_KEY")
    with pytest.raises(CommandError, match=r"THERMABLATE_BACKUP_KEY is not set.*--new-key"):
        call_command("backup", str(tmp_path / "other.backup"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.backup"]
    with pytest.raises(CommandError, match=r"THERMABLATE_BACKUP_KEY is not set.*--new-key"):
        call_command("restore", str(backup), "--force")
    assert Patient.objects.get() == patient


def test_a_malformed_key_is_refused_without_echoing_it(tmp_path, db, monkeypatch):
    monkeypatch.setenv("THERMABLATE_BACKUP_KEY", "not-a-real-key-at-all")
    with pytest.raises(CommandError, match="key 1 is not 32 random bytes") as refused:
        call_command("backup", str(tmp_path / "b.backup"))
    assert "not-a-real-key-at-all" not in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_a_new_key_backs_up_and_older_keys_still_restore(tmp_path, patient, monkeypatch):
    out = io.StringIO()
    call_command("backup", "--new-key", stdout=out)
    new_key = out.getvalue().strip()
    assert len(base64.urlsafe_b64decode(new_key)) == 32 and new_key != KEY
    old_backup = tmp_path / "old.backup"
    call_command("backup", str(old_backup))  # written with KEY
    monkeypatch.setenv("THERMABLATE_BACKUP_KEY", f"{new_key}, {KEY}")
    new_backup = tmp_path / "new.backup"
    call_command("backup", str(new_backup))
    read_backup(new_backup, key=new_key)  # the newest key writes
    for backup in (old_backup, new_backup):
        call_command("restore", str(backup), "--force")
        assert Patient.objects.get().nhs_number == patient.nhs_number


@pytest.mark.django_db(transaction=True)
def test_a_backup_written_with_another_key_is_refused(tmp_path, patient, monkeypatch):
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    monkeypatch.setenv("THERMABLATE_BACKUP_KEY", OTHER_KEY)
    before = every_row()
    with pytest.raises(CommandError, match="encrypted with backup key [0-9a-f]{16}, which"):
        call_command("restore", str(backup), "--force")
    assert every_row() == before


# --- refusing a file that is not exactly what was written -----------------------------------


@pytest.fixture
def small_segments(monkeypatch):
    """Segments of 4 KiB, so a small test database spans several of them."""
    from thermablate.registry import backup_crypto

    monkeypatch.setattr(backup_crypto, "SEGMENT_BYTES", 4096)


@pytest.fixture
def written_backup(tmp_path, approved_site, small_segments):
    call_command("demo", patients=2, seed=5)
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    assert backup.stat().st_size > 3 * 4096
    return backup


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "where, refusal",
    [
        (0, "not a Thermablate backup"),  # the magic
        (16, "encrypted with backup key"),  # the key id
        (30, "fails authentication at segment 0"),  # the salt
        (60, "fails authentication at segment 0"),
        (4096 + 56 + 16 + 100, "fails authentication at segment 1"),
        (-1, "fails authentication at segment"),  # the last tag
    ],
)
def test_restore_refuses_a_file_with_any_byte_changed(written_backup, where, refusal):
    content = bytearray(written_backup.read_bytes())
    content[where] ^= 0x01
    written_backup.write_bytes(bytes(content))
    before = every_row()
    with pytest.raises(CommandError, match=refusal):
        call_command("restore", str(written_backup), "--force")
    assert every_row() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "kept, refusal",
    [
        (10, "not a Thermablate backup"),
        (40, "cut short: it ends inside its header"),
        (56, "fails authentication at segment 0"),
        (56 + 4112 * 2, "cut short: it ends after segment 1"),  # at a segment boundary
        (56 + 4112 * 2 + 500, "fails authentication at segment 2"),
        (-1, "fails authentication at segment"),
    ],
)
def test_restore_refuses_a_truncated_file(written_backup, kept, refusal):
    content = written_backup.read_bytes()
    written_backup.write_bytes(content[:kept])
    before = every_row()
    with pytest.raises(CommandError, match=refusal):
        call_command("restore", str(written_backup), "--force")
    assert every_row() == before


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_file_with_data_appended(written_backup):
    with written_backup.open("ab") as out:
        out.write(b"\x00" * 16)
    with pytest.raises(CommandError, match="fails authentication"):
        call_command("restore", str(written_backup), "--force")


@pytest.mark.django_db(transaction=True)
def test_a_restore_that_fails_part_way_changes_nothing(tmp_path, approved_site):
    """A well-encrypted backup whose rows do not match its manifest: the restore had already
    emptied the tables and loaded rows when it found out, and puts everything back."""
    call_command("demo", patients=2, seed=5)
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    manifest, rows = read_backup(backup)
    manifest["counts"]["registry.Patient"] += 1
    rewrite_backup(backup, manifest, rows)
    before = every_row()
    with pytest.raises(CommandError, match="restored row counts differ"):
        call_command("restore", str(backup), "--force")
    assert every_row() == before


@pytest.mark.django_db(transaction=True)
def test_a_backup_replaced_between_its_check_and_its_loading_is_refused(
    tmp_path, patient, monkeypatch
):
    """The restore authenticates the whole file, then reads it again to load it: a file
    swapped for another (genuine) backup in between is noticed, and nothing is restored."""
    from thermablate.registry import backup as backup_module

    backup, other = tmp_path / "a.backup", tmp_path / "b.backup"
    call_command("backup", str(backup))
    Group.objects.create(name="only in the second backup")
    call_command("backup", str(other))
    real_check = backup_module._check_restorable

    def check_then_swap(*args, **kwargs):
        real_check(*args, **kwargs)
        os.replace(other, backup)

    monkeypatch.setattr(backup_module, "_check_restorable", check_then_swap)
    before = every_row()
    with pytest.raises(CommandError, match="changed while it was being restored"):
        call_command("restore", str(backup), "--force")
    assert every_row() == before


# --- how the file is written and read ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_backup_is_created_owner_only_and_appears_only_when_complete(
    tmp_path, patient, monkeypatch
):
    from thermablate.registry import backup as backup_module

    target = tmp_path / "b.backup"
    target.write_bytes(b"yesterday's backup")
    seen = {}
    real_counts = backup_module.table_counts

    def counts_while_writing():
        # Part-way through: the only new file is a temporary one, already owner-only.
        (partial,) = [p for p in tmp_path.iterdir() if p != target]
        seen["mode"] = partial.stat().st_mode & 0o777
        seen["target"] = target.read_bytes()
        return real_counts()

    monkeypatch.setattr(backup_module, "table_counts", counts_while_writing)
    old_umask = os.umask(0o022)  # the usual umask would give 0644
    try:
        call_command("backup", str(target))
    finally:
        os.umask(old_umask)
    assert seen == {"mode": 0o600, "target": b"yesterday's backup"}
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["b.backup"]
    read_backup(target)


@pytest.mark.django_db(transaction=True)
def test_a_backup_that_fails_part_way_leaves_the_previous_one_and_no_partial_file(
    tmp_path, approved_site, monkeypatch
):
    call_command("demo", patients=2, seed=5)
    target = tmp_path / "b.backup"
    target.write_bytes(b"yesterday's backup")

    real_write = gzip.GzipFile.write
    writes = []

    def write_then_fail(self, data):
        writes.append(real_write(self, data))
        if sum(writes) > 1000:
            raise OSError("No space left on device")
        return writes[-1]

    monkeypatch.setattr(gzip.GzipFile, "write", write_then_fail)
    # dumpdata reports a failed write as a CommandError carrying the cause.
    with pytest.raises((OSError, CommandError), match="No space left on device"):
        call_command("backup", str(target))
    assert [p.name for p in tmp_path.iterdir()] == ["b.backup"]
    assert target.read_bytes() == b"yesterday's backup"


@pytest.mark.django_db(transaction=True)
def test_restore_writes_no_plaintext_file(tmp_path, patient, monkeypatch):
    """The restore used to write the decoded rows beside the backup as a fixture file (left
    there if the restore was killed)."""
    from django.db import connections

    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    seen = []
    wrapper = type(connections["default"])
    real_check = wrapper.check_constraints

    def check_while_restoring(self, *args, **kwargs):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        return real_check(self, *args, **kwargs)

    monkeypatch.setattr(wrapper, "check_constraints", check_while_restoring)
    call_command("restore", str(backup), "--force")
    assert seen == [["b.backup"]]
    assert Patient.objects.get().nhs_number == patient.nhs_number


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_records_are_written_is_one_consistent_snapshot(
    tmp_path, patient, monkeypatch
):
    """On PostgreSQL each statement of a READ COMMITTED transaction sees the latest commits, so
    rows committed while a backup runs appeared in its data but not in its counts, and that
    backup refused to restore. SQLite's read transaction is a snapshot already."""
    if connection.vendor != "postgresql":
        pytest.skip("another connection cannot write while SQLite's test database is read")
    from thermablate.registry import backup as backup_module

    real_counts = backup_module.table_counts
    writes = []

    def counts_then_a_concurrent_write():
        counts = real_counts()
        if writes:  # once, during the backup (the restore counts rows too)
            return counts

        def write():
            from django.db import connection as own_connection

            Group.objects.create(name="added while the backup runs")
            own_connection.close()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
        writes.append(writer)
        return counts

    monkeypatch.setattr(backup_module, "table_counts", counts_then_a_concurrent_write)
    backup = tmp_path / "b.backup"
    call_command("backup", str(backup))
    manifest, rows = read_backup(backup)
    assert manifest["counts"]["auth.Group"] == sum(r["model"] == "auth.group" for r in rows)
    call_command("restore", str(backup), "--force")
