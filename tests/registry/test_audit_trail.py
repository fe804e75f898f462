"""The audit trail is append-only and tamper-evident."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from thermablate.registry import actions
from thermablate.registry.audit_trail import verify_chain
from thermablate.registry.models import AuditEvent

GUARD_NAME = "registry_auditevent_append_only"


def test_every_write_is_chained_and_the_chain_verifies(procedure, clinician):
    actions.update_patient(procedure.patient, acting_user=clinician, year_of_birth=1960)
    report = verify_chain()
    assert report.intact and report.checked == AuditEvent.objects.count() > 5
    entries = list(AuditEvent.objects.order_by("id"))
    assert all(b.previous_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))


def remove_database_guard(cursor) -> None:
    """What someone who owns the schema could do before tampering (undone with the test's
    transaction)."""
    if connection.vendor == "postgresql":
        cursor.execute(f"DROP TRIGGER {GUARD_NAME} ON registry_auditevent")
    else:
        cursor.execute(f"DROP TRIGGER {GUARD_NAME}")
        # SQLite's DELETE guard is a trigger of its own (migration 0009).
        cursor.execute("DROP TRIGGER IF EXISTS registry_auditevent_no_delete")


def test_the_database_refuses_to_change_an_entry(procedure):
    from django.db import DatabaseError, transaction

    entry = AuditEvent.objects.first()

    def refused(sql: str, params: list) -> None:
        raised = pytest.raises(DatabaseError, match="append-only")
        with raised, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)

    refused("UPDATE registry_auditevent SET object_id = %s WHERE id = %s", ["999", entry.pk])
    if connection.vendor == "postgresql":  # SQLite empties tables with DELETE: see migration
        refused("DELETE FROM registry_auditevent WHERE id = %s", [entry.pk])
    assert verify_chain().intact


def test_the_database_guard_survives_every_migration(db):
    # SQLite silently drops a table's triggers when a migration rebuilds the table.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = %s", [GUARD_NAME])
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                [GUARD_NAME],
            )
        assert cursor.fetchall() == [(GUARD_NAME,)]


def test_an_entry_edited_in_the_database_is_detected(procedure, capsys):
    entry = AuditEvent.objects.filter(model="procedure").first()
    with connection.cursor() as cursor:  # what someone with database access might do
        remove_database_guard(cursor)
        cursor.execute(
            "UPDATE registry_auditevent SET object_id = %s WHERE id = %s", ["999", entry.pk]
        )
    report = verify_chain()
    assert not report.intact
    assert any(f"entry {entry.pk}" in p and "changed" in p for p in report.problems)
    with pytest.raises(CommandError, match="audit trail broken"):
        call_command("audit", "verify")


def test_a_deleted_entry_is_detected(procedure):
    middle = AuditEvent.objects.order_by("id")[2]
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        cursor.execute("DELETE FROM registry_auditevent WHERE id = %s", [middle.pk])
    assert any("deleted or inserted" in p for p in verify_chain().problems)


def test_deleting_the_newest_entries_is_detected(procedure):
    last = AuditEvent.objects.order_by("-id").first()
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        cursor.execute("DELETE FROM registry_auditevent WHERE id = %s", [last.pk])
    assert any("newest entries are missing" in p for p in verify_chain().problems)


def test_entries_cannot_be_changed_or_deleted_through_the_application(procedure):
    entry = AuditEvent.objects.first()
    entry.action = "view"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_the_nhs_number_never_appears_in_the_trail(procedure, clinician):
    actions.update_patient(procedure.patient, acting_user=clinician, nhs_number="9434765870")
    text = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert "9434765870" not in text and "9434765919" not in text
    change = AuditEvent.objects.get(model="patient", action="update").changes
    assert change == {
        "nhs_number": {"old": "[redacted]", "new": "[redacted]"},
        "nhs_number_hash": {"old": "[redacted]", "new": "[redacted]"},
    }


def test_the_verify_command_reports_an_intact_trail(procedure, capsys):
    call_command("audit", "verify")
    assert "audit trail intact" in capsys.readouterr().out


def test_viewing_a_patients_identifiers_is_recorded(client, clinician, patient):
    from django.urls import reverse

    from tests.factories import login

    login(client, clinician)
    client.get(reverse("patient_detail", args=[patient.registry_number]))
    view = AuditEvent.objects.get(action="view", patient=patient)
    assert view.actor == clinician
    assert view.changes == {"shown": ["nhs_number"], "via": "patient page"}


def test_the_edit_page_showing_the_nhs_number_is_recorded(client, clinician, patient):
    from django.urls import reverse

    from tests.factories import login

    login(client, clinician)
    page = client.get(reverse("patient_edit", args=[patient.registry_number]))
    assert patient.nhs_number in page.content.decode()
    view = AuditEvent.objects.get(action="view", patient=patient)
    assert view.changes["via"] == "edit page"


def test_finding_a_patient_by_nhs_number_is_recorded_without_the_number(
    client, coordinator, patient
):
    from django.urls import reverse

    from tests.factories import login

    login(client, coordinator)
    found = client.post(reverse("patient_list"), {"q": patient.nhs_number}).content.decode()
    assert patient.registry_number in found
    search = AuditEvent.objects.get(action="search")
    assert search.actor == coordinator and search.patient == patient
    assert search.changes == {"found_by": "nhs_number"}
    assert patient.nhs_number not in str(search.changes)
    client.post(reverse("patient_list"), {"q": patient.registry_number})
    assert AuditEvent.objects.filter(action="search").count() == 1  # by registry number: not


def test_api_reads_of_nhs_numbers_are_recorded_per_patient(client, clinician, analyst, patient):
    from tests.factories import login

    login(client, clinician)
    listed = client.get("/api/patients").json()
    assert listed[0]["nhs_number"] == patient.nhs_number
    client.get(f"/api/patients/{patient.registry_number}")
    views = AuditEvent.objects.filter(action="view", patient=patient, actor=clinician)
    assert [v.changes["via"] for v in views] == ["api", "api"]
    login(client, analyst)  # sees no identifiers: nothing identifiable to record
    assert client.get("/api/patients").json()[0]["nhs_number"] is None
    assert not AuditEvent.objects.filter(action="view", actor=analyst).exists()


def test_an_analysts_view_without_identifiers_is_not_an_identifiable_access(
    client, analyst, patient
):
    from django.urls import reverse

    from tests.factories import login

    login(client, analyst)
    client.get(reverse("patient_detail", args=[patient.registry_number]))
    assert not AuditEvent.objects.filter(action="view").exists()


def test_a_governance_lead_searches_the_trail_by_patient_user_and_date(
    client, governance, clinician, procedure, outsider, today
):
    from django.urls import reverse

    from tests.factories import login

    other = actions.create_patient(
        site=outsider.staff.site,
        acting_user=outsider,
        nhs_number="9434765870",
        year_of_birth=1970,
        sex="male",
    )
    login(client, governance)
    page = client.get(
        reverse("audit_trail"),
        {
            "patient": procedure.patient.registry_number,
            "user": clinician.username,
            "date_from": today.isoformat(),
            "date_to": today.isoformat(),
        },
    ).content.decode()
    assert "create procedure" in page and procedure.patient.registry_number in page
    assert other.registry_number not in client.get(reverse("audit_trail")).content.decode()
    login(client, clinician)
    assert client.get(reverse("audit_trail")).status_code == 403


# Direct tamper tests: one per way of forging the chain. Each names the part of the entry hash
# it depends on, so a hash that stopped covering that part fails here (checked by mutation:
# see docs/security.md).

HASHED_COLUMNS = ["at", "actor_id", "action", "model", "object_id", "patient_id", "changes"]
CHAIN_COLUMNS = ["previous_hash", "entry_hash"]


def read_row(cursor, entry_id: int, columns: list[str]) -> list:
    cursor.execute(
        f"SELECT {', '.join(columns)} FROM registry_auditevent WHERE id = %s", [entry_id]
    )
    return list(cursor.fetchone())


def write_row(cursor, entry_id: int, columns: list[str], values: list) -> None:
    """Write raw column values back as read (PostgreSQL returns jsonb already parsed)."""

    def placeholder(column: str) -> str:
        cast = "::jsonb" if column == "changes" and connection.vendor == "postgresql" else ""
        return f"{column} = %s{cast}"

    params = [
        json.dumps(value) if column == "changes" and not isinstance(value, str) else value
        for column, value in zip(columns, values, strict=True)
    ]
    assignments = ", ".join(placeholder(column) for column in columns)
    cursor.execute(
        f"UPDATE registry_auditevent SET {assignments} WHERE id = %s", [*params, entry_id]
    )


def assert_verify_reports(entry_id: int, phrase: str) -> None:
    """Both the function and `thermablate audit verify` must say the chain is broken there."""
    report = verify_chain()
    assert any(f"entry {entry_id} " in p and phrase in p for p in report.problems), report.problems
    with pytest.raises(CommandError, match="audit trail broken"):
        call_command("audit", "verify")


def test_an_entrys_changes_edited_in_the_database_are_detected(procedure):
    # The old and new values are what an auditor reads: forging them must break the hash.
    entry = AuditEvent.objects.filter(model="procedure", action="create").first()
    assert entry.changes, "the test needs an entry with recorded values"
    forged = {**entry.changes, "forged_field": "a value no one recorded"}
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        write_row(cursor, entry.pk, ["changes"], [forged])
    assert AuditEvent.objects.get(pk=entry.pk).changes == forged
    assert_verify_reports(entry.pk, "was changed after it was written")


def test_an_entrys_previous_hash_edited_alone_is_detected_as_a_change(procedure):
    # The link is part of what the entry hash covers, so the entry itself fails its hash,
    # not only the link check.
    entry = AuditEvent.objects.order_by("id")[3]
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        write_row(cursor, entry.pk, ["previous_hash"], ["0" * 64])
    assert_verify_reports(entry.pk, "was changed after it was written")
    assert_verify_reports(entry.pk, "does not follow the entry before it")


def test_a_deleted_entry_with_the_next_one_relinked_is_detected(procedure):
    # The careful forger: delete an entry and point the next one at the entry before, so
    # every link still matches. Only a hash that binds previous_hash catches this.
    entries = list(AuditEvent.objects.order_by("id"))
    deleted, following = entries[2], entries[3]
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        cursor.execute("DELETE FROM registry_auditevent WHERE id = %s", [deleted.pk])
        write_row(cursor, following.pk, ["previous_hash"], [deleted.previous_hash])
    report = verify_chain()
    assert not any("does not follow" in p for p in report.problems), "links were re-made"
    assert_verify_reports(following.pk, "was changed after it was written")


def swap_rows(first_id: int, second_id: int, columns: list[str]) -> None:
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        first = read_row(cursor, first_id, columns)
        second = read_row(cursor, second_id, columns)
        if "entry_hash" in columns:  # unique: park one value so the swap never collides
            write_row(cursor, first_id, ["entry_hash"], ["parked"])
        write_row(cursor, second_id, columns, first)
        write_row(cursor, first_id, columns, second)


def test_two_whole_entries_swapped_are_detected(procedure):
    # Reordering: each entry keeps its own hashes, so each fails its link.
    entries = list(AuditEvent.objects.order_by("id"))
    first, second = entries[2], entries[3]
    swap_rows(first.pk, second.pk, HASHED_COLUMNS + CHAIN_COLUMNS)
    assert AuditEvent.objects.get(pk=first.pk).entry_hash == second.entry_hash
    assert_verify_reports(first.pk, "does not follow the entry before it")
    assert_verify_reports(second.pk, "does not follow the entry before it")


def test_two_entries_contents_swapped_under_their_hashes_are_detected(procedure):
    # Reordering while leaving the hash columns in place, so the links still match.
    entries = list(AuditEvent.objects.order_by("id"))
    first, second = entries[2], entries[3]
    swap_rows(first.pk, second.pk, HASHED_COLUMNS)
    assert AuditEvent.objects.get(pk=first.pk).object_id == second.object_id
    assert not any("does not follow" in p for p in verify_chain().problems)
    assert_verify_reports(first.pk, "was changed after it was written")
    assert_verify_reports(second.pk, "was changed after it was written")


# Emptying or shortening the trail (security review, finding 1). The guards of migration 0009
# refuse it whatever sent the SQL; flush and restore lift them inside their own transaction.

ERASURE_GUARDS = {
    "postgresql": [
        "registry_auditevent_no_truncate",
        "registry_auditchainhead_no_truncate",
        "registry_auditchainhead_no_delete",
        "registry_auditchainhead_forward_only",
    ],
    "sqlite": [
        "registry_auditevent_no_delete",
        "registry_auditchainhead_no_delete",
        "registry_auditchainhead_forward_only",
    ],
}
on_postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's: TRUNCATE, row locks"
)


def refused(sql: str, params=(), match: str = "append-only") -> None:
    from django.db import DatabaseError, transaction

    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, list(params))


def head_hash() -> str:
    from thermablate.registry.models import AuditChainHead

    return AuditChainHead.objects.get(pk=1).last_hash


@on_postgresql_only
# Committed fixtures: TRUNCATE refuses a table with deferred checks pending in the
# transaction, which would hide what the guard does.
@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_truncate_the_trail(procedure):
    count, head = AuditEvent.objects.count(), head_hash()
    refused("TRUNCATE registry_auditevent")
    refused("TRUNCATE registry_auditchainhead")
    # The trail's actor column references the users: emptying them CASCADE reaches the trail.
    refused("TRUNCATE auth_user CASCADE")
    assert AuditEvent.objects.count() == count and head_hash() == head
    assert verify_chain().intact


def test_the_database_refuses_to_delete_entries(procedure):
    count = AuditEvent.objects.count()
    newest = AuditEvent.objects.order_by("-id").first()
    refused("DELETE FROM registry_auditevent WHERE id = %s", [newest.pk])
    refused("DELETE FROM registry_auditevent")
    assert AuditEvent.objects.count() == count


def test_the_database_refuses_to_delete_the_chain_head(procedure):
    # Without its head an emptied trail would look like a fresh one.
    refused("DELETE FROM registry_auditchainhead")
    assert head_hash() == AuditEvent.objects.order_by("-id").first().entry_hash


def test_the_database_refuses_to_move_the_chain_head_back(procedure):
    entries = list(AuditEvent.objects.order_by("id"))
    moving_back = "UPDATE registry_auditchainhead SET last_hash = %s WHERE id = 1"
    refused(moving_back, [entries[-2].entry_hash], match="only moves forward")
    refused(moving_back, ["0" * 64], match="only moves forward")
    refused(moving_back, ["f" * 64], match="only moves forward")
    # Someone who dropped the entries' guards deletes the newest entries, then points the
    # head at what is now the newest: the head's own guard still refuses.
    with connection.cursor() as cursor:
        remove_database_guard(cursor)
        cursor.execute("DELETE FROM registry_auditevent WHERE id >= %s", [entries[-3].pk])
    refused(moving_back, [entries[-4].entry_hash], match="only moves forward")
    assert head_hash() == entries[-1].entry_hash
    assert any("newest entries are missing" in p for p in verify_chain().problems)


def test_appending_still_moves_the_head_forward_past_the_guard(procedure, clinician):
    before = head_hash()
    actions.update_patient(procedure.patient, acting_user=clinician, year_of_birth=1961)
    newest = AuditEvent.objects.order_by("-id").first()
    assert newest.previous_hash == before and head_hash() == newest.entry_hash
    assert verify_chain().intact


def test_a_missing_chain_head_is_reported(procedure):
    from thermablate.registry.models import AuditChainHead

    with connection.cursor() as cursor:
        drop_every_audit_guard(cursor)
    AuditChainHead.objects.all().delete()
    assert any("chain head is missing" in p for p in verify_chain().problems)


def drop_every_audit_guard(cursor) -> None:
    """All a schema owner would drop (undone with the test's transaction)."""
    for name in ERASURE_GUARDS[connection.vendor]:
        if connection.vendor == "postgresql":
            table = "registry_auditevent" if "auditevent" in name else "registry_auditchainhead"
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER {name}")
    remove_database_guard(cursor)


def installed_erasure_guards() -> list[str]:
    expected = sorted(ERASURE_GUARDS[connection.vendor])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'",
                [expected],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN "
                f"({', '.join(['%s'] * len(expected))})",
                expected,
            )
        return sorted(name for (name,) in cursor.fetchall())


