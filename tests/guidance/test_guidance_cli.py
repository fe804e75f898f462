import json
import subprocess
import sys
from pathlib import Path

from thermablate.guidance.cli import parse_main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_it_prints_a_json_list_of_records(capsys):
    files = [str(FIXTURES / "replaced_notice.txt"), str(FIXTURES / "coding_page.html")]
    assert parse_main([*files, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in records] == ["replaced_notice", "coding"]
    assert records[0]["source"] == files[0]
    assert records[1]["dates"] == {"last_updated": "2009-09-15"}


def test_it_prints_a_readable_summary_without_json(capsys):
    assert parse_main([str(FIXTURES / "in_development_key_events.txt")]) == 0
    out = capsys.readouterr().out
    assert "in_development ID 1314" in out
    assert "ipac_1 2023-11-09" in out
    assert "could not read: title" in out


def test_it_fails_with_one_line_and_exit_2_for_a_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    assert parse_main([str(FIXTURES / "replaced_notice.txt"), str(missing), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing half-printed
    assert captured.err.count("\n") == 1 and str(missing) in captured.err


def test_it_reads_windows_1252_files(tmp_path, capsys):
    page = tmp_path / "ipg5.txt"
    page.write_bytes(
        "Guidance\n\nThis guidance has been updated and replaced by NICE guideline CG41 \x96 see it.\n".encode(
            "latin-1"
        )
    )
    assert parse_main([str(page), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert (record["guidance_id"], record["replaced_by"]) == ("IPG5", ["CG41"])


def test_the_console_script_routes_guidance_parse(capsys):
    from thermablate.cli import main

    assert (
        main(["thermablate", "guidance", "parse", str(FIXTURES / "replaced_notice.txt"), "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["replaced_by"] == ["IPG508"]


def test_the_parser_and_its_command_never_import_django():
    code = (
        "import sys, thermablate.guidance.cli, thermablate.guidance.catalogue, thermablate.clinical.opcs; "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
