"""API bearer tokens through their whole life, as an administrator and another system meet them:
issued with a scope and an expiry, listed, used, refused when expired, revoked or read-only for a
write, revoked one at a time or all together, revoked for good when the account is deactivated,
and every step in the hash-chained audit trail without the secret."""

import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from tests.factories import login
from thermablate.registry.audit_trail import verify_chain
from thermablate.registry.models import ApiToken, AuditEvent, Patient

pytestmark = pytest.mark.usefixtures("approved_site")

PATIENTS = "/api/patients"


def create_token(capsys, username, *options) -> str:
    """Run ``api_token create`` and return the token it printed (its last line)."""
    call_command("api_token", "create", username, *options)
    return capsys.readouterr().out.strip().splitlines()[-1]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def stored(token: str) -> ApiToken:
    """The stored row of a printed token, found by its public id (the 8 characters after tb_)."""
    return ApiToken.objects.get(public_id=token[3:11])


def token_entries(action: str):
    return AuditEvent.objects.filter(model="apitoken", action=action)


def expire(token: str) -> None:
    ApiToken.objects.filter(pk=stored(token).pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


# ---- issuing ---------------------------------------------------------------------------------


def test_it_issues_a_read_only_token_for_90_days_by_default(client, clinician, capsys):
    before = timezone.now()
    token = create_token(capsys, clinician.username, "--name", "EPR feed")
    api_token = stored(token)
    assert api_token.scope == "read"
    assert api_token.name == "EPR feed"
    expected = before + timedelta(days=90)
    assert expected <= api_token.expires_at <= timezone.now() + timedelta(days=90)
    assert client.get(PATIENTS, **bearer(token)).status_code == 200


def test_the_token_starts_with_its_public_id_and_only_its_hash_is_stored(clinician, capsys):
    call_command("api_token", "create", clinician.username)
    output = capsys.readouterr().out
    token = output.strip().splitlines()[-1]
    api_token = ApiToken.objects.get()
    assert re.fullmatch(r"tb_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", token)
    assert token.startswith(f"tb_{api_token.public_id}_")
    assert f"id {api_token.public_id}" in output
    secret_part = token[12:]
    row = json.dumps(list(ApiToken.objects.values()), default=str)
    assert secret_part not in row and token not in row


def test_it_honours_a_chosen_lifetime_and_scope(clinician, capsys):
    token = create_token(
        capsys, clinician.username, "--expires-in-days", "366", "--scope", "read-write"
    )
    api_token = stored(token)
    assert api_token.scope == "read-write"
    lifetime = api_token.expires_at - api_token.created_at
    assert timedelta(days=366) - timedelta(seconds=5) <= lifetime <= timedelta(days=366)


@pytest.mark.parametrize("days", ["367", "0", "-3", "ninety"])
def test_it_refuses_a_lifetime_outside_one_to_366_days_and_issues_nothing(clinician, days):
    with pytest.raises(CommandError, match="between 1 and 366|invalid int"):
        call_command("api_token", "create", clinician.username, "--expires-in-days", days)
    assert not ApiToken.objects.exists()
    assert not token_entries("create").exists()


def test_it_refuses_an_unknown_scope(clinician):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("api_token", "create", clinician.username, "--scope", "admin")
    assert not ApiToken.objects.exists()


def test_a_token_made_without_a_scope_can_only_read(clinician):
    """Deny by default: a token stored by any other path than the command does not write."""
    api_token = ApiToken.objects.create(user=clinician, name="x", key_hash="0" * 64)
    assert api_token.scope == "read"
    assert api_token.expires_at - timezone.now() <= timedelta(days=90)
    assert len(api_token.public_id) == 8


# ---- expiry --------------------------------------------------------------------------------


def test_an_expired_token_is_refused_with_a_json_401_saying_it_expired(client, clinician, capsys):
    token = create_token(capsys, clinician.username)
    expire(token)
    response = client.get(PATIENTS, **bearer(token))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "expired" in response.json()["detail"]


def test_an_expired_token_does_not_fall_back_to_the_session(client, clinician, capsys):
    """A system presenting a dead token is told so, even from a browser that is signed in."""
    token = create_token(capsys, clinician.username)
    expire(token)
    login(client, clinician)
    assert client.get(PATIENTS, **bearer(token)).status_code == 401


# ---- scope -------------------------------------------------------------------------------


def registry_row_counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("registry").get_models()
        if model is not ApiToken
    }