def test_the_erasure_guards_survive_every_migration(db):
    # SQLite silently drops a table's triggers when a migration rebuilds the table.
    assert installed_erasure_guards() == sorted(ERASURE_GUARDS[connection.vendor])


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_leaves_it_guarded(procedure):
    # Django's own flush (between tests, and `thermablate flush`) replaces the whole database:
    # it lifts the guards inside its transaction and puts them back before committing.
    call_command("flush", interactive=False)
    assert not AuditEvent.objects.filter(model="procedure").exists()
    assert verify_chain().intact
    assert installed_erasure_guards() == sorted(ERASURE_GUARDS[connection.vendor])
    if connection.vendor == "postgresql":
        refused("TRUNCATE registry_auditevent")
    else:
        refused("DELETE FROM registry_auditevent")


# A long transaction (an import) chains its entries at its end (security review, finding 2).


def test_a_long_transactions_entries_are_chained_together_at_its_end(patient, clinician):
    from thermablate.registry.audit_trail import entries_chained_at_end

    before = head_hash()
    with entries_chained_at_end():
        actions.update_patient(patient, acting_user=clinician, year_of_birth=1960)
        actions.update_patient(patient, acting_user=clinician, year_of_birth=1961)
        assert head_hash() == before  # the head is neither moved nor locked meanwhile
        assert not AuditEvent.objects.filter(action="update").exists()
    updates = list(AuditEvent.objects.filter(action="update").order_by("id"))
    assert [u.changes["year_of_birth"]["new"] for u in updates] == [1960, 1961]
    assert updates[0].previous_hash == before and updates[0].actor == clinician
    assert head_hash() == updates[1].entry_hash
    assert verify_chain().intact


