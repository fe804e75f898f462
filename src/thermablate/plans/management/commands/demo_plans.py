"""``thermablate demo_plans``: queue a few plans of the demo's lesions, so the demo shows the
worker at work (``make run`` runs it after ``thermablate demo``). Never on a real database:
like the demo, it writes as the demo's clinicians."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from thermablate.planning.lesion_plan import CannotPlan, default_options
from thermablate.plans import actions
from thermablate.plans.models import Plan
from thermablate.registry.models import Lesion, StaffProfile


class Command(BaseCommand):
    help = "Queue plans of a few demo lesions (for the demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--per-site", type=int, default=2, help="plans per site (default 2)")

    def handle(self, *args, per_site: int, **options):
        if Plan.objects.exists():
            self.stdout.write("Plans exist already: none queued.")
            return
        for staff in StaffProfile.objects.filter(role="clinician", user__username__endswith="-ngh"
                                                 ).select_related("site", "user")[:1]:  # fmt: skip
            self._queue(staff, per_site)
        for staff in StaffProfile.objects.filter(role="clinician", user__username__endswith="-sfh"
                                                 ).select_related("site", "user")[:1]:  # fmt: skip
            self._queue(staff, per_site)

    def _queue(self, staff, per_site: int) -> None:
        queued = 0
        lesions = Lesion.objects.live().filter(patient__site=staff.site).order_by("pk")
        for lesion in lesions:
            if queued == per_site:
                break
            facts = actions.lesion_facts(lesion)
            try:
                options = default_options(facts, actions.device_library(staff.site))
                plan = actions.create_plan(
                    lesion, options, name="Demo: default settings", acting_user=staff.user
                )
            except (CannotPlan, ValidationError):
                continue  # a lesion the model cannot draw: the demo's page says why
            queued += 1
            self.stdout.write(f"Queued plan {plan.pk} of {lesion} ({staff.site.code}).")
