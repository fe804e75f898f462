"""thermablate report --site SITE [--procedure P] [--from D] [--to D] --format pdf|html --out FILE
[--operator USERNAME]: the governance committee report, or an operator's appraisal report."""

from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from thermablate.audit import reports
from thermablate.audit.queries import CohortFilter
from thermablate.registry import choices as c
from thermablate.registry.models import Site


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Write the outcomes audit report of a site (governance committee) or of one operator (appraisal)."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="site code")
        parser.add_argument("--procedure", choices=c.ProcedureType.values, help="procedure type")
        parser.add_argument("--guidance", help="NICE guidance key, e.g. HTG670")
        parser.add_argument("--from", dest="date_from", help="first procedure date, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="last procedure date, YYYY-MM-DD")
        parser.add_argument("--format", choices=["pdf", "html"], required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--operator", help="username: write that operator's appraisal report")

    def handle(self, *args, **options):
        site = Site.objects.filter(code=options["site"].lower()).first()
        if site is None:
            raise CommandError(f"no site with code {options['site']!r}")
        date_from = _date(options["date_from"]) if options["date_from"] else None
        date_to = _date(options["date_to"]) if options["date_to"] else None
        if date_from and date_to and date_from > date_to:
            raise CommandError("--from must not be after --to")
        cohort = CohortFilter(
            site=site,
            procedure_type=options["procedure"],
            guidance=options["guidance"],
            date_from=date_from,
            date_to=date_to,
        )
        if options["operator"]:
            operator = (
                get_user_model()
                .objects.filter(username=options["operator"], staff__site=site)
                .first()
            )
            if operator is None:
                raise CommandError(f"no operator {options['operator']!r} at {site.code}")
            template = "audit/appraisal.html"
            context = reports.appraisal_context(
                cohort, operator.pk, operator.get_full_name() or operator.username
            )
        else:
            template = "audit/report.html"
            context = reports.governance_context(cohort)
        out = Path(options["out"])
        if options["format"] == "pdf":
            out.write_bytes(reports.render_pdf(template, context))
        else:
            out.write_text(reports.render_html(template, context), encoding="utf-8")
        self.stdout.write(f"Wrote {out} ({cohort.describe()}).")
