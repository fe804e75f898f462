"""The administrator's pages: the accounts, staff profiles and site of their own site, and the
role security policies.

An administrator (a member of the "administrator" role group, not a superuser) manages only
accounts whose staff profile is at their own site, never a superuser's; cannot grant superuser
or staff status, permissions, groups or another site (those fields are not on their forms, and
a role's group and staff status follow from the role); and cannot change their own role or
site. Another site's account answers 404. Every account change is written to the hash-chained
audit trail (``registry.account_audit``). Clinical records have no admin page at all: they are
written only by ``registry.actions``.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin, sensitive_post_parameters_m
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.http import Http404
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from thermablate.registry.account_audit import (
    account_state,
    acting_as,
    record_account_change,
    record_password_set,
)
from thermablate.registry.actions import record_audit
from thermablate.registry.actions.base import create_audited, update_audited
from thermablate.registry.choices import Role
from thermablate.registry.models import RoleSecurityPolicy, Site, SiteDevice, StaffProfile


def _is_superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def _own_site(request) -> Site | None:
    profile = StaffProfile.objects.filter(user=request.user).select_related("site").first()
    return profile.site if profile else None


def apply_role(account: User, *, derive_staff: bool) -> None:
    """Make the account's groups and staff status follow its staff profile: exactly one role
    group, its role's; staff status (which opens the admin) only for administrators when
    ``derive_staff``. Groups that are not a role's are left as a superuser set them."""
    profile = StaffProfile.objects.filter(user=account).first()
    if profile is None:
        return
    other_groups = list(account.groups.exclude(name__in=Role.values))
    account.groups.set([*other_groups, Group.objects.get(name=profile.role)])
    if derive_staff:
        needs_admin = profile.role == Role.ADMINISTRATOR
        if account.is_staff != needs_admin:
            account.is_staff = needs_admin
            account.save(update_fields=["is_staff"])


def reset_two_factor(acting_user, account: User) -> None:
    """Remove the account's authenticator devices (each removal is audited by its signal)."""
    with acting_as(acting_user):
        TOTPDevice.objects.filter(user=account).delete()


class OwnSiteOnly(admin.ModelAdmin):
    """Superusers see every row; anyone else only the rows ``in_site`` keeps for their own
    site (none without a staff profile). A row outside answers 404 on every object page,
    rather than the admin's usual redirect, so its existence is not a different answer."""

    def in_site(self, queryset, site: Site, request):
        raise NotImplementedError

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if _is_superuser(request):
            return queryset
        site = _own_site(request)
        return queryset.none() if site is None else self.in_site(queryset, site, request)

    def _require_in_scope(self, request, object_id) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such record.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._require_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._require_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def has_add_permission(self, request):
        # New sites and stand-alone rows are a deployment decision, for a superuser.
        return _is_superuser(request)


# ---- accounts ----------------------------------------------------------------------------


class AccountChangeForm(UserChangeForm):
    reset_two_factor = forms.BooleanField(
        required=False,
        label="Reset two-factor authentication",
        help_text="Remove this user's authenticator app, for example when they lose their "
        "phone. They set up a new one at their next sign-in if their role requires it.",
    )


