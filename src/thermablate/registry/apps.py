from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "thermablate.registry"
    label = "registry"
    verbose_name = "Registry"

    def ready(self):
        from thermablate.registry.actions import load_shipped_catalogue
        from thermablate.registry.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, sender=self)
        # The triggers that keep the data-quality findings (SQLite drops a table's triggers
        # when a migration rebuilds it): put back after every migrate.
        from thermablate.registry.findings_store import triggers_after_migrate

        post_migrate.connect(triggers_after_migrate, sender=self)
        # The application ships with the guidance for its procedures already loaded; the
        # catalogue's writer is the registry's (guidance imports no other app).
        post_migrate.connect(load_shipped_catalogue, sender=apps.get_app_config("guidance"))
        # Sign-ins, failed sign-ins, lock-outs and authenticator devices in the audit trail.
        from thermablate.registry.account_audit import connect_account_audit

        connect_account_audit()
        # A deactivated account's API tokens are revoked for good (registry.token_lifecycle).
        from thermablate.registry.token_lifecycle import connect_token_lifecycle

        connect_token_lifecycle()