def test_a_read_only_token_is_refused_every_write_operation_and_writes_nothing(
    client, clinician, procedure, capsys
):
    """Walks the OpenAPI schema, so a write operation added later is covered without an entry
    here. The clinician may write through the pages: only the token's scope refuses."""
    token = create_token(capsys, clinician.username, "--scope", "read")
    assert client.get(PATIENTS, **bearer(token)).status_code == 200  # today's use is recorded
    real_values = {
        "registry_number": procedure.patient.registry_number,
        "procedure_id": str(procedure.pk),
        "assessment_id": str(procedure.assessments.first().pk),
    }
    login(client, clinician)
    schema = client.get("/api/openapi.json").json()
    client.logout()
    writes = [
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method not in {"get", "head", "options"}
    ]
    assert len(writes) >= 7  # the walk really found the API's write operations
    before = registry_row_counts()
    for method, path in writes:
        url = re.sub(r"\{(\w+)\}", lambda m: real_values.get(m.group(1), "1"), path)
        response = getattr(client, method)(
            url, data={}, content_type="application/json", **bearer(token)
        )
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert "read-only" in response.json()["detail"], f"{method} {path}"
    assert registry_row_counts() == before  # nothing written, nothing audited


def test_a_read_write_token_writes(client, clinician, capsys):
    token = create_token(capsys, clinician.username, "--scope", "read-write")
    response = client.post(
        PATIENTS,
        {"nhs_number": "9434765919", "year_of_birth": 1960, "sex": "male"},
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 201, response.content
    assert Patient.objects.count() == 1


# ---- listing and revoking ------------------------------------------------------------------


def test_list_shows_each_tokens_name_id_scope_dates_and_revocation(client, clinician, capsys):
    used = create_token(capsys, clinician.username, "--name", "EPR feed")
    revoked = create_token(
        capsys, clinician.username, "--name", "Old PACS", "--scope", "read-write"
    )
    client.get(PATIENTS, **bearer(used))
    call_command("api_token", "revoke", "--token", stored(revoked).public_id)
    capsys.readouterr()

    call_command("api_token", "list", clinician.username)
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows = lines[0], lines[1:]
    for column in ("name", "id", "scope", "created", "expires", "last used", "revoked"):
        assert column in header
    assert len(rows) == 2
    (epr,) = [r for r in rows if "EPR feed" in r]
    (pacs,) = [r for r in rows if "Old PACS" in r]
    assert stored(used).public_id in epr and " read " in f"{epr} "
    assert f"{timezone.localdate():%Y-%m-%d}" in epr
    assert stored(revoked).public_id in pacs and "read-write" in pacs
    assert "never" in pacs  # not used
    assert epr.rstrip().endswith("-") and not pacs.rstrip().endswith("-")
    for row in rows:  # the secret is shown once, at creation, and never again
        assert used[12:] not in row and revoked[12:] not in row


def test_list_says_when_a_user_has_no_tokens(clinician, capsys):
    call_command("api_token", "list", clinician.username)
    assert "no tokens" in capsys.readouterr().out


def test_revoking_one_token_leaves_the_others_working_and_keeps_the_row(client, clinician, capsys):
    kept = create_token(capsys, clinician.username, "--name", "EPR feed")
    dropped = create_token(capsys, clinician.username, "--name", "PACS")
    call_command("api_token", "revoke", "--token", stored(dropped).public_id)
    assert client.get(PATIENTS, **bearer(kept)).status_code == 200
    response = client.get(PATIENTS, **bearer(dropped))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert stored(dropped).revoked_at is not None  # kept, marked with the time
    assert ApiToken.objects.count() == 2


def test_revoke_all_revokes_every_token_of_the_user_only(client, clinician, coordinator, capsys):
    first = create_token(capsys, clinician.username)
    second = create_token(capsys, clinician.username)
    others = create_token(capsys, coordinator.username)
    call_command("api_token", "revoke", clinician.username, "--all")
    assert "revoked 2 token(s)" in capsys.readouterr().out
    assert client.get(PATIENTS, **bearer(first)).status_code == 401
    assert client.get(PATIENTS, **bearer(second)).status_code == 401
    assert client.get(PATIENTS, **bearer(others)).status_code == 200
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 2


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["revoke"], "--token ID or USERNAME --all"),
        (["revoke", "someone"], "--token ID or USERNAME --all"),
        (["revoke", "--all"], "--token ID or USERNAME --all"),
        (["revoke", "someone", "--all", "--token", "abcd1234"], "not both"),
        (["revoke", "--token", "nosuchid"], "no token with id 'nosuchid'"),
        (["revoke", "nobody", "--all"], "no user 'nobody'"),
    ],
)
def test_revoke_refuses_an_unclear_or_unknown_target(clinician, capsys, arguments, message):
    token = create_token(capsys, clinician.username)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("api_token", *arguments)
    assert stored(token).revoked_at is None


