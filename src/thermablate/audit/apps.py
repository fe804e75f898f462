from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "thermablate.audit"
    label = "audit"
    verbose_name = "Audit and governance"

    def ready(self):
        from thermablate.audit import summaries

        summaries.connect_signals()
