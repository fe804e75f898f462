"""``thermablate guidance parse FILE [FILE...] [--json]``: read NICE documents, no database needed."""

import argparse
import json
import sys
from pathlib import Path

from thermablate.guidance.parser import parse
from thermablate.guidance.record import GuidanceRecord

EXIT_OK = 0
EXIT_USAGE = 2


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thermablate guidance parse",
        description="Read NICE guidance documents (plain text, HTML or PDF text) into structured records.",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="a NICE document saved as text or HTML"
    )
    parser.add_argument("--json", action="store_true", help="print the records as a JSON list")
    return parser


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old NICE pages saved from a browser are often Windows-1252.
        return data.decode("cp1252", errors="replace")


def summary(record: GuidanceRecord) -> str:
    """A few readable lines about one record."""
    heading = record.guidance_id or (f"ID {record.project_id}" if record.project_id else "(no id)")
    lines = [f"{record.source}: {record.kind} {heading}"]
    if record.title:
        lines.append(f"  title: {record.title}")
    for name in ("status", "decision", "technology_type", "process", "recommendation"):
        value = getattr(record, name)
        if value:
            lines.append(f"  {name.replace('_', ' ')}: {value}")
    for name in (
        "conditions",
        "replaces",
        "replaced_by",
        "opcs_codes",
        "key_efficacy_outcomes",
        "key_safety_outcomes",
    ):
        values = getattr(record, name)
        if values:
            lines.append(f"  {name.replace('_', ' ')}: {'; '.join(values)}")
    if record.dates:
        lines.append(
            "  dates: " + ", ".join(f"{k} {v.isoformat()}" for k, v in record.dates.items())
        )
    if record.unparsed:
        lines.append(f"  could not read: {', '.join(record.unparsed)}")
    lines.extend(f"  note: {note}" for note in record.notes)
    return "\n".join(lines)


def parse_main(argv: list[str]) -> int:
    """Entry point for ``thermablate guidance parse``; argv is what follows ``parse``."""
    options = _arguments().parse_args(argv)
    texts: list[tuple[str, str]] = []
    # Read every file first, so a bad path fails the command before anything is printed.
    for name in options.files:
        path = Path(name)
        try:
            texts.append((name, _read(path)))
        except OSError as error:
            reason = error.strerror or str(error)
            print(f"thermablate guidance parse: cannot read {name}: {reason}", file=sys.stderr)
            return EXIT_USAGE
    records = [parse(text, source=name) for name, text in texts]
    if options.json:
        print(json.dumps([record.to_dict() for record in records], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(summary(record) for record in records))
    return EXIT_OK
