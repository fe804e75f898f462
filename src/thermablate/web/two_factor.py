"""Two-factor authentication with a TOTP authenticator app (django-otp, RFC 6238)."""

import base64

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from thermablate.registry.forms import NhsFormMixin
from thermablate.registry.models import RoleSecurityPolicy, StaffProfile


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def role_requires_two_factor(user) -> bool:
    try:
        role = user.staff.role
    except StaffProfile.DoesNotExist:
        return False
    return RoleSecurityPolicy.objects.filter(role=role, require_two_factor=True).exists()


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


def two_factor_setup(request):
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=request.user, name="Authenticator app", confirmed=False
        )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save()
            otp_login(request, device)
            messages.success(request, "Two-factor authentication is set up.")
            return redirect(_next(request))
        form.add_error("token", "That code is not right, or has expired: enter the current code.")
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "secret": secret,
        "config_url": device.config_url,
        "next": _next(request),
    }
    return render(request, "registration/two_factor_setup.html", context)


def two_factor_verify(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(_next(request))
        form.add_error("token", "That code is not right, or has expired: enter the current code.")
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next(request)}
    )
