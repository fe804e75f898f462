"""The sign-in form refuses a user name no account can have before anyone is authenticated.

django-axes records every failed sign-in with its user name in a 255-character column; on
PostgreSQL a longer name made that insert fail and the sign-in page answer 500.
"""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import PASSWORD

USERNAME_LIMIT = get_user_model()._meta.get_field("username").max_length


def sign_in(client, username: str, password: str, address: str = "10.0.0.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.parametrize("length", [USERNAME_LIMIT + 1, 256, 300, 5000])
def test_it_refuses_a_user_name_longer_than_any_account_with_a_form_error(db, client, length):
    response = sign_in(client, "a" * length, "wrong password")
    page = response.content.decode()
    assert response.status_code == 200
    assert f"at most {USERNAME_LIMIT} characters" in page
    assert "_auth_user_id" not in client.session
    # Refused before authentication: nothing for axes to record, no oversized row.
    assert not AccessAttempt.objects.exists()


def test_a_user_name_at_the_limit_is_authenticated_as_usual(db, client):
    user = get_user_model().objects.create_user("u" * USERNAME_LIMIT, password=PASSWORD)
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_failed_sign_ins_are_still_counted_and_lock_the_account(client, clinician):
    for attempt in range(1, 6):
        response = sign_in(client, clinician.username, "wrong password")
        assert response.status_code in (200, 429)
        if attempt < 5:
            assert AccessAttempt.objects.get().failures_since_start == attempt
    locked = sign_in(client, clinician.username, PASSWORD)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_sign_in_page_uses_the_length_checking_form(db, client):
    from thermablate.web.login import SignInForm

    page = client.get(reverse("login"))
    assert isinstance(page.context["form"], SignInForm)
