"""What each role may do, as Django permissions held by one group per role.

Least privilege: only clinicians and coordinators write clinical records; governance leads
read them with identifiers; analysts read them without identifiers; administrators manage
accounts and sites but see no clinical data.
"""

from thermablate.registry.choices import Role

CLINICAL_MODELS = (
    "patient",
    "lesion",
    "mdtdecisionrecord",
    "consent",
    "procedure",
    "ablationcycle",
    "assessment",
    "analgesicentry",
    "adverseevent",
)


def _perms(actions: tuple[str, ...]) -> set[str]:
    return {f"registry.{action}_{model}" for action in actions for model in CLINICAL_MODELS}


# Plans of an ablation (thermablate.plans): clinicians plan and choose; everyone who reads the
# records reads the plans (they carry the registry number only, no identifier).
# The zone measured on post-procedure imaging is recorded by those who record the journey.
PLANS_READ = {"plans.view_plan", "plans.view_observedzone"}
ZONE_WRITE = {"plans.add_observedzone", "plans.change_observedzone"}
PLANS_WRITE = PLANS_READ | ZONE_WRITE | {"plans.add_plan", "plans.change_plan"}

# Patients' contact details for their questionnaires (thermablate.proms) are personal data:
# only those who contact patients (clinicians and coordinators) see and change them, and the
# invitations and messages they go with.
CONTACT = {
    "proms.view_contactdetails",
    "proms.change_contactdetails",
    "proms.view_invitation",
    "proms.view_message",
}

# Everyone who works with patients reads the NICE catalogue and the site's approvals.
GUIDANCE_READ = {"guidance.view_guidance", "registry.view_localapproval"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Those who record the journey also put it right (docs/corrections.md).
    Role.CLINICIAN: _perms(("view", "add", "change"))
    | {"registry.view_identifiers", "registry.mark_entered_in_error", "audit.view_dashboard"}
    | GUIDANCE_READ
    | PLANS_WRITE
    | CONTACT,
    Role.COORDINATOR: _perms(("view", "add", "change"))
    | {"registry.view_identifiers", "registry.mark_entered_in_error"}
    | GUIDANCE_READ
    | PLANS_READ
    | ZONE_WRITE
    | CONTACT,
    Role.GOVERNANCE: _perms(("view",))
    | {"registry.view_identifiers", "registry.view_auditevent", "registry.manage_approvals"}
    | {"audit.view_dashboard", "audit.view_any_appraisal"}
    | GUIDANCE_READ
    | PLANS_READ,
    Role.ANALYST: _perms(("view",)) | {"audit.view_dashboard"} | GUIDANCE_READ | PLANS_READ,
    Role.ADMINISTRATOR: {
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "registry.view_site",
        "registry.add_site",
        "registry.change_site",
        "registry.view_staffprofile",
        "registry.add_staffprofile",
        "registry.change_staffprofile",
        "registry.view_sitedevice",
        "registry.add_sitedevice",
        "registry.change_sitedevice",
        "registry.view_rolesecuritypolicy",
        "registry.add_rolesecuritypolicy",
        "registry.change_rolesecuritypolicy",
    },
}


def sync_role_groups(**_kwargs) -> None:
    """Create or update one group per role with exactly its permissions (run after migrate)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches the apps one by one; make sure every app's permissions exist first.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)

    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        permissions = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise RuntimeError(f"role {role}: permission {dotted} does not exist")
            permissions.append(permission)
        group.permissions.set(permissions)