def test_revoking_an_already_revoked_token_changes_nothing(clinician, capsys):
    token = create_token(capsys, clinician.username)
    public_id = stored(token).public_id
    call_command("api_token", "revoke", "--token", public_id)
    first_time = stored(token).revoked_at
    call_command("api_token", "revoke", "--token", public_id)
    assert "already revoked" in capsys.readouterr().out
    assert stored(token).revoked_at == first_time
    assert token_entries("revoke").count() == 1


# ---- inactive accounts ---------------------------------------------------------------------


def test_revoke_works_for_an_inactive_user(clinician, capsys):
    one = create_token(capsys, clinician.username)
    two = create_token(capsys, clinician.username)
    # Deactivated behind the models' back (a bulk update sends no signal): tokens still live.
    type(clinician).objects.filter(pk=clinician.pk).update(is_active=False)
    call_command("api_token", "revoke", "--token", stored(one).public_id)
    call_command("api_token", "revoke", clinician.username, "--all")
    assert stored(one).revoked_at is not None and stored(two).revoked_at is not None
    capsys.readouterr()
    call_command("api_token", "list", clinician.username)
    listing = capsys.readouterr().out
    assert stored(one).public_id in listing and stored(two).public_id in listing


def test_deactivating_an_account_revokes_its_tokens_for_good(client, clinician, capsys):
    token = create_token(capsys, clinician.username)
    clinician.is_active = False
    clinician.save()
    assert stored(token).revoked_at is not None
    clinician.is_active = True
    clinician.save()
    response = client.get(PATIENTS, **bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    entry = token_entries("revoke").get()
    assert entry.changes["reason"] == "account deactivated"


def test_deactivating_an_account_on_the_admin_page_revokes_its_tokens(
    client, administrator, clinician, capsys
):
    from tests.registry.test_admin_accounts import filled_form

    token = create_token(capsys, clinician.username)
    administrator.is_staff = True
    administrator.save()
    login(client, administrator)
    url = reverse("admin:auth_user_change", args=[clinician.pk])
    data = filled_form(client.get(url))
    data.pop("is_active", None)
    data["_save"] = "Save"
    assert client.post(url, data).status_code == 302
    client.logout()
    assert stored(token).revoked_at is not None
    assert client.get(PATIENTS, **bearer(token)).status_code == 401


def test_a_token_of_an_account_deactivated_without_a_save_is_refused_and_revoked(
    client, clinician, capsys
):
    """A bulk update sends no signal: the token's first presentation revokes it."""
    token = create_token(capsys, clinician.username)
    type(clinician).objects.filter(pk=clinician.pk).update(is_active=False)
    refused = client.get(PATIENTS, **bearer(token))
    assert refused.status_code == 401 and "inactive" in refused.json()["detail"]
    assert stored(token).revoked_at is not None
    assert token_entries("revoke").get().changes["reason"] == "account inactive"


def test_an_account_deactivated_without_a_save_gets_no_token_back_when_reactivated(
    client, clinician, capsys
):
    """Nor does the bulk update's token come back: saving the account active revokes it."""
    token = create_token(capsys, clinician.username)
    type(clinician).objects.filter(pk=clinician.pk).update(is_active=False)
    clinician.refresh_from_db()
    clinician.is_active = True
    clinician.save()
    response = client.get(PATIENTS, **bearer(token))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert token_entries("revoke").get().changes["reason"] == "account reactivated"


def test_saving_an_active_account_leaves_its_tokens_alone(client, clinician, capsys):
    token = create_token(capsys, clinician.username)
    clinician.first_name = "Renamed"
    clinician.save()
    client.force_login(clinician)  # saves last_login with update_fields
    client.logout()
    assert client.get(PATIENTS, **bearer(token)).status_code == 200


def test_a_token_cannot_be_issued_to_an_inactive_user(clinician):
    clinician.is_active = False
    clinician.save()
    with pytest.raises(CommandError, match="no active user"):
        call_command("api_token", "create", clinician.username)


# ---- the audit trail ------------------------------------------------------------------------


def test_issuing_using_and_revoking_are_audited_without_the_secret(client, clinician, capsys):
    token = create_token(
        capsys, clinician.username, "--name", "EPR feed", "--by", clinician.username
    )
    api_token = stored(token)
    client.get(PATIENTS, **bearer(token))
    call_command("api_token", "revoke", "--token", api_token.public_id)
    client.get(PATIENTS, **bearer(token))

    created = token_entries("create").get()
    assert created.actor == clinician  # named with --by
    assert created.object_id == str(api_token.pk)
    assert created.changes["public_id"] == api_token.public_id
    assert created.changes["scope"] == "read"
    assert created.changes["user"] == clinician.username
    used = token_entries("token-use").get()
    assert used.actor == clinician
    revoked = token_entries("revoke").get()
    assert revoked.actor is None and "command line" in revoked.changes["reason"]
    refused = token_entries("token-fail").get()
    assert refused.changes["reason"] == "revoked"

    trail = json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert token[12:] not in trail and api_token.key_hash not in trail
    assert verify_chain().intact


def test_use_is_audited_on_the_first_use_of_each_day(client, clinician, capsys):
    token = create_token(capsys, clinician.username)
    for _ in range(3):
        assert client.get(PATIENTS, **bearer(token)).status_code == 200
    assert token_entries("token-use").count() == 1
    api_token = stored(token)
    ApiToken.objects.filter(pk=api_token.pk).update(
        last_used_at=api_token.last_used_at - timedelta(days=1)
    )
    client.get(PATIENTS, **bearer(token))
    assert token_entries("token-use").count() == 2
    assert stored(token).last_used_at.date() == timezone.now().date()


def test_an_expired_token_presented_is_audited_once_a_day(client, clinician, capsys):
    token = create_token(capsys, clinician.username)
    expire(token)
    for _ in range(3):
        client.get(PATIENTS, **bearer(token))
    entry = token_entries("token-fail").get()
    assert entry.changes["reason"] == "expired"
    assert entry.object_id == str(stored(token).pk)
    assert token[12:] not in json.dumps(entry.changes)


def test_an_unknown_token_writes_nothing(client, clinician):
    entries = AuditEvent.objects.count()
    assert client.get(PATIENTS, **bearer("tb_nothing1_" + "x" * 43)).status_code == 401
    assert AuditEvent.objects.count() == entries


# ---- the migration -----------------------------------------------------------------------

BEFORE_SCOPES = [("registry", "0010_record_versions")]


@pytest.mark.django_db(transaction=True)
def test_existing_tokens_keep_full_access_for_90_days_after_the_migration():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_SCOPES)
    old = executor.loader.project_state(BEFORE_SCOPES).apps
    user = old.get_model("auth", "User").objects.create(username="epr-system")
    OldToken = old.get_model("registry", "ApiToken")
    for n in range(2):
        OldToken.objects.create(user_id=user.pk, name=f"feed {n}", key_hash=f"{n}" * 64)

    migrated_at = timezone.now()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    tokens = list(ApiToken.objects.order_by("name"))
    assert [t.scope for t in tokens] == ["read-write", "read-write"]
    for api_token in tokens:
        assert api_token.revoked_at is None
        assert api_token.expires_at - migrated_at >= timedelta(days=90)
        assert api_token.expires_at - migrated_at <= timedelta(days=90, minutes=5)
    public_ids = {t.public_id for t in tokens}
    assert len(public_ids) == 2 and all(re.fullmatch(r"[a-z0-9]{8}", p) for p in public_ids)
