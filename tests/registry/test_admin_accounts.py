"""The administrator's Django admin: accounts of their own site only, no privilege they could
grant themselves, no clinical data, and every account change in the hash-chained audit trail.

Each attack is made as an administrator would make it: through the admin pages with the test
client, including forms crafted by hand with fields the page does not offer.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.forms import MultiWidget
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, login
from thermablate.registry.audit_trail import verify_chain
from thermablate.registry.models import AuditEvent, StaffProfile

NEW_PASSWORD = "a-fresh-long-passphrase-42"

# What the administrator role may open in the admin (README: "manage accounts and sites").
ADMINISTRATOR_MODELS = {
    "auth.user",
    "registry.site",
    "registry.staffprofile",
    "registry.rolesecuritypolicy",
    "registry.sitedevice",
}


@pytest.fixture
def site_admin(administrator):
    """Site A's administrator, with the staff status the admin pages need (as in the demo)."""
    administrator.is_staff = True
    administrator.save()
    return administrator


@pytest.fixture
def admin_session(client, site_admin):
    return login(client, site_admin)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


def user_url(user, page="change"):
    return reverse(f"admin:auth_user_{page}", args=[user.pk])


def entries_for(user, action):
    return AuditEvent.objects.filter(model="user", object_id=str(user.pk), action=action)


def filled_form(response) -> dict:
    """The POST a browser would send back from an admin change or add page, unchanged: the main
    form's and every inline formset's current values (disabled fields are not sent)."""
    data = {}

    def add(form):
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(field.widget, MultiWidget):  # the admin's date and time boxes
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{index}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            else:
                data[key] = "" if value is None else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def profile_field(data: dict, name: str) -> str:
    """The key of the staff-profile inline's field in a filled form."""
    (key,) = [k for k in data if k.endswith(f"-0-{name}")]
    return key


# ---- only the administrator's own site ----------------------------------------------------


def test_it_lists_only_the_users_of_the_administrators_site(
    admin_session, clinician, outsider, superuser
):
    page = admin_session.get(reverse("admin:auth_user_changelist"))
    assert page.status_code == 200
    listed = {u.username for u in page.context["cl"].result_list}
    assert clinician.username in listed
    assert outsider.username not in listed and superuser.username not in listed


def test_another_sites_user_cannot_be_opened_or_changed(admin_session, outsider):
    assert admin_session.get(user_url(outsider)).status_code in (403, 404)
    response = admin_session.post(
        user_url(outsider), {"username": "renamed", "is_active": "", "_save": "Save"}
    )
    assert response.status_code in (403, 404)
    outsider.refresh_from_db()
    assert outsider.username == "olga" and outsider.is_active


def test_another_sites_clinician_cannot_be_given_a_new_password(admin_session, outsider, client):
    """The reported attack: set another site's clinician's password, then sign in as them."""
    url = user_url(outsider, "password_change")
    assert admin_session.get(url).status_code in (403, 404)
    response = admin_session.post(
        url,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"},
    )
    assert response.status_code in (403, 404)
    outsider.refresh_from_db()
    assert outsider.check_password(PASSWORD) and not outsider.check_password(NEW_PASSWORD)
    assert not entries_for(outsider, "password").exists()


def test_another_sites_staff_profile_cannot_be_opened_or_changed(admin_session, outsider):
    profile = outsider.staff
    url = reverse("admin:registry_staffprofile_change", args=[profile.pk])
    assert admin_session.get(url).status_code in (403, 404)
    response = admin_session.post(url, {"role": "administrator", "site": profile.site_id})
    assert response.status_code in (403, 404)
    profile.refresh_from_db()
    assert profile.role == "clinician"
    listed = admin_session.get(reverse("admin:registry_staffprofile_changelist"))
    assert outsider.username not in listed.content.decode()


def test_another_site_cannot_be_renamed(admin_session, site_b):
    url = reverse("admin:registry_site_change", args=[site_b.pk])
    assert admin_session.get(url).status_code in (403, 404)
    admin_session.post(url, {"code": site_b.code, "name": "Renamed"})
    site_b.refresh_from_db()
    assert site_b.name == "Site B Hospital"


