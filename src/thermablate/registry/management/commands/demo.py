from django.core.management.base import BaseCommand, CommandError

from thermablate.registry.demo import DemoBuilder, create_demo_approvals, create_demo_users
from thermablate.registry.models import Patient


class Command(BaseCommand):
    help = "Fill the database with demo users for every role and a synthetic cohort (reproducible with --seed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=60, help="patients per demo site (default 60)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument(
            "--add", action="store_true", help="add patients even if the demo cohort exists"
        )

    def handle(self, *args, patients, seed, add, **options):
        if patients < 0 or patients > 100_000:
            raise CommandError("--patients must be between 0 and 100000")
        users = create_demo_users()
        create_demo_approvals()
        if (
            Patient.objects.filter(site__staff__user__username__endswith="-ngh").exists()
            and not add
        ):
            self.stdout.write("The demo cohort is already loaded (use --add to add more patients).")
        else:
            created = DemoBuilder(seed).build(patients)
            self.stdout.write(
                f"Created {created} synthetic patients across the demo sites (seed {seed})."
            )
        self.stdout.write("Demo users (every password is shown; for demonstration only):")
        for user in users:
            self.stdout.write(
                f"  {user.username:<22} {user.role:<14} site {user.site}  password: {user.password}"
            )
