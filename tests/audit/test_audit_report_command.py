"""thermablate report: the governance committee report and the appraisal report from the command line."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_it_writes_the_committee_report_as_html(tmp_path, recorded_cohort, site_a):
    out = tmp_path / "report.html"
    call_command("report", "--site", site_a.code, "--format", "html", "--out", str(out))
    text = out.read_text()
    assert "governance committee report" in text and "Site A Hospital" in text
    assert recorded_cohort["patient"].nhs_number not in text


@pytest.mark.slow  # WeasyPrint renders a PDF: seconds
def test_it_writes_the_committee_report_as_pdf_for_a_period_and_procedure(
    tmp_path, recorded_cohort, site_a
):
    out = tmp_path / "report.pdf"
    day = recorded_cohort["procedure"].procedure_date
    call_command(
        "report",
        "--site",
        site_a.code,
        "--procedure",
        "rfa_vertebroplasty",
        "--from",
        day.isoformat(),
        "--to",
        day.isoformat(),
        "--format",
        "pdf",
        "--out",
        str(out),
    )
    assert out.read_bytes().startswith(b"%PDF")


def test_it_writes_an_operators_appraisal_report(tmp_path, recorded_cohort, site_a, clinician):
    out = tmp_path / "appraisal.html"
    call_command(
        "report",
        "--site",
        site_a.code,
        "--operator",
        clinician.username,
        "--format",
        "html",
        "--out",
        str(out),
    )
    assert "Annual appraisal" in out.read_text()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--site", "nowhere"],
        ["--site", "site-a", "--from", "2026-13-01"],
        ["--site", "site-a", "--from", "2026-05-01", "--to", "2026-01-01"],
        ["--site", "site-a", "--operator", "nobody"],
    ],
)
def test_it_refuses_bad_arguments_and_writes_nothing(tmp_path, site_a, arguments):
    out = tmp_path / "report.html"
    with pytest.raises(CommandError):
        call_command("report", *arguments, "--format", "html", "--out", str(out))
    assert not out.exists()
