"""CSV imports are all or nothing, with a per-row error report, even if the process is killed."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from nhs_number import REGION_SYNTHETIC, calculate_checksum

from thermablate.registry.models import AuditEvent, Patient


def valid_numbers(count: int, start: int = 900000000) -> list[str]:
    numbers = []
    stem = start
    while len(numbers) < count:
        check = calculate_checksum(str(stem))
        if check is not None and check != 10:
            numbers.append(f"{stem}{check}")
        stem += 1
    assert REGION_SYNTHETIC.ranges[0].start <= int(numbers[0])
    return numbers


def write_patients(path, rows):
    path.write_text(
        "nhs_number,year_of_birth,sex\n" + "".join(f"{n},{y},{s}\n" for n, y, s in rows)
    )


def test_a_clean_file_imports_every_row(tmp_path, coordinator):
    csv_file = tmp_path / "patients.csv"
    write_patients(csv_file, [(n, 1950, "male") for n in valid_numbers(3)])
    call_command("import", "patients", str(csv_file), "--as", coordinator.username)
    assert Patient.objects.count() == 3
    assert (
        AuditEvent.objects.filter(model="patient", action="create", actor=coordinator).count() == 3
    )


def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(tmp_path, coordinator, capsys):
    good = valid_numbers(3)
    csv_file = tmp_path / "patients.csv"
    write_patients(
        csv_file,
        [
            (good[0], 1950, "male"),
            ("1234567890", 1950, "male"),
            (good[1], 1850, "female"),
            (good[0], 1951, "male"),
        ],
    )
    with pytest.raises(CommandError, match="nothing imported: 3 of 4 rows refused"):
        call_command("import", "patients", str(csv_file), "--as", coordinator.username)
    errors = capsys.readouterr().err
    assert (
        "line 3: nhs_number" in errors
        and "line 4: year_of_birth" in errors
        and "line 5: nhs_number" in errors
    )
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(model="patient").exists()


def test_assessments_import_against_the_schedule(tmp_path, coordinator, procedure):
    csv_file = tmp_path / "assessments.csv"
    day = procedure.procedure_date + timedelta(days=30)
    csv_file.write_text(
        "registry_number,procedure_date,timepoint,assessed_on,pain_worst,pain_average,drug,dose,unit,route,doses_per_day\n"
        f"{procedure.patient.registry_number},{procedure.procedure_date},1m,{day},3,2,morphine,10,mg,oral,2\n"
    )
    call_command("import", "assessments", str(csv_file), "--as", coordinator.username)
    month = procedure.assessments.get(timepoint="1m")
    assert month.pain_worst == 3 and month.analgesics.get().drug == "morphine"


def test_an_analyst_cannot_import(tmp_path, analyst):
    csv_file = tmp_path / "patients.csv"
    write_patients(csv_file, [])
    with pytest.raises(CommandError, match="may not enter clinical records"):
        call_command("import", "patients", str(csv_file), "--as", analyst.username)


@pytest.mark.slow
def test_killing_an_import_half_way_leaves_the_database_as_it_was(tmp_path):
    env = {**os.environ, "THERMABLATE_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)  # its own embedded database, whatever the suite runs on

    def thermablate(*args, **kwargs):
        return subprocess.run(
            [sys.executable, "-m", "thermablate.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
            **kwargs,
        )

    thermablate("migrate", "--no-input", "-v0")
    thermablate("demo", "--patients", "0")
    csv_file = tmp_path / "big.csv"
    write_patients(csv_file, [(n, 1960, "female") for n in valid_numbers(4000)])
    importer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thermablate.cli",
            "import",
            "patients",
            str(csv_file),
            "--as",
            "coordinator-ngh",
            "--progress",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for line in importer.stdout:
            if line.startswith("row 300"):  # well into the import, far from its end
                break
        importer.send_signal(signal.SIGKILL)
    finally:
        importer.wait(timeout=60)
    assert importer.returncode == -signal.SIGKILL
    count = thermablate(
        "shell",
        "-c",
        "from thermablate.registry.models import Patient; print(Patient.objects.count())",
    )
    assert count.stdout.strip().splitlines()[-1] == "0"
    verify = thermablate("audit", "verify")
    assert "intact" in verify.stdout
