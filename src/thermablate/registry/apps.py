from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "thermablate.registry"
    label = "registry"
    verbose_name = "Registry"

    def ready(self):
        from thermablate.registry.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self)
