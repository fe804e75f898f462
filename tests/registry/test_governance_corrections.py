"""Correcting a site's governance records (issue 12, item 2: "corrections ... for every
clinical record and every governance record (..., local approval, credential)").

Found: a local approval or a credential typed wrong (the committee's name, a review date, the
clinical lead, the guidance cited, an operator's training or credential date) could only be
superseded or withdrawn, which records a decision the committee never made. A governance lead
now corrects it, with a reason, through one writer that audits the old and new values and
refuses a stale page; a correction that would take the approval away from procedures already
recorded under it is refused, naming them."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import login
from tests.registry.test_approvals import approve
from tests.registry.test_pathway_rules import governed
from thermablate.guidance.models import Guidance
from thermablate.registry import actions
from thermablate.registry.approvals import review_flags
from thermablate.registry.models import AuditEvent, CredentialedOperator, LocalApproval


@pytest.fixture
def vertebroplasty(approved_site):
    return next(a for a in approved_site if a.procedure_type == "rfa_vertebroplasty")


@pytest.fixture
def procedure(patient, lesion, clinician, approved_site, decided):
    """A procedure recorded through the governed writer, so it stands under the approval."""
    return governed(patient, lesion, clinician, procedure_type="rfa_vertebroplasty")


def last_update(record):
    return AuditEvent.objects.filter(
        model=record._meta.model_name, object_id=str(record.pk), action="update"
    ).latest("id")


def test_a_governance_lead_corrects_an_approval_and_the_trail_keeps_old_new_and_reason(
    vertebroplasty, governance
):
    corrected = actions.correct_approval(
        vertebroplasty,
        {"committee": "New Procedures Committee", "review_date": date(2027, 3, 1)},
        reason="Committee name and review date mistyped",
        acting_user=governance,
        expected_version=1,
    )
    assert corrected.version == 2
    stored = LocalApproval.objects.get(pk=vertebroplasty.pk)
    assert stored.committee == "New Procedures Committee"
    assert stored.review_date == date(2027, 3, 1)
    changes = last_update(stored).changes
    assert changes["committee"] == {
        "old": "New Interventional Procedures Committee",
        "new": "New Procedures Committee",
    }
    assert changes["reason"] == "Committee name and review date mistyped"
    assert last_update(stored).actor == governance


def test_a_correction_without_a_reason_or_from_a_stale_page_changes_nothing(
    vertebroplasty, governance
):
    with pytest.raises(ValidationError, match="Give the reason"):
        actions.correct_approval(
            vertebroplasty, {"committee": "X"}, reason=" ", acting_user=governance,
            expected_version=1,
        )  # fmt: skip
    actions.correct_approval(
        vertebroplasty, {"conditions": "Two operators"}, reason="Omitted",
        acting_user=governance, expected_version=1,
    )  # fmt: skip
    with pytest.raises(actions.StaleRecordError, match="changed"):
        actions.correct_approval(
            vertebroplasty, {"committee": "X"}, reason="Typo", acting_user=governance,
            expected_version=1,
        )  # fmt: skip
    assert LocalApproval.objects.get(pk=vertebroplasty.pk).committee != "X"


def test_the_corrected_guidance_must_cover_the_procedure(vertebroplasty, governance):
    with pytest.raises(ValidationError, match="does not cover"):
        actions.correct_approval(
            vertebroplasty, {"guidance": Guidance.objects.get(key="IPG319")}, reason="Cited",
            acting_user=governance, expected_version=1,
        )  # fmt: skip
    assert LocalApproval.objects.get(pk=vertebroplasty.pk).version == 1


def test_a_corrected_decision_date_cannot_overlap_the_decision_it_followed(
    site_a, governance, clinician
):
    first = approve(site_a, governance, clinician)
    actions.withdraw_approval(
        first, acting_user=governance, withdrawn_on=date(2025, 6, 1), reason="Device recall"
    )
    second = approve(site_a, governance, clinician, decision_date=date(2025, 7, 1))
    with pytest.raises(ValidationError, match="in force until 01 June 2025"):
        actions.correct_approval(
            second, {"decision_date": date(2025, 5, 15)}, reason="Typo", acting_user=governance,
            expected_version=1,
        )  # fmt: skip
    actions.correct_approval(
        second, {"decision_date": date(2025, 6, 2)}, reason="Typo", acting_user=governance,
        expected_version=1,
    )  # fmt: skip
    assert LocalApproval.objects.get(pk=second.pk).decision_date == date(2025, 6, 2)


def test_a_correction_that_would_leave_recorded_procedures_without_approval_is_refused(
    vertebroplasty, governance, procedure
):
    assert procedure.governance.approval == vertebroplasty
    for fields in (
        {"decision_date": procedure.procedure_date + timedelta(days=1)},
        {"decision": "not_approved"},
    ):
        with pytest.raises(ValidationError) as refused:
            actions.correct_approval(
                vertebroplasty, fields, reason="Wrong", acting_user=governance,
                expected_version=1,
            )  # fmt: skip
        assert f"recorded under this approval, on {procedure.procedure_date:%d %B %Y}" in str(
            refused.value
        )
    assert LocalApproval.objects.get(pk=vertebroplasty.pk).version == 1


def test_a_credential_is_corrected_and_one_that_would_uncover_a_procedure_is_refused(
    vertebroplasty, governance, clinician, procedure
):
    credential = vertebroplasty.operators.get(user=clinician)
    actions.correct_credential(
        credential, {"training": "Vertebroplasty and kyphoplasty, 60 cases"},
        reason="Case count omitted", acting_user=governance, expected_version=1,
    )  # fmt: skip
    stored = CredentialedOperator.objects.get(pk=credential.pk)
    assert stored.training.endswith("60 cases") and stored.version == 2
    assert last_update(stored).changes["reason"] == "Case count omitted"
    with pytest.raises(ValidationError, match="recorded under this approval"):
        actions.correct_credential(
            stored, {"credentialed_on": procedure.procedure_date + timedelta(days=1)},
            reason="Date", acting_user=governance, expected_version=2,
        )  # fmt: skip


# Through the pages: the governance lead only, on the approval's page.


def test_the_governance_lead_corrects_an_approval_from_its_page(client, vertebroplasty, governance):
    login(client, governance)
    detail = client.get(reverse("approval_detail", args=[vertebroplasty.pk])).content.decode()
    url = reverse("approval_correct", args=[vertebroplasty.pk])
    assert f'href="{url}"' in detail
    form = client.get(url).content.decode()
    assert "New Interventional Procedures Committee" in form  # the stored values
    post = {
        "guidance": vertebroplasty.guidance.pk,
        "decision": vertebroplasty.decision,
        "committee": "NIPC (corrected)",
        "decision_date": str(vertebroplasty.decision_date),
        "clinical_lead": vertebroplasty.clinical_lead.pk,
        "conditions": "",
        "review_date": str(vertebroplasty.review_date),
        "version": "1",
        "reason": "",
    }
    refused = client.post(url, post)
    assert refused.status_code == 200 and "Give the reason" in refused.content.decode()
    assert LocalApproval.objects.get(pk=vertebroplasty.pk).version == 1
    saved = client.post(url, {**post, "reason": "Name mistyped"})
    assert saved.status_code == 302
    assert LocalApproval.objects.get(pk=vertebroplasty.pk).committee == "NIPC (corrected)"


def test_the_governance_lead_corrects_a_credential_from_the_approval_page(
    client, vertebroplasty, governance, clinician
):
    credential = vertebroplasty.operators.get(user=clinician)
    login(client, governance)
    url = reverse("credential_correct", args=[vertebroplasty.pk, credential.pk])
    detail = client.get(reverse("approval_detail", args=[vertebroplasty.pk])).content.decode()
    assert f'href="{url}"' in detail
    saved = client.post(
        url,
        {
            "training": "Vertebroplasty, 60 cases",
            "credentialed_on": str(credential.credentialed_on),
            "version": "1",
            "reason": "Case count omitted",
        },
    )
    assert saved.status_code == 302
    assert CredentialedOperator.objects.get(pk=credential.pk).training == "Vertebroplasty, 60 cases"


def test_a_clinician_cannot_correct_governance_records(client, vertebroplasty, clinician):
    credential = vertebroplasty.operators.get(user=clinician)
    login(client, clinician)
    for url in (
        reverse("approval_correct", args=[vertebroplasty.pk]),
        reverse("credential_correct", args=[vertebroplasty.pk, credential.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {"committee": "X", "reason": "Mine"}).status_code == 403


def test_an_approval_whose_clinical_lead_has_left_can_still_be_corrected(
    client, vertebroplasty, governance, clinician
):
    """Found in review: the lead had to work at the site still, so a typo in an old approval
    could only be fixed by naming someone else as the lead."""
    clinician.is_active = False
    clinician.save()
    actions.correct_approval(
        vertebroplasty, {"committee": "NIPC"}, reason="Name mistyped", acting_user=governance,
        expected_version=1,
    )  # fmt: skip
    login(client, governance)
    url = reverse("approval_correct", args=[vertebroplasty.pk])
    saved = client.post(
        url,
        {
            "guidance": vertebroplasty.guidance.pk,
            "decision": vertebroplasty.decision,
            "committee": "NIPC (again)",
            "decision_date": str(vertebroplasty.decision_date),
            "clinical_lead": clinician.pk,  # the lead who has left, unchanged
            "conditions": "",
            "review_date": str(vertebroplasty.review_date),
            "version": "2",
            "reason": "Name mistyped again",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    stored = LocalApproval.objects.get(pk=vertebroplasty.pk)
    assert stored.committee == "NIPC (again)" and stored.clinical_lead == clinician


def test_a_credential_correction_is_not_refused_for_procedures_it_does_not_move(
    vertebroplasty, governance, clinician, procedure
):
    """Found in review: a procedure dated before the credential (recorded as covered, since
    the approval's check does not read the credential's date) made every correction of the
    credential refused, a typo in its training included."""
    credential = vertebroplasty.operators.get(user=clinician)
    credential.credentialed_on = procedure.procedure_date + timedelta(days=5)
    credential.save()
    actions.correct_credential(
        credential, {"training": "Vertebroplasty, 60 cases"}, reason="Typo",
        acting_user=governance, expected_version=1,
    )  # fmt: skip
    assert CredentialedOperator.objects.get(pk=credential.pk).training == "Vertebroplasty, 60 cases"


def _nice_changed(key: str, recommendation: str, *, first_held: date, changed: date):
    """NICE changed ``key``'s recommendation: the catalogue first held it on ``first_held`` and
    imported the change on ``changed``."""
    from thermablate.guidance.models import GuidanceVersion
    from thermablate.guidance.record import GuidanceRecord

    guidance = Guidance.objects.get(key=key)
    before = guidance.recommendation
    assert before != recommendation
    actions.import_record(
        GuidanceRecord.from_dict({**guidance.record, "recommendation": recommendation}), key=key
    )
    for version, day in ((1, first_held), (2, changed)):
        GuidanceVersion.objects.filter(guidance=guidance, version=version).update(
            imported_at=timezone.make_aware(datetime.combine(day, time(12)))
        )
    return before


def test_a_corrected_citation_rests_on_what_nice_said_when_the_committee_decided(
    approved_site, governance
):
    # Found in session 14's review: a corrected citation took NICE's current version, so a
    # recommendation changed since the decision raised no review flag.
    idet = next(a for a in approved_site if a.procedure_type == "idet")  # cites IPG544
    assert idet.decision_date == date(2025, 1, 15)
    before = _nice_changed(
        "IPG319", "do_not_use", first_held=date(2024, 1, 1), changed=date(2025, 6, 1)
    )
    actions.correct_approval(
        idet, {"guidance": Guidance.objects.get(key="IPG319")},
        reason="The committee cited IPG319", acting_user=governance, expected_version=1,
    )  # fmt: skip
    idet.refresh_from_db()
    assert (idet.guidance_version, idet.guidance_recommendation) == (1, before)
    assert "recommendation_changed" in [f.code for f in review_flags(idet, today=date(2026, 1, 1))]
    # The decision's date corrected to after NICE's change: the approval rests on the change.
    actions.correct_approval(
        idet, {"decision_date": date(2025, 7, 1)}, reason="Date mistyped",
        acting_user=governance, expected_version=2,
    )  # fmt: skip
    idet.refresh_from_db()
    assert (idet.guidance_version, idet.guidance_recommendation) == (2, "do_not_use")
    assert "recommendation_changed" not in [
        f.code for f in review_flags(idet, today=date(2026, 1, 1))
    ]


def test_a_decision_recorded_late_rests_on_what_nice_said_on_its_date(
    site_a, governance, clinician
):
    before = _nice_changed(
        "HTG670", "special", first_held=date(2024, 1, 1), changed=date(2025, 6, 1)
    )
    late = approve(site_a, governance, clinician)  # decided 1 May 2025, recorded today
    assert (late.guidance_version, late.guidance_recommendation) == (1, before)
    assert [f.code for f in review_flags(late, today=date(2026, 1, 1))] == [
        "recommendation_changed"
    ]