def test_a_rolled_back_savepoint_takes_its_staged_entries_with_it(patient, clinician):
    from django.db import transaction

    from thermablate.registry.audit_trail import entries_chained_at_end

    with entries_chained_at_end():
        actions.update_patient(patient, acting_user=clinician, year_of_birth=1960)
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.update_patient(patient, acting_user=clinician, year_of_birth=1961)
            raise RuntimeError("a refused import row")
    updates = AuditEvent.objects.filter(action="update")
    assert [u.changes["year_of_birth"]["new"] for u in updates] == [1960]
    assert verify_chain().intact


def test_a_savepoint_rolled_back_around_a_released_one_takes_its_entries_too(
    patient, clinician, django_capture_on_commit_callbacks
):
    # Staged entries wait beside the transaction's commit callbacks; others' callbacks stay.
    from django.db import transaction

    from thermablate.registry.audit_trail import entries_chained_at_end

    with django_capture_on_commit_callbacks() as callbacks, entries_chained_at_end():
        transaction.on_commit(lambda: None)
        with pytest.raises(RuntimeError), transaction.atomic():
            with transaction.atomic():  # released, then undone with its enclosing savepoint
                actions.update_patient(patient, acting_user=clinician, year_of_birth=1961)
            raise RuntimeError("a refused import row")
        actions.update_patient(patient, acting_user=clinician, year_of_birth=1962)
    updates = AuditEvent.objects.filter(action="update")
    assert [u.changes["year_of_birth"]["new"] for u in updates] == [1962]
    assert len(callbacks) == 1  # the staged entries are taken out, never run at commit
    assert verify_chain().intact


