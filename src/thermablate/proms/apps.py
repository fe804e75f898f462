from django.apps import AppConfig


class PromsConfig(AppConfig):
    name = "thermablate.proms"
    label = "proms"
    verbose_name = "Patient-reported outcomes"

    def ready(self):
        # The registry's pages show contact details and invitations through its extension
        # points, so the registry never imports this app (imports run only downward).
        from thermablate.proms import hooks

        hooks.register()
