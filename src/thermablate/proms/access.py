"""Access to patient-reported outcomes' staff pages: the registry's rule (the user's own
site; another site's record is a 404) with this app's permissions. Contact details are
personal data: only the roles that contact patients (clinicians and coordinators) hold
``proms.view_contactdetails``."""

from django.http import Http404

from thermablate.proms.models import Invitation
from thermablate.registry.access import get_patient, require

__all__ = ["get_invitation", "get_patient", "require"]


def get_invitation(user, invitation_id: int, permission: str) -> Invitation:
    staff = require(user, permission)
    try:
        return Invitation.objects.select_related(
            "assessment__patient__site", "assessment__procedure"
        ).get(pk=invitation_id, assessment__patient__site=staff.site)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation at your site.") from None
