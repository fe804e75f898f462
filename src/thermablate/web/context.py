import contextlib

import thermablate
from thermablate.registry.models import StaffProfile


def staff_context(request):
    """The signed-in user's site and role, for the header of every page."""
    user = getattr(request, "user", None)
    context = {"THERMABLATE_VERSION": thermablate.__version__}
    if user is None or not user.is_authenticated:
        return context
    with contextlib.suppress(StaffProfile.DoesNotExist):
        context["current_staff"] = user.staff
    return context