def test_a_new_user_is_created_at_the_administrators_site_in_their_role_group(
    admin_session, site_admin, site_a
):
    form = admin_session.get(reverse("admin:auth_user_add"))
    assert form.status_code == 200
    data = filled_form(form)
    data.update(
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            profile_field(data, "role"): "coordinator",
        }
    )
    response = admin_session.post(reverse("admin:auth_user_add"), data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    created = User.objects.get(username="newbie")
    assert created.staff.site == site_a and created.staff.role == "coordinator"
    assert list(created.groups.values_list("name", flat=True)) == ["coordinator"]
    assert not created.is_staff and not created.is_superuser
    entry = entries_for(created, "create").get()
    assert entry.actor == site_admin
    assert entry.changes["new"]["site"] == "site-a"
    assert entry.changes["new"]["role"] == "coordinator"
    assert entry.changes["new"]["password"] == "set"
    assert NEW_PASSWORD not in str(entry.changes) and created.password not in str(entry.changes)


def test_a_crafted_add_form_cannot_place_a_user_at_another_site_or_make_a_superuser(
    admin_session, site_a, site_b
):
    form = admin_session.get(reverse("admin:auth_user_add"))
    data = filled_form(form)
    all_permissions = [str(p) for p in Permission.objects.values_list("pk", flat=True)]
    data.update(
        {
            "username": "sleeper",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            profile_field(data, "role"): "clinician",
            profile_field(data, "role").replace("role", "site"): str(site_b.pk),
            "is_superuser": "on",
            "is_staff": "on",
            "user_permissions": all_permissions,
            "groups": [str(g.pk) for g in Group.objects.all()],
        }
    )
    admin_session.post(reverse("admin:auth_user_add"), data)
    created = User.objects.get(username="sleeper")
    assert created.staff.site == site_a
    assert not created.is_superuser and not created.is_staff
    assert not created.user_permissions.exists()
    assert list(created.groups.values_list("name", flat=True)) == ["clinician"]


def test_an_account_cannot_be_created_without_a_role(admin_session):
    data = filled_form(admin_session.get(reverse("admin:auth_user_add")))
    data.update(
        {
            "username": "roleless",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            profile_field(data, "role"): "",
        }
    )
    response = admin_session.post(reverse("admin:auth_user_add"), data)
    assert response.status_code == 200  # the form again, with its error
    # A crafted form that leaves the role and site out altogether is refused too.
    crafted = {key: value for key, value in data.items() if not key.startswith("staff-0-")}
    crafted[profile_field(data, "role").replace("-0-role", "-TOTAL_FORMS")] = "0"
    assert admin_session.post(reverse("admin:auth_user_add"), crafted).status_code == 200
    assert not User.objects.filter(username="roleless").exists()


# ---- no privilege beyond the role ---------------------------------------------------------


def test_an_administrator_cannot_make_themself_superuser(admin_session, site_admin):
    """The reported attack: tick "Superuser status" on one's own account."""
    page = admin_session.get(user_url(site_admin))
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("is_superuser", "user_permissions", "groups", "is_staff"):
        assert f'name="{field}"' not in html, field
    data = filled_form(page)
    data.update(
        {
            "is_superuser": "on",
            "user_permissions": [str(p) for p in Permission.objects.values_list("pk", flat=True)],
            "groups": [str(g.pk) for g in Group.objects.all()],
            "_save": "Save",
        }
    )
    admin_session.post(user_url(site_admin), data)
    site_admin.refresh_from_db()
    assert not site_admin.is_superuser
    assert not site_admin.user_permissions.exists()
    assert list(site_admin.groups.values_list("name", flat=True)) == ["administrator"]
    assert not site_admin.has_perm("registry.view_patient")


def test_a_crafted_change_form_grants_a_clinician_nothing_beyond_their_role(
    admin_session, clinician
):
    data = filled_form(admin_session.get(user_url(clinician)))
    data.update(
        {
            "is_superuser": "on",
            "is_staff": "on",
            "user_permissions": [str(p) for p in Permission.objects.values_list("pk", flat=True)],
            "groups": [str(Group.objects.get(name="governance").pk)],
            "_save": "Save",
        }
    )
    assert admin_session.post(user_url(clinician), data).status_code == 302
    clinician.refresh_from_db()
    assert not clinician.is_superuser and not clinician.is_staff
    assert not clinician.user_permissions.exists()
    assert list(clinician.groups.values_list("name", flat=True)) == ["clinician"]


def test_an_administrator_cannot_change_their_own_role_or_site(admin_session, site_admin, site_b):
    page = admin_session.get(user_url(site_admin))
    data = filled_form(page)
    role_key = profile_field(data, "id").replace("-id", "-role")
    data.update({role_key: "clinician", role_key.replace("role", "site"): str(site_b.pk)})
    data["_save"] = "Save"
    admin_session.post(user_url(site_admin), data)
    profile = StaffProfile.objects.get(user=site_admin)
    assert profile.role == "administrator" and profile.site.code == "site-a"

    url = reverse("admin:registry_staffprofile_change", args=[profile.pk])
    admin_session.post(url, {"role": "clinician", "site": site_b.pk, "user": site_admin.pk})
    profile.refresh_from_db()
    assert profile.role == "administrator" and profile.site.code == "site-a"
    assert list(site_admin.groups.values_list("name", flat=True)) == ["administrator"]


def test_an_administrator_cannot_open_or_change_a_superuser(admin_session, superuser, site_a):
    # Even a superuser who is also on the site's staff list.
    StaffProfile.objects.create(user=superuser, site=site_a, role="clinician")
    assert admin_session.get(user_url(superuser)).status_code in (403, 404)
    assert admin_session.get(user_url(superuser, "password_change")).status_code in (403, 404)
    admin_session.post(
        user_url(superuser, "password_change"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"},
    )
    superuser.refresh_from_db()
    assert superuser.check_password(PASSWORD)


def test_staff_profiles_cannot_be_added_apart_from_their_account(admin_session, clinician):
    # A profile added on its own could attach a role to any account (a superuser's, another
    # site's): new staff are added with their account, whose form fixes the site.
    assert admin_session.get(reverse("admin:registry_staffprofile_add")).status_code == 403


# ---- account changes in the audit trail --------------------------------------------------


def test_changing_a_role_moves_the_user_to_that_roles_group_and_is_audited(
    admin_session, site_admin, clinician
):
    data = filled_form(admin_session.get(user_url(clinician)))
    data[profile_field(data, "role")] = "governance"
    data["_save"] = "Save"
    assert admin_session.post(user_url(clinician), data).status_code == 302
    clinician.refresh_from_db()
    assert clinician.staff.role == "governance"
    assert list(clinician.groups.values_list("name", flat=True)) == ["governance"]
    entry = entries_for(clinician, "update").get()
    assert entry.actor == site_admin
    assert entry.changes["role"] == {"old": "clinician", "new": "governance"}
    assert entry.changes["groups"] == {"old": ["clinician"], "new": ["governance"]}


def test_a_role_changed_on_the_staff_profile_page_is_applied_and_audited(
    admin_session, site_admin, clinician
):
    url = reverse("admin:registry_staffprofile_change", args=[clinician.staff.pk])
    data = filled_form(admin_session.get(url))
    data["role"] = "administrator"
    data["_save"] = "Save"
    assert admin_session.post(url, data).status_code == 302
    clinician.refresh_from_db()
    assert list(clinician.groups.values_list("name", flat=True)) == ["administrator"]
    assert clinician.is_staff  # the admin access the administrator role needs, and no more
    entry = entries_for(clinician, "update").get()
    assert entry.actor == site_admin
    assert entry.changes["role"] == {"old": "clinician", "new": "administrator"}


def test_deactivating_an_account_is_audited_with_old_and_new_values(
    admin_session, site_admin, clinician
):
    data = filled_form(admin_session.get(user_url(clinician)))
    data.pop("is_active", None)
    data["_save"] = "Save"
    assert admin_session.post(user_url(clinician), data).status_code == 302
    clinician.refresh_from_db()
    assert not clinician.is_active
    entry = entries_for(clinician, "update").get()
    assert entry.actor == site_admin
    assert entry.changes == {"is_active": {"old": True, "new": False}}


def test_saving_an_unchanged_account_writes_no_entry(admin_session, clinician):
    data = filled_form(admin_session.get(user_url(clinician)))
    data["_save"] = "Save"
    assert admin_session.post(user_url(clinician), data).status_code == 302
    assert not entries_for(clinician, "update").exists()


def test_setting_a_password_is_audited_without_the_password(admin_session, site_admin, clinician):
    url = user_url(clinician, "password_change")
    assert admin_session.get(url).status_code == 200
    response = admin_session.post(
        url,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set_usable_password": "true"},
    )
    assert response.status_code == 302
    clinician.refresh_from_db()
    assert clinician.check_password(NEW_PASSWORD)
    entry = entries_for(clinician, "password").get()
    assert entry.actor == site_admin and entry.changes == {"password": "changed"}
    trail = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert NEW_PASSWORD not in trail and clinician.password not in trail


def test_a_refused_password_change_writes_no_entry(admin_session, clinician):
    response = admin_session.post(
        user_url(clinician, "password_change"),
        {"password1": NEW_PASSWORD, "password2": "something else", "set_usable_password": "true"},
    )
    assert response.status_code == 200
    assert not entries_for(clinician, "password").exists()


def test_resetting_two_factor_removes_the_device_and_is_audited(
    admin_session, site_admin, clinician
):
    TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)
    data = filled_form(admin_session.get(user_url(clinician)))
    data["reset_two_factor"] = "on"
    data["_save"] = "Save"
    assert admin_session.post(user_url(clinician), data).status_code == 302
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    entry = entries_for(clinician, "2fa-reset").get()
    assert entry.actor == site_admin and entry.changes == {"device": "phone"}


def test_another_sites_two_factor_cannot_be_reset(admin_session, outsider):
    TOTPDevice.objects.create(user=outsider, name="phone", confirmed=True)
    admin_session.post(user_url(outsider), {"reset_two_factor": "on", "_save": "Save"})
    assert TOTPDevice.objects.filter(user=outsider).exists()


def test_a_superuser_still_manages_every_site_and_is_audited(
    client, superuser, outsider, site_a, site_b
):
    login(client, superuser)
    listing = client.get(reverse("admin:auth_user_changelist"))
    assert {"olga", "root"} <= {u.username for u in listing.context["cl"].result_list}
    assert "site-b" in listing.content.decode()  # the site column
    data = filled_form(client.get(user_url(outsider)))
    data[profile_field(data, "site")] = str(site_a.pk)
    data["_save"] = "Save"
    assert client.post(user_url(outsider), data).status_code == 302
    outsider.refresh_from_db()
    assert outsider.staff.site == site_a
    entry = entries_for(outsider, "update").get()
    assert entry.actor == superuser
    assert entry.changes == {"site": {"old": "site-b", "new": "site-a"}}


def test_a_sign_in_is_audited(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.username, "password": PASSWORD})
    assert response.status_code == 302
    entry = entries_for(clinician, "sign-in").get()
    assert entry.actor == clinician


