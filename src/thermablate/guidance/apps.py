from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GuidanceConfig(AppConfig):
    name = "thermablate.guidance"
    label = "guidance"
    verbose_name = "NICE guidance and local approval"

    def ready(self):
        from thermablate.guidance.actions import load_shipped_catalogue

        # The application ships with the guidance for its procedures already loaded.
        post_migrate.connect(load_shipped_catalogue, sender=self)
