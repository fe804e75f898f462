"""The CSV export: identifiable or pseudonymised, streamed, and always recorded."""

import csv
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from thermablate.audit.exports.pseudonyms import MAX_SHIFT_DAYS, date_shift_days, pseudonym
from thermablate.audit.exports.run import export
from thermablate.clinical import eq5d
from thermablate.registry.models import AuditEvent

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def read_rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_it_writes_a_pseudonymised_csv_without_identifiers_or_dates(tmp_path, recorded_cohort):
    out = tmp_path / "audit.csv"
    written = export(export_format="csv", out=out, pseudonymised=True)
    patients, procedures = written.patients, written.procedures
    assert (patients, procedures) == (1, 1)
    text = out.read_text()
    patient = recorded_cohort["patient"]
    assert patient.nhs_number not in text
    assert patient.registry_number not in text
    assert not ISO_DATE.search(text)
    [row] = read_rows(out)
    assert row["pseudonym"] == pseudonym(patient.registry_number)
    assert "year_of_birth" not in row and "nhs_number" not in row
    procedure = recorded_cohort["procedure"]
    assert row["age_at_procedure"] == str(procedure.procedure_date.year - patient.year_of_birth)
    assert row["procedure_year"] == str(procedure.procedure_date.year)
    # Dates as days from the procedure.
    assert (row["baseline_day"], row["1m_day"], row["mdt_decision_day"], row["consent_day"]) == (
        "-1",
        "30",
        "-10",
        "-2",
    )


def test_it_derives_the_scores_from_the_raw_answers(tmp_path, recorded_cohort):
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    [row] = read_rows(out)
    assert (row["baseline_pain_worst"], row["1m_pain_worst"]) == ("8", "3")
    assert row["baseline_eq5d_profile"] == "32342"
    # Morphine 30 mg twice a day = 60 mg; the unknown "kratom" is counted, not added as 0.
    assert (row["baseline_ome_mg_per_day"], row["baseline_ome_not_convertible"]) == ("60", "1")
    assert (row["1m_ome_mg_per_day"], row["1m_ome_not_convertible"]) == ("30", "0")
    assert row["3m_pain_worst"] == ""
    assert (row["adverse_events"], row["adverse_event_types"]) == ("1", "cement_leakage")
    assert row["device_lot"] == "LOT-4471"
    assert row["eq5d_value_set"] == "uk-5l-to-3l-mapping-dsu-2022"
    # The DSU mapping depends on age and sex: the patient's, at the assessment.
    patient = recorded_cohort["patient"]
    baseline = recorded_cohort["procedure"].assessments.get(timepoint="baseline")
    age = baseline.assessed_on.year - patient.year_of_birth
    expected = eq5d.index("32342", age=age, sex=patient.sex)
    assert row["baseline_eq5d_index"] == f"{expected:.3f}"
    other_sex = "female" if patient.sex == "male" else "male"
    assert expected != eq5d.index("32342", age=age, sex=other_sex)


def test_it_writes_an_identifiable_csv_when_asked(tmp_path, recorded_cohort):
    out = tmp_path / "identifiable.csv"
    export(export_format="csv", out=out, pseudonymised=False)
    [row] = read_rows(out)
    assert row["nhs_number"] == recorded_cohort["patient"].nhs_number
    assert row["procedure_date"] == recorded_cohort["procedure"].procedure_date.isoformat()


def test_it_records_every_export_in_the_audit_trail(tmp_path, recorded_cohort, governance):
    out = tmp_path / "identifiable.csv"
    call_command(
        "export",
        "--format",
        "csv",
        "--out",
        str(out),
        "--identifiable",
        "--user",
        governance.username,
    )
    entry = AuditEvent.objects.filter(action="export").get()
    assert entry.actor == governance
    assert entry.changes["identifiable"] is True
    assert entry.changes["procedures"] == 1
    assert entry.changes["destination"] == str(out)


def export_command(out, *flags: str):
    call_command("export", "--format", "csv", "--out", str(out), *flags)


def test_it_exports_only_the_chosen_site(tmp_path, recorded_cohort, site_b, admin_user):
    out = tmp_path / "b.csv"
    export_command(out, "--pseudonymised", "--site", site_b.code, "--user", admin_user.username)
    assert read_rows(out) == []


