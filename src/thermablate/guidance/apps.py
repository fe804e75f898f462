from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """The NICE guidance catalogue. A leaf: it imports no other app. Its writer (and the
    loading of the shipped catalogue after migrate) is the registry's, with the audit trail."""

    name = "thermablate.guidance"
    label = "guidance"
    verbose_name = "NICE guidance"
