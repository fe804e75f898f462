"""Anchors of the audit chain kept outside the database: someone who can drop the guards and
rewrite the tables (the schema's owner) still cannot make `audit verify --anchors` pass on a
shortened or rewritten trail (security review, finding 1)."""

import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from thermablate.registry import actions
from thermablate.registry.audit_trail import ANCHOR_KEY_VARIABLE, Anchor, verify_chain
from thermablate.registry.models import AuditChainHead, AuditEvent

KEY = "an-anchor-key-kept-out-of-the-database-0123456789"


@pytest.fixture
def anchor_key(monkeypatch):
    monkeypatch.setenv(ANCHOR_KEY_VARIABLE, KEY)


@pytest.fixture
def anchors(tmp_path):
    return tmp_path / "audit-anchors.jsonl"


def write_anchor(path) -> str:
    out = io.StringIO()
    call_command("audit", "head", "--out", str(path), stdout=out)
    return out.getvalue().strip()


def verify_against(path) -> str:
    out = io.StringIO()
    call_command("audit", "verify", "--anchors", str(path), stdout=out, stderr=out)
    return out.getvalue()


def broken_against(path) -> str:
    """What `audit verify --anchors` reports, having refused the trail."""
    err = io.StringIO()
    with pytest.raises(CommandError, match="audit trail broken"):
        call_command("audit", "verify", "--anchors", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def drop_every_audit_guard() -> None:
    """What the schema's owner can do (undone with the test's transaction)."""
    tables = ["registry_auditevent", "registry_auditchainhead"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal",
                [tables],
            )
            for name, table in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER {name} ON {table}")
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                tables,
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER {name}")


def move_head_to(entry_hash: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_auditchainhead SET last_hash = %s WHERE id = 1", [entry_hash]
        )


def test_it_appends_one_signed_line_per_anchor_to_a_private_file(procedure, anchor_key, anchors):
    printed = write_anchor(anchors)
    write_anchor(anchors)
    lines = anchors.read_text().splitlines()
    assert len(lines) == 2 and lines[0] == printed
    first = json.loads(lines[0])
    newest = AuditEvent.objects.order_by("-id").first()
    assert first["head"] == newest.entry_hash == AuditChainHead.objects.get().last_hash
    assert first["entries"] == AuditEvent.objects.count()
    assert first["newest_id"] == newest.pk and first["newest_at"].startswith(
        f"{newest.at:%Y-%m-%d}"
    )
    assert len(first["hmac"]) == 64
    assert stat.S_IMODE(anchors.stat().st_mode) == 0o600


def test_a_trail_that_grew_since_its_anchors_verifies(procedure, clinician, anchor_key, anchors):
    write_anchor(anchors)
    actions.update_patient(procedure.patient, acting_user=clinician, year_of_birth=1960)
    write_anchor(anchors)
    actions.update_patient(procedure.patient, acting_user=clinician, year_of_birth=1961)
    assert "consistent with 2 anchor(s)" in verify_against(anchors)


def test_newest_entries_removed_and_the_head_moved_back_are_detected(
    procedure, anchor_key, anchors
):
    write_anchor(anchors)
    entries = list(AuditEvent.objects.order_by("id"))
    drop_every_audit_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_auditevent WHERE id >= %s", [entries[-3].pk])
    move_head_to(entries[-4].entry_hash)
    assert verify_chain().intact  # the chain alone cannot tell: it ends at its head
    report = broken_against(anchors)
    assert f"entry {entries[-1].pk} of " in report and "shortened or rewritten" in report


def test_a_chain_rewritten_from_its_first_entry_is_detected(procedure, anchor_key, anchors):
    write_anchor(anchors)
    drop_every_audit_guard()
    # Forge one entry and recompute every hash after it, then the head: a consistent chain.
    entries = list(AuditEvent.objects.order_by("id"))
    entries[1].changes = {**entries[1].changes, "forged": True}
    previous = entries[0].entry_hash
    for entry in entries[1:]:
        entry.previous_hash, entry.entry_hash = previous, entry.content_hash(previous)
        AuditEvent.objects.filter(pk=entry.pk).update(
            changes=entry.changes, previous_hash=entry.previous_hash, entry_hash=entry.entry_hash
        )
        previous = entry.entry_hash
    move_head_to(previous)
    assert verify_chain().intact
    assert f"entry {entries[-1].pk} no longer has the hash anchored" in broken_against(anchors)


def test_an_anchored_entry_at_another_position_is_detected(procedure, anchor_key, anchors):
    # Defence in depth beside the hash: the anchor also says how long the chain was.
    fields = json.loads(write_anchor(anchors))
    del fields["hmac"], fields["format"]
    fields["entries"] += 1
    anchors.write_text(Anchor(**fields).signed_line(KEY.encode()) + "\n")
    assert "entries before it were deleted or inserted" in broken_against(anchors)


def test_a_tampered_anchor_line_is_reported(procedure, clinician, anchor_key, anchors):
    write_anchor(anchors)
    actions.update_patient(procedure.patient, acting_user=clinician, year_of_birth=1960)
    write_anchor(anchors)
    first, second = anchors.read_text().splitlines()
    # Moved back to a shorter chain, as someone hiding removed entries would need it to be.
    lowered = json.loads(second)
    lowered["entries"] -= 1
    resigned = json.loads(first)
    resigned["hmac"] = "0" * 64
    anchors.write_text(
        "\n".join([json.dumps(lowered), json.dumps(resigned), "not an anchor", first]) + "\n"
    )
    report = broken_against(anchors)
    assert "line 1: the signature does not match" in report
    assert "line 2: the signature does not match" in report
    assert "line 3 is not an anchor" in report
    assert "line 4" not in report


def test_anchors_signed_with_another_key_are_reported(procedure, anchor_key, anchors, monkeypatch):
    write_anchor(anchors)
    monkeypatch.setenv(ANCHOR_KEY_VARIABLE, "another-key-of-a-forger-who-read-the-database")
    assert "line 1: the signature does not match" in broken_against(anchors)


def test_head_refuses_without_the_key(procedure, anchors, monkeypatch):
    monkeypatch.delenv(ANCHOR_KEY_VARIABLE, raising=False)
    with pytest.raises(CommandError, match=f"{ANCHOR_KEY_VARIABLE} is not set"):
        write_anchor(anchors)
    assert not anchors.exists()
    with pytest.raises(CommandError, match=f"{ANCHOR_KEY_VARIABLE} is not set"):
        verify_against(anchors)


def test_head_refuses_a_short_key(procedure, anchors, monkeypatch):
    monkeypatch.setenv(ANCHOR_KEY_VARIABLE, "secret")
    with pytest.raises(CommandError, match="too short"):
        write_anchor(anchors)


def test_head_needs_somewhere_to_write(procedure, anchor_key):
    with pytest.raises(CommandError, match="--out FILE .* --syslog"):
        call_command("audit", "head")


def test_head_reports_a_file_it_cannot_write(procedure, anchor_key, tmp_path):
    with pytest.raises(CommandError, match="cannot write the anchor to"):
        write_anchor(tmp_path / "no-such-folder" / "anchors.jsonl")


def test_head_refuses_to_anchor_a_head_that_names_no_entry(procedure, anchor_key, anchors):
    drop_every_audit_guard()
    move_head_to("f" * 64)
    with pytest.raises(CommandError, match="names no entry"):
        write_anchor(anchors)


def test_verify_refuses_a_missing_or_empty_anchor_file(procedure, anchor_key, anchors):
    with pytest.raises(CommandError, match="cannot read"):
        verify_against(anchors)
    anchors.write_text("")
    with pytest.raises(CommandError, match="holds no anchors"):
        verify_against(anchors)


def test_head_can_send_the_anchor_to_syslog(procedure, anchor_key, monkeypatch):
    import syslog

    sent = []
    monkeypatch.setattr(syslog, "openlog", lambda ident, option, facility: sent.append(facility))
    monkeypatch.setattr(syslog, "syslog", lambda priority, message: sent.append(message))
    printed = write_anchor_to_syslog()
    assert sent == [syslog.LOG_AUTH, f"audit anchor {printed}"]


def write_anchor_to_syslog() -> str:
    out = io.StringIO()
    call_command("audit", "head", "--syslog", stdout=out)
    return out.getvalue().strip()
