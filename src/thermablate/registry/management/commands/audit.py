"""``thermablate audit verify [--anchors FILE]`` and ``thermablate audit head --out FILE | --syslog``."""

import os
import syslog
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.audit_trail import (
    ANCHOR_KEY_VARIABLE,
    AnchorError,
    AnchorKeyError,
    anchor_key,
    append_anchor,
    current_anchor,
    read_anchors,
    verify_chain,
)

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = (
        "Audit trail tools: `verify` checks that no entry was edited, inserted or deleted "
        "(against the anchors in a file with --anchors); `head` writes a signed anchor of the "
        "chain's head outside the database."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser("verify", help="check every entry of the chain")
        verify.add_argument(
            "--anchors",
            type=Path,
            help="a file written by `audit head --out`: the chain must still reach every "
            f"anchor in it (needs {ANCHOR_KEY_VARIABLE})",
        )
        head = actions.add_parser(
            "head",
            help=f"append the chain's head, signed with {ANCHOR_KEY_VARIABLE}, to a file or syslog",
        )
        head.add_argument("--out", type=Path, help="append the anchor to this file (created 0600)")
        head.add_argument(
            "--syslog", action="store_true", help="send the anchor to syslog (facility auth)"
        )

    def handle(self, *args, action, **options):
        if action == "head":
            self.write_anchor(options.get("out"), options.get("syslog"))
        else:
            self.verify(options.get("anchors"))

    def key(self) -> bytes:
        try:
            return anchor_key(os.environ)
        except AnchorKeyError as exc:
            raise CommandError(str(exc)) from None

    def write_anchor(self, out: Path | None, to_syslog: bool) -> None:
        if out is None and not to_syslog:
            raise CommandError(
                "say where the anchor goes: --out FILE (on another volume or host) and/or --syslog"
            )
        key = self.key()
        try:
            line = current_anchor().signed_line(key)
        except AnchorError as exc:
            raise CommandError(str(exc)) from None
        if out is not None:
            try:
                append_anchor(out, line)
            except OSError as exc:
                raise CommandError(f"cannot write the anchor to {out}: {exc.strerror}") from None
        if to_syslog:
            syslog.openlog("thermablate-audit", 0, syslog.LOG_AUTH)
            syslog.syslog(syslog.LOG_NOTICE, f"audit anchor {line}")
        self.stdout.write(line)

    def verify(self, anchors_file: Path | None) -> None:
        anchors, problems = [], []
        if anchors_file is not None:
            key = self.key()
            try:
                anchors, problems = read_anchors(anchors_file, key)
            except OSError as exc:
                raise CommandError(f"cannot read {anchors_file}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise CommandError(f"{anchors_file} is not a file of anchors") from None
            if not anchors and not problems:
                raise CommandError(
                    f"{anchors_file} holds no anchors: is `thermablate audit head --out` running?"
                )
        report = verify_chain(anchors)
        problems += report.problems
        if problems:
            for problem in problems[:SHOWN_PROBLEMS]:
                self.stderr.write(problem)
            if len(problems) > SHOWN_PROBLEMS:
                self.stderr.write(f"... and {len(problems) - SHOWN_PROBLEMS} more")
            raise CommandError(
                f"audit trail broken: {len(problems)} problem(s) in {report.checked} entries"
            )
        message = f"audit trail intact: {report.checked} entries, each chained to the one before"
        if anchors:
            newest = max(anchors, key=lambda anchor: anchor.anchored_at)
            message += (
                f"; consistent with {len(anchors)} anchor(s), the newest written "
                f"{newest.anchored_at} ({newest.entries} entries)"
            )
        self.stdout.write(message)
