"""The patient's pages: a link opens nothing until the year of birth is confirmed; the
questionnaire is answered page by page, saved as it goes, checked, and sent once; the answers
land on the assessment as patient-reported, through the registry's writer and its audit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import login
from tests.proms.privacy import shows
from thermablate.proms import actions, links
from thermablate.proms.models import Invitation
from thermablate.registry.models import AuditEvent, Site


@pytest.fixture
def invitation(opened_today, consented):
    return actions.open_invitation(opened_today)


@pytest.fixture
def token(invitation):
    return links.new_link(invitation)


def _start(client, token, year=1958):
    return client.post(reverse("proms_start", args=[token]), {"year_of_birth": year})


def _answer_everything(client, token, invitation):
    """Answer every page as a patient would: follow the redirects from the first page."""
    response = _start(client, token)
    pages = 0
    while True:
        url = response["Location"]
        if url.endswith("/check/"):
            return url, pages
        slug = url.rstrip("/").rsplit("/", 1)[1]
        pages += 1
        if slug == "medicines":
            client.post(url, {"action": "add", "add-product": "co-codamol-30-500-tablet", "add-units_per_dose": "2", "add-doses_per_day": "4"})  # fmt: skip
            response = client.post(url, {"action": "continue", "takes_painkillers": "yes", "other_medicines": ""})  # fmt: skip
        elif slug == "pain":
            response = client.post(url, {"pain_worst": "6", "pain_average": "4"})
        elif slug == "eq5d-vas":
            response = client.post(url, {"eq5d_vas": "65"})
        elif slug == "odi-sex-life":
            response = client.post(url, {"odi_sex_life": "skip"})
        else:
            page = client.get(url)
            name = page.context["form"].fields
            response = client.post(url, dict.fromkeys(name, "2"))
        assert response.status_code == 302, (slug, response.content.decode()[:2000])


def test_a_patient_answers_on_their_own_and_the_assessment_is_patient_reported(
    client, token, invitation, opened_today, today
):
    check_url, pages = _answer_everything(client, token, invitation)
    # A spinal lesion: pain, painkillers, EQ-5D (5 + VAS) and the ten ODI sections.
    assert pages == 1 + 1 + 6 + 10
    check = client.get(check_url)
    assert (
        "Co-codamol 30 mg/500 mg tablets or capsules: 2 tablets, 4 times a day"
        in check.content.decode()
    )
    response = client.post(check_url)
    assert response.status_code == 302 and response["Location"] == reverse("proms_done")

    opened_today.refresh_from_db()
    assert opened_today.reported_by == "patient"
    assert opened_today.assessed_on == today
    assert (opened_today.pain_worst, opened_today.pain_average, opened_today.eq5d_vas) == (6, 4, 65)
    assert opened_today.odi_pain_intensity == 2 and opened_today.odi_sex_life is None
    drugs = sorted((a.drug, a.dose) for a in opened_today.analgesics.all())
    assert [d for d, _ in drugs] == ["codeine", "paracetamol"]
    entries = AuditEvent.objects.filter(model="assessment", object_id=str(opened_today.pk))
    entry = next(e for e in entries if "reported_by" in e.changes)
    assert entry.actor is None and entry.changes["reported_by"]["new"] == "patient"
    # Which link, from where, under which wording: the patient has no account to name.
    submitted = entries.get(action="submit")
    assert submitted.changes["via"] == "patient questionnaire link"
    assert submitted.changes["invitation"] == invitation.pk
    assert submitted.changes["client_address"] == "127.0.0.1"
    assert submitted.changes["wording"]["eq5d5l"] == "thermablate-neutral-1"
    assert Invitation.objects.get().wording == submitted.changes["wording"]
    # The answers saved page by page are not kept twice.
    assert Invitation.objects.get().draft == {}
    # Sent once: every link of the invitation now says so, and changes nothing.
    assert client.get(reverse("proms_start", args=[token])).status_code == 410
    assert Invitation.objects.get().completed_at is not None


def test_a_link_shows_nothing_before_the_year_of_birth_and_nothing_identifying_after(
    client, token, invitation, opened_today
):
    patient = opened_today.patient
    first = client.get(reverse("proms_start", args=[token]))
    assert first.status_code == 200
    # Straight to a question page without the check: back to the check.
    page = client.get(reverse("proms_page", args=[token, "pain"]))
    assert page.status_code == 302 and page["Location"] == reverse("proms_start", args=[token])
    _start(client, token)
    for response in (first, client.get(reverse("proms_page", args=[token, "pain"]))):
        html = response.content.decode()
        for secret in (
            patient.nhs_number,
            patient.registry_number,
            "L2",
            "breast",
            patient.site.name,
        ):
            assert not shows(html, secret)
        assert response["Cache-Control"].startswith("max-age=0")
        assert response["Referrer-Policy"] == "same-origin"


def test_wrong_years_of_birth_lock_the_link_and_waiting_does_not_forgive_them(
    client, token, invitation, clinician
):
    for _ in range(links.LOCK_EVERY - 1):
        response = _start(client, token, year=1960)
        assert response.status_code == 400
        assert "does not match" in response.content.decode()
    response = _start(client, token, year=1960)
    assert response.status_code == 410 and "Try again tomorrow" in response.content.decode()
    # Even the right year opens nothing while locked.
    assert _start(client, token).status_code == 410
    # A day later: five more tries, then locked until staff unlock it, however long one waits.
    for _ in range(links.MAX_FAILED_CHECKS - links.LOCK_EVERY):
        Invitation.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
        _start(client, token, year=1961)
    Invitation.objects.update(locked_until=timezone.now() - timedelta(days=30))
    response = _start(client, token)
    assert response.status_code == 410 and "they can unlock it" in response.content.decode()
    # The team, having spoken to the patient, unlocks it: audited, and the link works.
    login(client, clinician)
    unlocked = client.post(reverse("proms_unlock", args=[invitation.pk]))
    assert unlocked.status_code == 302
    client.logout()
    assert _start(client, token).status_code == 302
    entry = AuditEvent.objects.filter(model="invitation").last()
    assert entry.actor == clinician and entry.changes["failed_checks"]["old"] == 10


@pytest.mark.parametrize(
    "tamper",
    [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t[:10], lambda t: "x" * 200],
)
def test_a_tampered_or_unknown_link_opens_nothing(client, token, tamper):
    response = client.get(reverse("proms_start", args=[tamper(token)]))
    assert response.status_code == 404
    assert "does not work" in response.content.decode()


def test_an_expired_link_opens_nothing(client, token, invitation):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("proms_start", args=[token]))
    assert response.status_code == 410
    assert "closed" in response.content.decode()


def test_answers_are_saved_and_resumed_in_a_new_session(
    client, token, invitation, django_user_model
):
    _start(client, token)
    client.post(
        reverse("proms_page", args=[token, "pain"]), {"pain_worst": "7", "pain_average": "5"}
    )
    client.logout()  # a new session, as on another day or another phone
    client.cookies.clear()
    response = _start(client, token)
    assert response["Location"] == reverse("proms_page", args=[token, "medicines"])
    page = client.get(reverse("proms_page", args=[token, "pain"]))
    assert page.context["form"].initial == {"pain_worst": 7, "pain_average": 5}


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"pain_worst": "11", "pain_average": "4"}, "Choose an answer"),
        ({"pain_worst": "", "pain_average": "4"}, "Choose an answer"),
        ({"pain_worst": "abc", "pain_average": "4"}, "Choose an answer"),
    ],
)
def test_out_of_range_answers_are_refused_and_nothing_saved(
    client, token, invitation, answers, message
):
    _start(client, token)
    response = client.post(reverse("proms_page", args=[token, "pain"]), answers)
    assert response.status_code == 400
    assert message in response.content.decode()
    invitation.refresh_from_db()
    assert "pain_worst" not in invitation.draft


def test_a_vas_out_of_range_is_refused(client, token, invitation):
    _start(client, token)
    response = client.post(reverse("proms_page", args=[token, "eq5d-vas"]), {"eq5d_vas": "101"})
    assert response.status_code == 400
    assert "from 0 to 100" in response.content.decode()


def test_a_submission_after_staff_recorded_it_changes_nothing(
    client, token, invitation, opened_today, coordinator, today
):
    from thermablate.registry import actions as registry_actions

    check_url, _ = _answer_everything(client, token, invitation)
    registry_actions.record_assessment(
        opened_today, acting_user=coordinator, analgesics=[], assessed_on=today, pain_worst=3,
        pain_average=2, no_analgesics=True,
    )  # fmt: skip
    response = client.post(check_url)
    assert response.status_code in (400, 410)
    opened_today.refresh_from_db()
    assert (opened_today.reported_by, opened_today.pain_worst) == ("staff", 3)


def test_a_submission_after_the_patient_withdrew_changes_nothing(
    client, token, invitation, opened_today, coordinator, today
):
    check_url, _ = _answer_everything(client, token, invitation)
    actions.withdraw_contact(
        opened_today.patient, acting_user=coordinator, on=today, reason="Phoned"
    )
    response = client.post(check_url)
    assert response.status_code == 410
    opened_today.refresh_from_db()
    assert opened_today.assessed_on is None


def test_bpi_pages_are_asked_only_where_the_site_chooses(client, token, invitation):
    Site.objects.update(collect_bpi=True)
    _start(client, token)
    assert client.get(reverse("proms_page", args=[token, "bpi-pain"])).status_code == 200
    Site.objects.update(collect_bpi=False)
    assert client.get(reverse("proms_page", args=[token, "bpi-pain"])).status_code == 404


def test_answers_that_contradict_earlier_ones_are_refused_on_their_page(client, token, invitation):
    Site.objects.update(collect_bpi=True)
    _start(client, token)
    response = client.post(
        reverse("proms_page", args=[token, "pain"]), {"pain_worst": "3", "pain_average": "5"}
    )
    assert response.status_code == 400
    assert "cannot be more than your worst pain" in response.content.decode()
    client.post(
        reverse("proms_page", args=[token, "pain"]), {"pain_worst": "5", "pain_average": "3"}
    )
    response = client.post(
        reverse("proms_page", args=[token, "bpi-pain"]), {"bpi_least": "4", "bpi_now": "2"}
    )
    assert response.status_code == 400
    assert "you gave 3" in response.content.decode()
    invitation.refresh_from_db()
    assert "bpi_least" not in invitation.draft


def test_a_painkiller_written_in_leaves_the_ome_unknown_until_staff_resolve_it(
    client, token, invitation, opened_today, coordinator
):
    from thermablate.registry.scores import scores_for

    check_url, _ = _answer_everything(client, token, invitation)
    client.post(
        reverse("proms_page", args=[token, "medicines"]),
        {
            "action": "continue",
            "takes_painkillers": "yes",
            "other_medicines": "MST 30 mg twice a day",
        },
    )
    assert client.post(check_url).status_code == 302
    opened_today.refresh_from_db()
    assert opened_today.analgesics.count() == 0 and not opened_today.no_analgesics
    assert "Co-codamol 30 mg/500 mg" in opened_today.notes and "MST 30 mg" in opened_today.notes
    assert scores_for(opened_today).ome is None
    login(client, coordinator)
    page = client.get(
        reverse("procedure_detail", args=[opened_today.procedure.pk])
    ).content.decode()
    assert "Other painkillers to resolve" in page


def test_staff_signed_in_cannot_send_answers_as_the_patients(
    client, token, invitation, opened_today, coordinator
):
    check_url, _ = _answer_everything(client, token, invitation)
    client.force_login(coordinator)
    response = client.post(check_url)
    assert response.status_code == 400
    assert "signed in to Thermablate as staff" in response.content.decode()
    opened_today.refresh_from_db()
    assert opened_today.assessed_on is None


def test_an_answer_changed_later_that_contradicts_another_page_is_caught_there(
    client, token, invitation
):
    Site.objects.update(collect_bpi=True)
    _start(client, token)
    client.post(
        reverse("proms_page", args=[token, "pain"]), {"pain_worst": "8", "pain_average": "6"}
    )
    client.post(reverse("proms_page", args=[token, "bpi-pain"]), {"bpi_least": "5", "bpi_now": "5"})
    response = client.post(
        reverse("proms_page", args=[token, "pain"]), {"pain_worst": "3", "pain_average": "2"}
    )
    assert response.status_code == 400
    assert "you gave 5 for it on another page" in response.content.decode()


def test_a_refused_submission_stops_the_invitation_for_good(
    client, token, invitation, opened_today, coordinator, today
):
    from thermablate.registry import actions as registry_actions

    check_url, _ = _answer_everything(client, token, invitation)
    registry_actions.record_assessment(
        opened_today, acting_user=coordinator, analgesics=[], assessed_on=today, pain_worst=3,
        pain_average=2, no_analgesics=True,
    )  # fmt: skip
    response = client.post(check_url)
    assert response.status_code == 410
    assert "already recorded this follow-up" in response.content.decode()
    assert Invitation.objects.get().stop_reason == "staff_recorded"


def test_the_privacy_check_finds_a_detail_shown_and_ignores_random_tokens():
    assert shows("<p>Your lesion at L2.</p>", "L2")
    assert shows("<td>TB-7KQ9XF</td>", "TB-7KQ9XF")
    assert not shows('<input type="hidden" name="csrfmiddlewaretoken" value="aL2b">', "L2")
    assert not shows("https://followup.example.nhs.uk/q/xL2_y-z/", "L2")
