"""Two-factor authentication with a TOTP authenticator app (django-otp, RFC 6238).

Which sessions still owe a second factor is decided by one rule, ``pending_second_factor``,
shared with the API's session sign-in (see ``thermablate.registry.api``).
"""

import base64
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from thermablate.registry.sign_in import (
    ENTER_CODE,
    SecondFactorStep,
    has_confirmed_authenticator,
    session_is_verified,
)
from thermablate.web.forms import NhsFormMixin

# The unconfirmed authenticator whose key this session, and only this session, was shown.
PENDING_DEVICE_SESSION_KEY = "two_factor_setup_device_id"


class TokenForm(NhsFormMixin, forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, {request.get_host()}) else "/"


def redirect_to_step(step: SecondFactorStep, request) -> HttpResponseRedirect:
    """Send the user to the page of the step, and back to where they were going afterwards."""
    return HttpResponseRedirect(
        f"{reverse(step.page)}?{urlencode({'next': request.get_full_path()})}"
    )


def _pending_device(request) -> tuple[TOTPDevice, bool]:
    """The authenticator this session is setting up, and whether it was only now created.

    A key is shown to one session only. An abandoned set-up's device is never offered to
    another session, and is deleted when a new set-up starts: otherwise whoever saw its key
    (someone with the password, before the user set up two-factor) would share the codes of
    the authenticator the user confirms next.
    """
    device_id = request.session.get(PENDING_DEVICE_SESSION_KEY)
    if device_id is not None:
        device = TOTPDevice.objects.filter(pk=device_id, user=request.user, confirmed=False).first()
        if device is not None:
            return device, False
    TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=request.user, name="Authenticator app", confirmed=False)
    request.session[PENDING_DEVICE_SESSION_KEY] = device.pk
    return device, True


def two_factor_setup(request):
    # Adding an authenticator must need the one already there: a session that gave only the
    # password could otherwise enrol its own, and confirming it would verify the session.
    # TwoFactorWhereRequired sends such sessions to the code page too; this check keeps the
    # page safe should the middleware be moved or dropped.
    if has_confirmed_authenticator(request.user) and not session_is_verified(request.user):
        return redirect_to_step(ENTER_CODE, request)
    device, just_created = _pending_device(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if just_created:
            form.add_error(
                "token",
                "This set-up was started again elsewhere: add the key below to your "
                "authenticator app, then enter the code it shows.",
            )
        elif device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save()
            del request.session[PENDING_DEVICE_SESSION_KEY]
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is set up.")
            return redirect(_next(request))
        else:
            form.add_error(
                "token", "That code is not right, or has expired: enter the current code."
            )
    context = {
        "form": form,
        "secret": base64.b32encode(device.bin_key).decode(),
        "config_url": device.config_url,
        "next": _next(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


def two_factor_verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Only confirmed devices: the key of an unfinished set-up may have been seen by anyone
        # who had the password (django-otp's middleware refuses unconfirmed devices as well).
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(_next(request))
        form.add_error("token", "That code is not right, or has expired: enter the current code.")
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next(request)}
    )