def test_a_failed_sign_in_records_the_user_name_but_never_the_password(client, clinician):
    client.post(reverse("login"), {"username": clinician.username, "password": "Wrong-guess-1"})
    client.post(reverse("login"), {"username": "nobody-here", "password": "Wrong-guess-2"})
    failures = AuditEvent.objects.filter(action="sign-fail").order_by("id")
    assert [e.changes["username"] for e in failures] == [clinician.username, "nobody-here"]
    assert failures[0].object_id == str(clinician.pk) and failures[1].object_id == ""
    assert all(e.actor is None for e in failures)
    trail = str(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert "Wrong-guess" not in trail


def test_a_lockout_is_audited(client, clinician):
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": clinician.username, "password": "wrong password"},
            REMOTE_ADDR="10.0.0.9",
        )
    lockout = AuditEvent.objects.filter(action="lockout").first()
    assert lockout is not None
    assert lockout.object_id == str(clinician.pk)
    assert lockout.changes == {"username": clinician.username, "address": "10.0.0.9"}


def test_enrolling_an_authenticator_app_is_audited_once(client, clinician):
    login(client, clinician)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=clinician)
    assert not entries_for(clinician, "2fa-enrol").exists()  # not yet confirmed
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    assert client.post(reverse("two_factor_setup"), {"token": code}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    device.verify_token("000000")  # later uses save the device again: not a new enrolment
    entry = entries_for(clinician, "2fa-enrol").get()
    assert entry.actor == clinician and entry.changes == {"device": device.name}


def test_account_entries_keep_the_trail_intact(admin_session, clinician):
    data = filled_form(admin_session.get(user_url(clinician)))
    data.pop("is_active", None)
    data["_save"] = "Save"
    admin_session.post(user_url(clinician), data)
    report = verify_chain()
    assert report.intact and report.checked == AuditEvent.objects.count() >= 2


def test_changes_to_the_site_and_the_role_policies_are_audited(admin_session, site_admin, site_a):
    url = reverse("admin:registry_site_change", args=[site_a.pk])
    data = filled_form(admin_session.get(url))
    data.update({"name": "Site A University Hospital", "_save": "Save"})
    assert admin_session.post(url, data).status_code == 302
    entry = AuditEvent.objects.get(model="site", action="update")
    assert entry.actor == site_admin
    assert entry.changes == {
        "name": {"old": "Site A Hospital", "new": "Site A University Hospital"}
    }
    admin_session.post(
        reverse("admin:registry_rolesecuritypolicy_add"),
        {"role": "clinician", "require_two_factor": "on", "_save": "Save"},
    )
    policy = AuditEvent.objects.get(model="rolesecuritypolicy", action="create")
    assert policy.actor == site_admin and policy.changes["new"]["require_two_factor"] is True


# ---- "Administrator: no clinical data" -----------------------------------------------------


def test_the_administrator_opens_only_account_and_site_pages_in_the_admin(admin_session, procedure):
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered >= ADMINISTRATOR_MODELS
    for model in admin.site._registry:
        label = model._meta.label_lower
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        expected = 200 if label in ADMINISTRATOR_MODELS else 403
        assert admin_session.get(url).status_code == expected, label
    index = admin_session.get(reverse("admin:index"))
    shown = {
        f"{app['app_label']}.{m['object_name'].lower()}"
        for app in index.context["app_list"]
        for m in app["models"]
    }
    assert shown == ADMINISTRATOR_MODELS


def test_no_clinical_model_is_in_the_admin_at_all(db):
    # Clinical records are written only by registry.actions (validated and audited); an admin
    # page for one would bypass both, for whoever holds its permission.
    from thermablate.registry.roles import CLINICAL_MODELS

    registered = {model._meta.label_lower for model in admin.site._registry}
    clinical = {f"registry.{name}" for name in CLINICAL_MODELS} | {"registry.auditevent"}
    assert not registered & clinical


def test_an_ordinary_clinician_cannot_open_the_admin(client, clinician):
    login(client, clinician)
    response = client.get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_governance_lead_sees_failed_sign_ins_of_the_sites_staff(
    client, clinician, governance, outsider
):
    """A failed sign-in has no actor: it still reaches the site's audit trail page."""
    client.post(reverse("login"), {"username": clinician.username, "password": "Wrong-guess-1"})
    client.post(reverse("login"), {"username": outsider.username, "password": "Wrong-guess-2"})
    login(client, governance)
    page = client.get(reverse("audit_trail"))
    failures = [e for e in page.context["page"].object_list if e.action == "sign-fail"]
    assert [e.changes["username"] for e in failures] == [clinician.username]
