"""Schema migrations run forward on a filled database without losing anything."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

FIRST = [("registry", "0001_initial"), ("guidance", None), ("audit", None)]


@pytest.mark.django_db(transaction=True)
def test_a_database_filled_at_the_first_migration_survives_every_later_one():
    executor = MigrationExecutor(connection)
    executor.migrate(FIRST)
    old = executor.loader.project_state([FIRST[0]]).apps

    # A small registry as the first release stored it: plain-text NHS number, unchained audit.
    User = old.get_model("auth", "User")
    Site = old.get_model("registry", "Site")
    Patient = old.get_model("registry", "Patient")
    Lesion = old.get_model("registry", "Lesion")
    AuditEvent = old.get_model("registry", "AuditEvent")
    user = User.objects.create(username="early-adopter")
    site = Site.objects.create(code="ngh", name="Northgate")
    patient = Patient.objects.create(
        site=site,
        registry_number="TB-FIRST1",
        nhs_number="9434765919",
        year_of_birth=1950,
        sex="male",
    )
    Lesion.objects.create(
        patient=patient, spinal_levels="L2", diagnosis="spinal_metastasis", lesion_type="lytic"
    )
    for n in range(3):
        AuditEvent.objects.create(
            actor_id=user.pk,
            action="create",
            model="lesion",
            object_id=str(n),
            patient_id=patient.pk,
            changes={"new": {"on": date(2026, 1, n + 1).isoformat()}},
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from thermablate.registry.audit_trail import verify_chain
    from thermablate.registry.fields import identifier_hash
    from thermablate.registry.models import AuditEvent as NewAuditEvent
    from thermablate.registry.models import Lesion as NewLesion
    from thermablate.registry.models import Patient as NewPatient

    migrated = NewPatient.objects.get(registry_number="TB-FIRST1")
    assert migrated.nhs_number == "9434765919"  # encrypted by the migration, read back whole
    assert migrated.nhs_number_hash == identifier_hash("9434765919")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nhs_number FROM registry_patient")
        assert cursor.fetchone()[0].startswith("fernet:")
    assert NewLesion.objects.get().spinal_levels == "L2"
    assert (
        NewAuditEvent.objects.filter(model="lesion", actor__username="early-adopter").count() == 3
    )
    assert verify_chain().intact  # the old entries were chained by the migration


BEFORE_THE_MOVE = [("registry", "0007_audit_trail_database_guard"), ("guidance", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_local_approvals_move_to_the_registry_with_their_ids_and_links():
    """Migration registry 0008 renames the guidance app's approval tables: nothing is lost."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    old = executor.loader.project_state(BEFORE_THE_MOVE).apps
    User = old.get_model("auth", "User")
    Site = old.get_model("registry", "Site")
    Guidance = old.get_model("guidance", "Guidance")
    Approval = old.get_model("guidance", "LocalApproval")
    Credential = old.get_model("guidance", "CredentialedOperator")
    lead = User.objects.create(username="lead-before-the-move")
    site = Site.objects.create(code="old", name="Old Site")
    guidance = Guidance.objects.create(key="OLD1", kind="guidance", title="Old", record={})
    approval = Approval.objects.create(
        site=site,
        procedure_type="rfa_vertebroplasty",
        guidance=guidance,
        decision="approved_standard",
        committee="NIPC",
        decision_date=date(2024, 1, 1),
        clinical_lead=lead,
        review_date=date(2026, 1, 1),
        guidance_version=1,
        recorded_by=lead,
    )
    Credential.objects.create(
        approval=approval, user=lead, training="50 cases", credentialed_on=date(2024, 1, 2)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from thermablate.registry.models import LocalApproval

    moved = LocalApproval.objects.get(pk=approval.pk)
    assert (moved.site.code, moved.guidance.key, moved.clinical_lead.username) == (
        "old",
        "OLD1",
        "lead-before-the-move",
    )
    assert moved.withdrawal_reason == ""
    assert [c.training for c in moved.operators.all()] == ["50 cases"]
    tables = connection.introspection.table_names()
    assert "registry_localapproval" in tables
    assert "guidance_localapproval" not in tables


BEFORE_THE_LIFECYCLE = [
    ("registry", "0013_mdt_clinical_fields"),
    ("guidance", "0002_approvals_moved_to_registry"),
]


@pytest.mark.django_db(transaction=True)
def test_several_approvals_in_force_at_once_become_a_chain_of_supersessions():
    """Migration registry 0014 adds "one approval in force per procedure and site"; a site that
    recorded three decisions on one procedure before (the app allowed it) keeps the newest in
    force and the older ones superseded, each on the next decision's date, nothing deleted."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_LIFECYCLE)
    old = executor.loader.project_state(BEFORE_THE_LIFECYCLE).apps
    User = old.get_model("auth", "User")
    Site = old.get_model("registry", "Site")
    Guidance = old.get_model("guidance", "Guidance")
    Approval = old.get_model("registry", "LocalApproval")
    lead = User.objects.create(username="lead-before-the-lifecycle")
    site = Site.objects.create(code="thr", name="Three Approvals")
    guidance = Guidance.objects.create(key="OLD2", kind="guidance", title="Old", record={})
    dates = [date(2024, 1, 1), date(2025, 3, 1), date(2026, 2, 1)]
    for decided in dates:
        Approval.objects.create(
            site=site,
            procedure_type="rfa_vertebroplasty",
            guidance=guidance,
            decision="approved_standard",
            committee="NIPC",
            decision_date=decided,
            clinical_lead=lead,
            review_date=date(2027, 1, 1),
            guidance_version=1,
            recorded_by=lead,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from thermablate.registry.models import LocalApproval

    chain = list(LocalApproval.objects.filter(site__code="thr").order_by("decision_date"))
    assert [a.superseded_on for a in chain] == [dates[1], dates[2], None]
    assert [a.supersedes_id for a in chain] == [None, chain[0].pk, chain[1].pk]
    assert all("upgrade" in a.supersession_reason for a in chain[:2])
