"""The administrator's pages: sites, staff (site and role) and role security policies."""

from django.contrib import admin

from thermablate.registry.models import RoleSecurityPolicy, Site, StaffProfile


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "site", "role")
    list_filter = ("site", "role")


@admin.register(RoleSecurityPolicy)
class RoleSecurityPolicyAdmin(admin.ModelAdmin):
    list_display = ("role", "require_two_factor")