class StaffProfileInline(admin.StackedInline):
    """The account's role and site, on the account's own page."""

    model = StaffProfile
    verbose_name = verbose_name_plural = "Role and site"
    fields = ("site", "role")
    can_delete = False
    max_num = 1

    def _is_own_account(self, request, account) -> bool:
        return account is not None and account.pk == request.user.pk

    def get_min_num(self, request, obj=None, **kwargs):
        # Every account an administrator creates belongs to their site and has a role.
        return 0 if _is_superuser(request) else 1

    def get_formset(self, request, obj=None, **kwargs):
        # Refuse a crafted form that sends no profile at all, not only an empty one.
        kwargs.setdefault("validate_min", not _is_superuser(request))
        return super().get_formset(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if _is_superuser(request):
            return ()
        return ("site", "role") if self._is_own_account(request, obj) else ("site",)

    def has_change_permission(self, request, obj=None):
        if not _is_superuser(request) and self._is_own_account(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request, obj):
        if not _is_superuser(request) and self._is_own_account(request, obj):
            return False
        return super().has_add_permission(request, obj)


# What a superuser sees: Django's own pages, with the two-factor reset beside the permissions.
_SUPERUSER_FIELDSETS = tuple(
    (name, {**options, "fields": (*options["fields"], "reset_two_factor")})
    if name == "Permissions"
    else (name, options)
    for name, options in UserAdmin.fieldsets
)
# What an administrator sees: no superuser or staff status, no permissions, no free groups.
_ADMINISTRATOR_FIELDSETS = (
    (None, {"fields": ("username", "password")}),
    ("Personal info", {"fields": ("first_name", "last_name", "email")}),
    ("Access", {"fields": ("is_active", "reset_two_factor")}),
    ("Important dates", {"fields": ("last_login", "date_joined")}),
)
_ADD_FIELDSETS = (
    *UserAdmin.add_fieldsets,
    ("Personal info", {"fields": ("first_name", "last_name", "email")}),
)


class AccountAdmin(OwnSiteOnly, UserAdmin):
    form = AccountChangeForm
    add_fieldsets = _ADD_FIELDSETS
    inlines = [StaffProfileInline]
    list_select_related = ("staff__site",)

    def in_site(self, queryset, site, request):
        return queryset.filter(staff__site=site, is_superuser=False)

    def has_add_permission(self, request):
        return UserAdmin.has_add_permission(self, request) and (
            _is_superuser(request) or _own_site(request) is not None
        )

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or _is_superuser(request):
            return allowed
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return _SUPERUSER_FIELDSETS if _is_superuser(request) else _ADMINISTRATOR_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        if _is_superuser(request) or obj is None:
            return ()
        # Deactivating one's own account would lock the site out of its accounts.
        own = ("is_active",) if obj.pk == request.user.pk else ()
        return ("last_login", "date_joined", *own)

    def get_list_display(self, request):
        columns = ("username", "first_name", "last_name", "role", "is_active")
        if _is_superuser(request):
            return (*columns, "site", "is_staff", "is_superuser")
        return columns

    def get_list_filter(self, request):
        if _is_superuser(request):
            return ("staff__site", "staff__role", "is_active", "is_staff", "is_superuser")
        return ("staff__role", "is_active")

    @staticmethod
    def _profile(account) -> StaffProfile | None:
        try:
            return account.staff  # fetched with the list (list_select_related)
        except StaffProfile.DoesNotExist:
            return None

    @admin.display(description="Role", ordering="staff__role")
    def role(self, account):
        profile = self._profile(account)
        return profile.get_role_display() if profile else "-"

    @admin.display(description="Site", ordering="staff__site__code")
    def site(self, account):
        profile = self._profile(account)
        return profile.site.code if profile else "-"

    def save_model(self, request, obj, form, change):
        stored = User.objects.get(pk=obj.pk) if change else None
        form.account_before = account_state(stored) if stored else None
        form.password_before = stored.password if stored else None
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not StaffProfile or _is_superuser(request):
            return super().save_formset(request, form, formset, change)
        if form.instance.pk == request.user.pk:
            # One's own role and site are not one's own to change: nothing is saved (the
            # unsaved list only feeds the admin's change message).
            formset.save(commit=False)
            return None
        site = _own_site(request)
        for profile in formset.save(commit=False):
            profile.site = site
            profile.save()
        formset.save_m2m()
        return None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        account = form.instance
        apply_role(account, derive_staff=not _is_superuser(request))
        record_account_change(
            request.user, account, form.account_before, password_before=form.password_before
        )
        if form.cleaned_data.get("reset_two_factor"):
            reset_two_factor(request.user, account)

    @sensitive_post_parameters_m
    def user_change_password(self, request, id, form_url=""):
        account = self.get_object(request, unquote(id))
        if account is None:
            raise Http404("No such account.")
        with transaction.atomic():
            password_before = account.password
            response = super().user_change_password(request, id, form_url)
            account.refresh_from_db(fields=["password"])
            if account.password != password_before:
                record_password_set(request.user, account)
        return response

    def delete_model(self, request, obj):
        record_audit(request.user, "delete", obj, None, {"old": account_state(obj)})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for account in queryset:
            record_audit(request.user, "delete", account, None, {"old": account_state(account)})
        super().delete_queryset(request, queryset)


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)


@admin.register(StaffProfile)
class StaffProfileAdmin(OwnSiteOnly):
    list_display = ("user", "site", "role")
    list_select_related = ("user", "site")

    def in_site(self, queryset, site, request):
        return queryset.filter(site=site, user__is_superuser=False)

    def get_list_filter(self, request):
        return ("site", "role") if _is_superuser(request) else ("role",)

    def get_readonly_fields(self, request, obj=None):
        if _is_superuser(request):
            return ("user",) if obj is not None else ()
        return ("user", "site")

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or _is_superuser(request):
            return allowed
        # One's own role and site are for another administrator (or a superuser) to change.
        return (
            obj.user_id != request.user.pk and self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    def save_model(self, request, obj, form, change):
        account = obj.user
        before = account_state(account)  # read before the save: the stored role and site
        if not _is_superuser(request):
            obj.site = _own_site(request)
        super().save_model(request, obj, form, change)
        apply_role(account, derive_staff=not _is_superuser(request))
        record_account_change(request.user, account, before)


# ---- the site and the role policies -------------------------------------------------------


class AuditedAdmin(admin.ModelAdmin):
    """Changes made here reach the audit trail with old and new values, as clinical ones do."""

    def save_model(self, request, obj, form, change):
        if change:
            update_audited(obj, {}, acting_user=request.user, patient=None)
        else:
            create_audited(obj, acting_user=request.user, patient=None)


@admin.register(Site)
class SiteAdmin(OwnSiteOnly, AuditedAdmin):
    list_display = ("code", "name", "collect_bpi")

    def in_site(self, queryset, site, request):
        return queryset.filter(pk=site.pk)


@admin.register(SiteDevice)
class SiteDeviceAdmin(OwnSiteOnly, AuditedAdmin):
    """A site's own RF devices, beside the shipped library (docs/planning.md)."""

    list_display = ("device_id", "electrode", "polarity", "active_tip_mm", "gauge")

    def in_site(self, queryset, site, request):
        return queryset.filter(site=site)

    def has_add_permission(self, request):
        return admin.ModelAdmin.has_add_permission(self, request)

    def get_readonly_fields(self, request, obj=None):
        return () if _is_superuser(request) else ("site",)

    def save_model(self, request, obj, form, change):
        if not _is_superuser(request):
            obj.site = _own_site(request)
        super().save_model(request, obj, form, change)


@admin.register(RoleSecurityPolicy)
class RoleSecurityPolicyAdmin(AuditedAdmin):
    list_display = ("role", "require_two_factor")


# ---- authenticator devices (superusers only: the administrator role has no permission) -----


class AuditedTOTPDeviceAdmin(TOTPDeviceAdmin):
    """django-otp's page, with the acting superuser named in the enrolment and reset entries."""

    def save_model(self, request, obj, form, change):
        with acting_as(request.user):
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with acting_as(request.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with acting_as(request.user):
            super().delete_queryset(request, queryset)


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, AuditedTOTPDeviceAdmin)