def test_a_sites_user_exports_their_own_site_by_default(
    tmp_path, recorded_cohort, site_a, site_b, governance
):
    out = tmp_path / "own.csv"
    export_command(out, "--pseudonymised", "--user", governance.username)
    assert len(read_rows(out)) == 1
    assert AuditEvent.objects.get(action="export").changes["scope"] == site_a.code


@pytest.mark.parametrize("scope", [("--site", "SITE_B"), ("--all-sites",)])
def test_a_sites_user_cannot_export_another_sites_patients(
    tmp_path, recorded_cohort, site_b, governance, scope
):
    # Issue 11, finding 13: the export defaulted to every site's patients, whoever ran it.
    out = tmp_path / "x.csv"
    flags = [site_b.code if flag == "SITE_B" else flag for flag in scope]
    with pytest.raises(CommandError, match=f"^Refused: '{governance.username}'"):
        export_command(out, "--identifiable", *flags, "--user", governance.username)
    assert not out.exists()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_superuser_exports_every_site_only_when_asked(tmp_path, recorded_cohort, admin_user):
    out = tmp_path / "all.csv"
    with pytest.raises(CommandError, match="has no site of their own"):
        export_command(out, "--pseudonymised", "--user", admin_user.username)
    export_command(out, "--pseudonymised", "--all-sites", "--user", admin_user.username)
    assert len(read_rows(out)) == 1


def test_it_refuses_an_unknown_site_and_writes_nothing(tmp_path, recorded_cohort, governance):
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError, match="no site"):
        export_command(out, "--pseudonymised", "--site", "nowhere", "--user", governance.username)
    assert not out.exists()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_it_refuses_to_guess_between_identifiable_and_pseudonymised(
    tmp_path, recorded_cohort, governance
):
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError) as refusal:
        export_command(out, "--user", governance.username)
    assert "--pseudonymised" in str(refusal.value) and "--identifiable" in str(refusal.value)
    assert not out.exists()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_it_refuses_both_identifiable_and_pseudonymised(tmp_path, recorded_cohort, governance):
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError, match="not allowed with argument"):
        export_command(out, "--pseudonymised", "--identifiable", "--user", governance.username)
    assert not out.exists()


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        (None, "--user is required"),
        ("someone-unknown", "no user 'someone-unknown'"),
        ("inactive", "user {inactive!r} is not active"),
    ],
)
def test_it_refuses_an_export_without_an_active_user(
    tmp_path, recorded_cohort, governance, who, refusal
):
    governance.is_active = False  # left the trust: their account is kept, inactive
    governance.save(update_fields=["is_active"])
    out = tmp_path / "x.csv"
    if who == "inactive":
        who, refusal = governance.username, refusal.format(inactive=governance.username)
    user_flags = ("--user", who) if who else ()
    with pytest.raises(CommandError, match=f"^Refused: {re.escape(refusal)}"):
        export_command(out, "--pseudonymised", *user_flags)
    assert not out.exists()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_command_fails_with_a_non_zero_exit_code_when_it_refuses(
    tmp_path, recorded_cohort, capsys
):
    """From the shell (not call_command): the refusal is an error the caller's script sees."""
    from django.core.management import ManagementUtility

    out = tmp_path / "x.csv"
    utility = ManagementUtility(["thermablate", "export", "--format", "csv", "--out", str(out)])
    with pytest.raises(SystemExit) as exit_status:
        utility.execute()
    assert exit_status.value.code != 0
    assert "--identifiable" in capsys.readouterr().err
    assert not out.exists()


def test_it_reads_in_chunks_with_a_fixed_number_of_queries(
    tmp_path, recorded_cohort, django_assert_max_num_queries
):
    from thermablate.audit.exports.csv_export import write_csv
    from thermablate.audit.exports.records import patient_records
    from thermablate.registry.models import Patient

    with (tmp_path / "q.csv").open("w") as handle, django_assert_max_num_queries(12):
        write_csv(handle, patient_records(Patient.objects.all(), chunk_size=1), pseudonymised=True)


def test_its_date_shift_stays_within_half_a_year_and_is_stable():
    shifts = {date_shift_days(f"TB-{n:06d}") for n in range(200)}
    assert all(-MAX_SHIFT_DAYS <= s <= MAX_SHIFT_DAYS for s in shifts)
    assert len(shifts) > 50
    assert date_shift_days("TB-AAAAAA") == date_shift_days("TB-AAAAAA")
