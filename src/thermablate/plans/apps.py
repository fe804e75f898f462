from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "thermablate.plans"
    label = "plans"
    verbose_name = "Ablation plans"

    def ready(self):
        # The registry's pages show a patient's plans through its extension points, so the
        # registry never imports this app (imports run only downward).
        from thermablate.plans import hooks

        hooks.register()
