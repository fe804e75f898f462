"""Access helpers: every view and API operation fetches records through these.

A record of another site is answered with 404, not 403, so a user cannot even learn that
a registry number exists elsewhere.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from thermablate.registry.models import Assessment, Patient, Procedure, StaffProfile

# Marking a clinical record "entered in error", or undoing it (docs/corrections.md).
MARK_IN_ERROR_PERMISSION = "registry.mark_entered_in_error"


def staff_of(user) -> StaffProfile:
    """The user's site membership; users without one (or inactive) may not touch the registry."""
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied("Sign in first.")
    try:
        return user.staff
    except StaffProfile.DoesNotExist:
        raise PermissionDenied("Your account is not attached to a site.") from None


def require(user, permission: str) -> StaffProfile:
    staff = staff_of(user)
    if not user.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")
    return staff


def can_see_identifiers(user) -> bool:
    return user.is_authenticated and user.has_perm("registry.view_identifiers")


def patients_for(user, permission: str = "registry.view_patient"):
    staff = require(user, permission)
    return Patient.objects.filter(site=staff.site)


def get_patient(user, registry_number: str, permission: str = "registry.view_patient") -> Patient:
    try:
        return patients_for(user, permission).get(registry_number=registry_number)
    except Patient.DoesNotExist:
        raise Http404("No such patient at your site.") from None


def get_procedure(
    user, procedure_id: int, permission: str = "registry.view_procedure"
) -> Procedure:
    staff = require(user, permission)
    try:
        return Procedure.objects.select_related("patient", "lesion").get(
            pk=procedure_id, patient__site=staff.site
        )
    except Procedure.DoesNotExist:
        raise Http404("No such procedure at your site.") from None


def get_assessment(
    user, assessment_id: int, permission: str = "registry.view_assessment"
) -> Assessment:
    staff = require(user, permission)
    try:
        return Assessment.objects.select_related("patient", "procedure").get(
            pk=assessment_id, patient__site=staff.site
        )
    except Assessment.DoesNotExist:
        raise Http404("No such assessment at your site.") from None


def get_record(user, model, pk: int, permission: str):
    """A patient's record of any kind (lesion, MDT decision, ...) at the user's site."""
    staff = require(user, permission)
    try:
        return model._default_manager.select_related("patient").get(pk=pk, patient__site=staff.site)
    except model.DoesNotExist:
        raise Http404("No such record at your site.") from None