def test_a_failed_long_transaction_stores_none_of_its_entries(patient, clinician):
    from thermablate.registry.audit_trail import entries_chained_at_end

    before = head_hash()
    with pytest.raises(RuntimeError), entries_chained_at_end():
        actions.update_patient(patient, acting_user=clinician, year_of_birth=1960)
        raise RuntimeError("the import died")
    assert not AuditEvent.objects.filter(action="update").exists() and head_hash() == before
    actions.update_patient(patient, acting_user=clinician, year_of_birth=1962)  # chained at once
    assert AuditEvent.objects.get(action="update").previous_hash == before
    assert verify_chain().intact


@on_postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_import_leaves_the_chain_head_free_for_everyone_else(
    site_a, coordinator, clinician, patient
):
    """An import used to hold the chain head locked from its first row to its commit, so a
    clinician opening a patient's page (which records the view) waited for the whole import."""
    import csv
    import io
    import threading

    from django.db import DatabaseError, transaction

    from tests.factories import VALID_NHS_NUMBERS
    from thermablate.registry.audit_trail import record_access
    from thermablate.registry.imports import import_patients
    from thermablate.registry.models import AuditChainHead

    rows = io.StringIO(
        "nhs_number,year_of_birth,sex\n"
        + "".join(f"{number},1950,male\n" for number in VALID_NHS_NUMBERS[1:4])
    )
    outcome = {}

    def open_a_patient_page() -> None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update(nowait=True).get(pk=1)
                record_access(clinician, "view", patient, patient, {"via": "meanwhile"})
            outcome["page"] = "shown"
        except DatabaseError as exc:
            outcome["page"] = str(exc)
        finally:
            connection.close()  # this thread's own connection

    def half_way(done: int) -> None:
        if done == 2:
            clinician_at_work = threading.Thread(target=open_a_patient_page)
            clinician_at_work.start()
            clinician_at_work.join(timeout=30)

    report = import_patients(
        csv.DictReader(rows), site=site_a, acting_user=coordinator, progress=half_way
    )
    assert report.ok and outcome == {"page": "shown"}
    view = AuditEvent.objects.get(action="view", changes__via="meanwhile")
    imported = AuditEvent.objects.filter(model="patient", action="create", actor=coordinator)
    assert imported.count() == 3 and all(entry.pk > view.pk for entry in imported)
    assert verify_chain().intact


def test_a_large_batch_of_entries_is_chained_in_order_and_verifies(patient, clinician):
    # Enough entries for PostgreSQL's bulk path (COPY), in the order they were recorded.
    from thermablate.registry.audit_trail import entries_chained_at_end, record_access

    with entries_chained_at_end():
        for number in range(150):
            record_access(clinician, "view", patient, patient, {"via": "batch", "n": number})
    batch = list(AuditEvent.objects.filter(changes__via="batch").order_by("id"))
    assert [entry.changes["n"] for entry in batch] == list(range(150))
    assert batch[-1].entry_hash == head_hash() and batch[0].at <= batch[-1].at
    assert verify_chain().intact
