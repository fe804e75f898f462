"""`thermablate send_reminders`: send the follow-up invitations and reminders that are due.

Idempotent: run it every few minutes from cron or a systemd timer (the background worker also
runs it every 5 minutes); running it twice, or two at once, sends nothing twice."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from thermablate.proms import sender


class Command(BaseCommand):
    help = "Send the follow-up questionnaire invitations and reminders that are due."

    def handle(self, *args, **options):
        try:
            summary = sender.run()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(summary))
