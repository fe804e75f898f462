"""The audit trail is append-only and tamper-evident."""

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
    found = client.get(reverse("patient_list"), {"q": patient.nhs_number}).content.decode()
    assert patient.registry_number in found
    search = AuditEvent.objects.get(action="search")
    assert search.actor == coordinator and search.patient == patient
    assert search.changes == {"found_by": "nhs_number"}
    assert patient.nhs_number not in str(search.changes)
    client.get(reverse("patient_list"), {"q": patient.registry_number})
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
