from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponseBadRequest, JsonResponse


class LoginRequiredEverywhere(LoginRequiredMiddleware):
    """Deny by default: every page needs a signed-in user unless marked ``@login_not_required``.

    The JSON API is left to its own authentication (session or bearer token), which answers
    401 rather than redirecting a machine client to a login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RejectNulBytes:
    """Refuse a request whose path or query string carries a NUL byte (400).

    No legitimate client sends one, and PostgreSQL cannot store or even compare text that
    contains it: without this check such a URL would surface as a server error. The JSON API
    gets its answer as JSON, in the shape of its other errors, as its schema documents.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            "\x00" in request.path
            or "\x00" in request.META.get("QUERY_STRING", "")
            or "%00" in request.META.get("QUERY_STRING", "")
        ):
            message = "NUL bytes are not allowed in a URL."
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class ContentSecurityPolicy:
    """Send the Content-Security-Policy from settings on every response (Django 5.2 has none
    built in): no inline script, nothing from other origins except the NHS font host."""

    def __init__(self, get_response):
        from django.conf import settings

        self.policy = settings.CONTENT_SECURITY_POLICY
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class TwoFactorWhereRequired:
    """After the password, ask for an authenticator code from users who set one up, and make
    users whose role requires it (RoleSecurityPolicy, set by an administrator) set one up.

    Machine clients of the API authenticate with bearer tokens and are not asked.
    """

    EXEMPT_NAMES = {"two_factor_verify", "two_factor_setup", "logout", "login"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(("/static/", "/api/"))
        ):
            from django.urls import Resolver404, resolve

            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in self.EXEMPT_NAMES:
                from thermablate.web.two_factor import has_device, role_requires_two_factor

                if has_device(user):
                    return redirect_to("two_factor_verify", request)
                if role_requires_two_factor(user):
                    return redirect_to("two_factor_setup", request)
        return self.get_response(request)


def redirect_to(name: str, request):
    from urllib.parse import urlencode

    from django.http import HttpResponseRedirect
    from django.urls import reverse

    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
