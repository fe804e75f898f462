from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.audit_trail import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools: `verify` checks that no entry was edited, inserted or deleted."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action, **options):
        report = verify_chain()
        if not report.intact:
            for problem in report.problems[:20]:
                self.stderr.write(problem)
            if len(report.problems) > 20:
                self.stderr.write(f"... and {len(report.problems) - 20} more")
            raise CommandError(
                f"audit trail broken: {len(report.problems)} problem(s) in {report.checked} entries"
            )
        self.stdout.write(
            f"audit trail intact: {report.checked} entries, each chained to the one before"
        )
