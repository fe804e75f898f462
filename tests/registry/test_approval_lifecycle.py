"""A local approval's lifecycle (issue 12, item 5): one decision in force per procedure and
site; a new decision supersedes the one in force and carries its credentials over; a withdrawn
or superseded decision authorises nothing after its end; the cited guidance must cover the
procedure.

The failures these reproduce: a second approval recorded beside the first silently dropped
every credentialed operator (the procedure then needed an override for each), three approvals
were in force at once for one procedure, and intradiscal electrothermal therapy was approved
citing HTG670."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.factories import login, make_user
from tests.registry.test_approvals import approval_post, approve, credentialed_approval, record
from thermablate.guidance.models import Guidance
from thermablate.registry import actions
from thermablate.registry.models import AuditEvent, CredentialedOperator, LocalApproval

NEW_DECISION = date(2026, 5, 1)


def new_decision(**extra):
    return {
        "guidance": Guidance.objects.get(key="HTG670"),
        "decision": "approved_standard",
        "committee": "NIPC",
        "decision_date": NEW_DECISION,
        "review_date": date(2028, 5, 1),
        **extra,
    }


def test_a_second_approval_beside_the_one_in_force_is_refused_and_says_to_supersede(
    site_a, governance, clinician
):
    first = credentialed_approval(site_a, governance, clinician)
    with pytest.raises(ValidationError) as refused:
        approve(site_a, governance, clinician, decision_date=NEW_DECISION)
    assert "already in force" in str(refused.value) and "supersede it" in str(refused.value)
    assert list(LocalApproval.objects.all()) == [first]
    assert first.operators.count() == 1


def test_the_database_holds_one_approval_in_force_per_procedure_and_site(
    site_a, governance, clinician
):
    first = approve(site_a, governance, clinician)
    second = LocalApproval(
        site=site_a,
        procedure_type=first.procedure_type,
        guidance=first.guidance,
        guidance_version=1,
        decision="approved_standard",
        committee="NIPC",
        decision_date=NEW_DECISION,
        clinical_lead=clinician,
        review_date=date(2028, 5, 1),
        recorded_by=governance,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_superseding_carries_the_credentials_over_and_the_old_decision_ends_on_the_new_date(
    patient, lesion, decided, site_a, governance, clinician
):
    first = credentialed_approval(site_a, governance, clinician)
    second = actions.supersede_approval(
        first,
        acting_user=governance,
        reason="Review after two years",
        clinical_lead=clinician,
        **new_decision(),
    )
    first.refresh_from_db()
    assert first.superseded_on == NEW_DECISION and not first.in_force
    assert first.supersession_reason == "Review after two years"
    assert second.in_force and second.supersedes == first
    carried = second.operators.get()
    assert carried.user == clinician and carried.training == "Vertebroplasty"
    assert carried.carried_over_from == first.operators.get()
    # A procedure after the new decision is authorised by it, with its operator credentialed
    # (before this, it needed an override for every operator).
    after = record(patient, lesion, clinician, procedure_date=NEW_DECISION + timedelta(days=3))
    assert after.governance.approval == second
    assert after.governance.uncredentialed_operators == []
    # One done under the first decision is still governed by it.
    before = record(patient, lesion, clinician, procedure_date=NEW_DECISION - timedelta(days=1))
    assert before.governance.approval == first
    # Every change is in the audit trail, with the reason.
    ended = AuditEvent.objects.get(model="localapproval", object_id=str(first.pk), action="update")
    assert ended.changes["superseded_on"]["new"] == NEW_DECISION.isoformat()
    assert ended.changes["supersession_reason"]["new"] == "Review after two years"
    assert AuditEvent.objects.filter(
        model="credentialedoperator", object_id=str(carried.pk), action="create"
    ).exists()


def test_a_credential_not_ticked_is_not_carried_over(site_a, governance, clinician):
    other = make_user(site_a, "clinician", "olga")
    first = approve(
        site_a,
        governance,
        clinician,
        operators=[
            {"user": clinician, "training": "Vertebroplasty", "credentialed_on": date(2025, 5, 1)},
            {"user": other, "training": "Kyphoplasty", "credentialed_on": date(2025, 5, 1)},
        ],
    )
    keep = first.operators.get(user=clinician)
    second = actions.supersede_approval(
        first,
        acting_user=governance,
        reason="Olga's credential was not renewed",
        carry_over=[keep],
        clinical_lead=clinician,
        **new_decision(),
    )
    assert [c.user for c in second.operators.all()] == [clinician]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": ""}, "Give the reason for the committee's new decision"),
        ({"decision_date": date(2024, 1, 1)}, "cannot be dated before the decision it supersedes"),
        ({"procedure_type": "idet"}, "supersedes an approval of the same procedure"),
        ({"guidance": "IPG319"}, "HTG670"),
    ],
)
def test_a_bad_supersession_is_refused_and_nothing_changes(
    site_a, governance, clinician, change, message
):
    first = credentialed_approval(site_a, governance, clinician)
    fields = {**new_decision(), "reason": "Review", "clinical_lead": clinician, **change}
    if isinstance(fields["guidance"], str):
        fields["guidance"] = Guidance.objects.get(key=fields["guidance"])
    audited = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        actions.supersede_approval(first, acting_user=governance, **fields)
    first.refresh_from_db()
    assert first.in_force and LocalApproval.objects.count() == 1
    assert AuditEvent.objects.count() == audited


def test_a_superseded_or_withdrawn_approval_cannot_be_superseded_withdrawn_or_credentialed(
    site_a, governance, clinician
):
    first = credentialed_approval(site_a, governance, clinician)
    actions.supersede_approval(
        first, acting_user=governance, reason="Review", clinical_lead=clinician, **new_decision()
    )
    first.refresh_from_db()
    with pytest.raises(ValidationError, match="already superseded"):
        actions.supersede_approval(
            first, acting_user=governance, reason="Again", clinical_lead=clinician, **new_decision()
        )
    with pytest.raises(ValidationError, match="superseded on"):
        actions.withdraw_approval(
            first, acting_user=governance, withdrawn_on=NEW_DECISION, reason="Recall"
        )
    with pytest.raises(ValidationError, match="no longer in force"):
        actions.credential_operator(
            first,
            acting_user=governance,
            user=clinician,
            training="Late",
            credentialed_on=NEW_DECISION,
        )


def test_after_a_withdrawal_a_new_decision_is_recorded_not_superseded(
    site_a, governance, clinician
):
    first = approve(site_a, governance, clinician)
    withdrawn_on = date.today() - timedelta(days=20)
    actions.withdraw_approval(
        first, acting_user=governance, withdrawn_on=withdrawn_on, reason="Device recall"
    )
    with pytest.raises(ValidationError, match="was withdrawn on"):
        actions.supersede_approval(
            first, acting_user=governance, reason="Back", clinical_lead=clinician, **new_decision()
        )
    with pytest.raises(ValidationError, match="date the new decision on or after"):
        approve(site_a, governance, clinician, decision_date=withdrawn_on - timedelta(days=1))
    again = approve(site_a, governance, clinician, decision_date=withdrawn_on)
    assert again.in_force


@pytest.mark.parametrize(
    ("procedure_type", "key", "accepted"),
    [
        ("idet", "HTG670", False),  # the case found: IDET approved citing HTG670
        ("idet", "IPG319", True),
        # An earlier document the governing one replaced still covers (flagged for review).
        ("rfa_kyphoplasty", "ID1783", True),
        ("rfa_spinal_metastasis", "IPCD-2022-RFA-SPINAL-METASTASES", True),
        ("rfa_vertebroplasty", "IPG319", False),
        ("rfa_vertebroplasty", "HTG670", True),
        ("osteoid_osteoma_thermocoagulation", "IPG53", True),
        ("osteoid_osteoma_thermocoagulation", "HTG670", False),
    ],
)
def test_the_cited_guidance_must_cover_the_procedure(
    site_a, governance, clinician, procedure_type, key, accepted
):
    if accepted:
        approve(site_a, governance, clinician, procedure_type=procedure_type, key=key)
        assert LocalApproval.objects.count() == 1
    else:
        with pytest.raises(ValidationError, match=f"{key} does not cover"):
            approve(site_a, governance, clinician, procedure_type=procedure_type, key=key)
        assert not LocalApproval.objects.exists()


# Through the pages.


def test_the_page_refuses_a_second_approval_and_points_to_supersede(
    client, site_a, governance, clinician
):
    credentialed_approval(site_a, governance, clinician)
    login(client, governance)
    response = client.post(
        reverse("approval_create"), approval_post(clinician, decision_date="2026-05-01")
    )
    assert response.status_code == 200
    assert "supersede it" in response.content.decode()
    assert LocalApproval.objects.count() == 1


def test_a_governance_lead_supersedes_from_the_approval_page_and_the_page_says_so(
    client, site_a, governance, clinician
):
    first = credentialed_approval(site_a, governance, clinician)
    login(client, governance)
    detail = client.get(reverse("approval_detail", args=[first.pk])).content.decode()
    url = reverse("approval_supersede", args=[first.pk])
    assert url in detail
    form = client.get(url).content.decode()
    assert "Credentialed operators to carry over" in form and "Vertebroplasty" in form
    credential = first.operators.get()
    post = approval_post(clinician, decision_date="2026-05-01", review_date="2028-05-01")
    post.pop("procedure_type")
    refused = client.post(url, {**post, "carry_over": [credential.pk]})
    assert refused.status_code == 200 and "Give the reason" in refused.content.decode()
    assert LocalApproval.objects.count() == 1
    saved = client.post(
        url,
        {**post, "carry_over": [credential.pk], "supersession_reason": "Review after two years"},
        follow=True,
    )
    page = saved.content.decode()
    assert "1 credentialed operator was carried over" in page
    assert "carried over" in page.split('id="operators"')[1]
    second = LocalApproval.objects.get(superseded_on__isnull=True)
    assert second.supersedes == first
    assert CredentialedOperator.objects.get(approval=second).carried_over_from == credential
    old = client.get(reverse("approval_detail", args=[first.pk])).content.decode()
    assert "Superseded" in old and "Review after two years" in old
    assert url not in old  # nothing left to supersede


def test_a_clinician_cannot_supersede(client, site_a, governance, clinician):
    first = credentialed_approval(site_a, governance, clinician)
    login(client, clinician)
    post = approval_post(clinician, decision_date="2026-05-01", supersession_reason="Mine")
    url = reverse("approval_supersede", args=[first.pk])
    assert client.post(url, post).status_code == 403
    first.refresh_from_db()
    assert first.in_force and LocalApproval.objects.count() == 1


def test_an_approval_citing_replaced_guidance_is_flagged_for_review(site_a, governance, clinician):
    # IPG544 (January 2016) replaced IPG319 and covers intradiscal electrothermal therapy.
    approval = approve(site_a, governance, clinician, procedure_type="idet", key="IPG319")
    from thermablate.registry.approvals import review_flags

    flags = {flag.code: flag.message for flag in review_flags(approval)}
    assert "IPG544" in flags["replaced"] and "nice.org.uk/guidance/ipg544" in flags["replaced"]
    guidance = Guidance.objects.get(key="IPG319")
    assert guidance.record["replaced_by"] == ["IPG544"]


# A credential withdrawn (issue 12, item 2: governance records are corrected too).


def test_a_withdrawn_credential_no_longer_covers_the_operator_and_is_audited(
    patient, lesion, decided, site_a, governance, clinician
):
    approval = credentialed_approval(site_a, governance, clinician)
    credential = approval.operators.get()
    withdrawn_on = date.today() - timedelta(days=10)
    for refused, message in (
        ({"reason": " "}, "Give the reason"),
        ({"withdrawn_on": date.today() + timedelta(days=1)}, "cannot be in the future"),
        ({"withdrawn_on": date(2025, 4, 30)}, "before it was given"),
    ):
        arguments = {"withdrawn_on": withdrawn_on, "reason": "Left the trust", **refused}
        with pytest.raises(ValidationError, match=message):
            actions.withdraw_credential(credential, acting_user=governance, **arguments)
    actions.withdraw_credential(
        credential, acting_user=governance, withdrawn_on=withdrawn_on, reason="Left the trust"
    )
    credential.refresh_from_db()
    assert credential.withdrawn_on == withdrawn_on
    entry = AuditEvent.objects.filter(model="credentialedoperator", action="update").get()
    assert entry.changes["reason"] == "Left the trust"
    # From that day the operator needs an override; before it the credential still covers.
    with pytest.raises(ValidationError, match="not credentialed"):
        record(patient, lesion, clinician, procedure_date=withdrawn_on)
    earlier = record(patient, lesion, clinician, procedure_date=withdrawn_on - timedelta(days=1))
    assert earlier.governance.uncredentialed_operators == []
    # A withdrawn credential is not carried over to the committee's next decision.
    second = actions.supersede_approval(
        approval, acting_user=governance, reason="Review", clinical_lead=clinician, **new_decision()
    )
    assert not second.operators.exists()


def test_a_governance_lead_withdraws_a_credential_from_the_approval_page(
    client, site_a, governance, clinician
):
    approval = credentialed_approval(site_a, governance, clinician)
    credential = approval.operators.get()
    url = reverse("credential_withdraw", args=[approval.pk, credential.pk])
    login(client, governance)
    assert url in client.get(reverse("approval_detail", args=[approval.pk])).content.decode()
    day = date.today() - timedelta(days=3)
    response = client.post(
        url,
        {
            "withdrawn_on_day": str(day.day),
            "withdrawn_on_month": str(day.month),
            "withdrawn_on_year": str(day.year),
            "reason": "Recorded against the wrong approval",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Credential withdrawn" in page and "Recorded against the wrong approval" in page
    login(client, clinician)
    assert client.post(url, {"reason": "x"}).status_code == 403
