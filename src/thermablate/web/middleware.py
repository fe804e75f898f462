import logging
import sqlite3
import sys
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.signals import got_request_exception
from django.db import OperationalError
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.templatetags.static import static
from django.utils.html import format_html

from thermablate.web.client import is_trusted_proxy


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


class TrustedProxyHeaders:
    """Remove X-Forwarded-* headers from requests that do not come from a trusted proxy.

    Django believes X-Forwarded-Proto from whoever sends it once SECURE_PROXY_SSL_HEADER is
    set, so a client reaching the server directly could pose as HTTPS. First in the
    middleware list, before anything reads the headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for key in [k for k in request.META if k.startswith("HTTP_X_FORWARDED_")]:
                del request.META[key]
        return self.get_response(request)


SIGNED_IN_AT_SESSION_KEY = "thermablate_signed_in_at"


@receiver(user_logged_in, dispatch_uid="thermablate_record_sign_in_time")
def _record_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT_SESSION_KEY] = time.time()


class AbsoluteSessionLifetime:
    """Sign a session out once it is SESSION_MAX_AGE_S old, however active it has been.

    The idle timeout alone lets a session kept busy (or a stolen cookie kept in use) live for
    ever. The age counts from the sign-in, recorded in the session when the user signs in; a
    session signed in before this rule existed is given the time it is first seen.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            signed_in_at = request.session.setdefault(SIGNED_IN_AT_SESSION_KEY, time.time())
            if not isinstance(signed_in_at, int | float) or (
                time.time() - signed_in_at > settings.SESSION_MAX_AGE_S
            ):
                logout(request)  # the request goes on signed out: sign-in page or API 401
                hours = settings.SESSION_MAX_AGE_S / 3600
                messages.info(
                    request,
                    f"You were signed out after being signed in for {hours:g} hours, the "
                    "longest a session may last. Please sign in again.",
                    fail_silently=True,
                )
        return self.get_response(request)


class ContentSecurityPolicy:
    """Send our Content-Security-Policy on every response (Django 5.2 has none built in).

    Nothing comes from another host (DESIGN.md): every fetch directive allows only our own
    origin, so a page cannot stall on a network without internet, nor leak to a third party
    who read it. The NHS.UK stylesheet's remote Frutiger @font-face is dropped when it is
    vendored (scripts/vendor-assets.sh); the font stack falls back to Arial. No inline script.
    The policy is written here rather than read from settings because it is a property of our
    pages, not of a deployment: a host may not widen it.
    """

    DIRECTIVES = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    POLICY = "; ".join(f"{name} {sources}" for name, sources in DIRECTIVES.items())

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.POLICY)
        return response


class TwoFactorWhereRequired:
    """After the password, ask for an authenticator code from users who set one up, and make
    users whose role requires it (RoleSecurityPolicy, set by an administrator) set one up.

    Until then a session reaches only the page of its pending step, and signing in or out: not
    even the other two-factor page, since setting up a new authenticator would let a session
    with only the password skip the code. The rule is ``pending_second_factor``, which the
    API's session sign-in applies too (answering in JSON); bearer tokens are not asked.
    """

    ALWAYS_REACHABLE = {"logout", "login"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and not request.path_info.startswith(("/static/", "/api/")):
            # Imported here: the models behind the rule load only once the apps are ready.
            from django.urls import Resolver404, resolve

            from thermablate.registry.sign_in import pending_second_factor
            from thermablate.web.two_factor import redirect_to_step

            step = pending_second_factor(user)
            if step is not None:
                try:
                    name = resolve(request.path_info).url_name
                except Resolver404:
                    name = None
                if name not in {step.page, *self.ALWAYS_REACHABLE}:
                    return redirect_to_step(step, request)
        return self.get_response(request)


logger = logging.getLogger(__name__)

# How long a client is told to wait after the database was busy. The write that timed out
# had already waited the SQLite busy timeout (20 s); a long import usually ends within a minute.
DATABASE_BUSY_RETRY_AFTER_S = 30
DATABASE_BUSY_MESSAGE = (
    "Another task, such as a large import, is writing to the database, and this request "
    "could not wait any longer for it. Wait a minute, then try again. If you were saving a "
    "change, check whether it was saved before you enter it again."
)
_DATABASE_LOCKED_MARK = "_thermablate_database_locked"


def is_database_locked(error: BaseException | None) -> bool:
    """SQLite's error when another connection still holds the write lock after the busy
    timeout ('database is locked'; Django re-raises sqlite3's error as its own class)."""
    return isinstance(error, OperationalError | sqlite3.OperationalError) and (
        "database is locked" in str(error)
    )


def _caused_by_locked_database(error: BaseException | None) -> bool:
    while error is not None:
        if is_database_locked(error):
            return True
        error = error.__cause__ or error.__context__
    return False


@receiver(got_request_exception, dispatch_uid="thermablate_note_database_locked")
def _note_database_locked(sender, request=None, **kwargs):
    # Django turns an exception raised in a middleware (signing out a session past its
    # lifetime deletes it, for one) into a 500 before the middleware outside sees the response;
    # the signal is sent while the exception is being handled, so it can still be told apart.
    if request is not None and is_database_locked(sys.exc_info()[1]):
        setattr(request, _DATABASE_LOCKED_MARK, True)


class DatabaseBusy:
    """Answer 503 with Retry-After, never 500, when SQLite stays locked past the busy timeout.

    The settings make a write wait for the lock (IMMEDIATE transactions, a busy timeout), so
    this answers only what still times out, such as a save during a long import: JSON for the
    API (``{"detail": ...}``, like its other errors), a short page otherwise, and a warning in
    the log. The answer does not claim that nothing was saved: when the session is what timed
    out, the view's own transaction had already committed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _DATABASE_LOCKED_MARK, False):
            return database_busy_response(request, "a middleware")
        return response

    def process_exception(self, request, exception):
        if is_database_locked(exception):
            return database_busy_response(request, "the view")
        return None


class SessionSavedOrDatabaseBusy(SessionMiddleware):
    """Django's session middleware, except that a session save that times out on the lock
    answers like DatabaseBusy. Django reports that failure as SessionInterrupted, a 400
    saying the user may have signed out elsewhere, which is not what happened."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except SessionInterrupted as interrupted:
            if _caused_by_locked_database(interrupted):
                return database_busy_response(request, "saving the session")
            raise


def database_busy_response(request, where: str) -> HttpResponse:
    logger.warning(
        "Database locked: %s %s answered 503 (%s still found the write lock held after the "
        "busy timeout)",
        request.method,
        request.path,
        where,
    )
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": DATABASE_BUSY_MESSAGE}, status=503)
    else:
        response = HttpResponse(_busy_page(), status=503)
    response["Retry-After"] = str(DATABASE_BUSY_RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def _busy_page() -> str:
    # Self-contained, with no template context: nothing here reads the database that just
    # failed, so the answer itself cannot fail the same way.
    return format_html(
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>The service is busy – Thermablate</title>"
        '<link rel="stylesheet" href="{}"></head><body>'
        '<div class="nhsuk-width-container"><main class="nhsuk-main-wrapper" id="maincontent">'
        "<h1>The service is busy</h1><p>{}</p></main></div></body></html>\n",
        static("vendor/nhsuk/nhsuk-frontend.min.css"),
        DATABASE_BUSY_MESSAGE,
    )
