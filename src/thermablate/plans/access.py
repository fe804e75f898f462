"""Access to plans: the registry's rule (the user's own site; another site's plan is a 404)
with the plans' own permissions."""

from django.http import Http404

from thermablate.plans.models import Plan
from thermablate.registry.access import get_record, require

__all__ = ["get_lesion", "get_plan", "require"]
from thermablate.registry.models import Lesion


def get_plan(user, plan_id: int, permission: str = "plans.view_plan") -> Plan:
    staff = require(user, permission)
    try:
        return Plan.objects.select_related("patient", "lesion", "created_by").get(
            pk=plan_id, patient__site=staff.site
        )
    except Plan.DoesNotExist:
        raise Http404("No such plan at your site.") from None


def get_lesion(user, lesion_id: int, permission: str) -> Lesion:
    require(user, permission)
    lesion = get_record(user, Lesion, lesion_id, "registry.view_lesion")
    if lesion.entered_in_error:
        raise Http404("This lesion is marked entered in error.")
    return lesion
