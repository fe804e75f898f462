"""Permissions of the audit pages, held by a model without a table.

Django attaches permissions to models; the audit has no data of its own (its figures are
computed from the registry), so an unmanaged model with no default permissions carries them.
"""

from django.db import models


class AuditAccess(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can see the site's outcomes audit dashboard and reports"),
            ("view_any_appraisal", "Can see the appraisal report of any operator of the site"),
        ]

    def __str__(self) -> str:
        return "Audit access"
