"""Local approval, credentialed operators, and the checks made when a procedure is recorded."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import login, make_user, procedure_fields
from thermablate.guidance.models import Guidance
from thermablate.registry import actions
from thermablate.registry import actions as registry_actions
from thermablate.registry.approvals import review_flags, special_arrangements_checklist
from thermablate.registry.models import LocalApproval, Procedure, ProcedureGovernance

CYCLES = [{"target_temp_c": 70, "time_at_target_s": 300}]


def approve(
    site,
    governance,
    lead,
    *,
    procedure_type="rfa_vertebroplasty",
    key="HTG670",
    decision="approved_standard",
    **extra,
):
    fields = {
        "procedure_type": procedure_type,
        "guidance": Guidance.objects.get(key=key),
        "decision": decision,
        "committee": "NIPC",
        "decision_date": date(2025, 5, 1),
        "clinical_lead": lead,
        "review_date": date(2027, 5, 1),
        **extra,
    }
    return actions.record_approval(site=site, acting_user=governance, **fields)


def approval_post(lead, **overrides):
    data = {
        "procedure_type": "rfa_vertebroplasty",
        "guidance": Guidance.objects.get(key="HTG670").pk,
        "decision": "approved_standard",
        "committee": "New Interventional Procedures Committee",
        "decision_date": "2025-05-01",
        "clinical_lead": lead.pk,
        "conditions": "Audit all cases",
        "review_date": "2027-05-01",
    }
    data.update(overrides)
    return data


def test_a_governance_lead_records_an_approval_in_the_browser_form(client, governance, clinician):
    login(client, governance)
    response = client.post(reverse("approval_create"), approval_post(clinician))
    approval = LocalApproval.objects.get()
    assert response.status_code == 302
    assert approval.guidance_recommendation == "standard" and approval.guidance_version == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"decision_date": ""}, "Decision date must include a day, month and year"),
        ({"decision": ""}, "This field is required"),
        ({"review_date": "2025-04-01"}, "review date must come after"),
        ({"decision": "approved_special"}, "governance leads must be informed"),
    ],
)
def test_a_bad_approval_is_refused(client, governance, clinician, overrides, message):
    login(client, governance)
    response = client.post(reverse("approval_create"), approval_post(clinician, **overrides))
    assert message in response.content.decode()
    assert not LocalApproval.objects.exists()


def test_only_governance_leads_record_approvals(client, clinician):
    login(client, clinician)
    assert client.get(reverse("approval_create")).status_code == 403
    assert client.post(reverse("approval_create"), approval_post(clinician)).status_code == 403


def test_a_procedure_not_approved_at_the_site_is_refused(patient, lesion, clinician):
    with pytest.raises(ValidationError, match="not been approved at your site"):
        actions.record_governed_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(lesion),
        )
    assert not Procedure.objects.exists()


def test_a_not_approved_decision_refuses_the_procedure(
    patient, lesion, clinician, governance, site_a
):
    approve(site_a, governance, clinician, decision="not_approved")
    with pytest.raises(ValidationError, match="Not approved"):
        actions.record_governed_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(lesion),
        )


def test_an_operator_not_credentialed_needs_an_override_with_a_reason(
    patient, lesion, decided, clinician, governance, site_a
):
    approve(site_a, governance, clinician)
    with pytest.raises(ValidationError, match="not credentialed"):
        actions.record_governed_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=CYCLES,
            **procedure_fields(lesion),
        )
    assert not Procedure.objects.exists()
    procedure = actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        override_reason="Proctored by the clinical lead",
        **procedure_fields(lesion),
    )
    governance_record = ProcedureGovernance.objects.get(procedure=procedure)
    assert governance_record.uncredentialed_operators == [clinician.username]
    assert governance_record.override_reason == "Proctored by the clinical lead"


def test_a_credentialed_operator_needs_no_override(
    patient, lesion, decided, clinician, governance, site_a
):
    approval = approve(site_a, governance, clinician)
    actions.credential_operator(
        approval,
        acting_user=governance,
        user=clinician,
        training="Vertebroplasty",
        credentialed_on=date(2025, 5, 1),
    )
    procedure = actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        **procedure_fields(lesion),
    )
    assert not procedure.governance.has_override


def test_operators_of_another_site_cannot_be_credentialed(site_a, governance, clinician, outsider):
    approval = approve(site_a, governance, clinician)
    with pytest.raises(ValidationError, match="Only staff of the approving site"):
        actions.credential_operator(
            approval,
            acting_user=governance,
            user=outsider,
            training="x",
            credentialed_on=date(2025, 1, 1),
        )


def test_the_governance_view_shows_overrides(
    client, patient, lesion, decided, clinician, governance, site_a
):
    approve(site_a, governance, clinician)
    actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        override_reason="Emergency list, lead absent",
        **procedure_fields(lesion),
    )
    login(client, governance)
    page = client.get(reverse("governance")).content.decode()
    overrides = page.split('id="overrides"')[1]
    assert patient.registry_number in overrides and "Emergency list, lead absent" in overrides


def test_a_change_of_nice_recommendation_flags_approvals_for_review(
    site_a, governance, clinician, tmp_path
):
    draft = approve(
        site_a,
        governance,
        clinician,
        procedure_type="rfa_spinal_metastasis",
        key="IPCD-2022-RFA-SPINAL-METASTASES",
        decision="approved_special",
        governance_leads_informed=True,
    )
    # The approval rests on the 2022 draft (special); its successor HTG670 recommends standard.
    flags = {f.code: f.message for f in review_flags(draft, today=date(2026, 1, 1))}
    assert "superseded" in flags and "HTG670" in flags["superseded"]
    current = approve(site_a, governance, clinician)
    assert review_flags(current, today=date(2026, 1, 1)) == []
    # NICE later changes HTG670 itself: the approval made under version 1 is flagged.
    from thermablate.guidance.record import GuidanceRecord

    record = Guidance.objects.get(key="HTG670").record
    actions.import_record(
        GuidanceRecord.from_dict({**record, "recommendation": "special"}), key="HTG670"
    )
    current.refresh_from_db()
    codes = [f.code for f in review_flags(current, today=date(2026, 1, 1))]
    assert codes == ["recommendation_changed"]
    assert [f.code for f in review_flags(current, today=date(2027, 6, 1))] == [
        "recommendation_changed",
        "review_due",
    ]


def test_special_arrangements_show_a_checklist_on_the_patient_page(
    client, patient, lesion, clinician, governance, site_a, today
):
    approval = approve(
        site_a,
        governance,
        clinician,
        procedure_type="rfa_spinal_metastasis",
        key="IPCD-2022-RFA-SPINAL-METASTASES",
        decision="approved_special",
        governance_leads_informed=True,
    )
    actions.credential_operator(
        approval,
        acting_user=governance,
        user=clinician,
        training="RFA",
        credentialed_on=date(2025, 5, 1),
    )
    actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        pathway_override_reason="Urgent: cord compression; MDT and consent recorded after",
        **procedure_fields(
            lesion, procedure_type="rfa_spinal_metastasis", cement="none", cement_volume_ml=None
        ),
    )
    items = {i.label: i.done for i in special_arrangements_checklist(patient)}
    assert items["Clinical governance leads informed"] is True
    assert (
        items["Written information given"] is False
        and items["Selected by a multidisciplinary team"] is False
    )
    # A consent dated after the procedure does not count as written information before it.
    registry_actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=procedure_fields(lesion)["procedure_date"] + timedelta(days=1),
        leaflet_title="RFA leaflet",
        leaflet_version="1",
    )
    items = {i.label: i.done for i in special_arrangements_checklist(patient)}
    assert items["Written information given"] is False
    registry_actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=procedure_fields(lesion)["procedure_date"] - timedelta(days=1),
        leaflet_title="RFA leaflet",
        leaflet_version="1",
        uncertainties_discussed=True,
        registry_audit_consent=True,
    )
    login(client, clinician)
    page = client.get(reverse("patient_detail", args=[patient.registry_number])).content.decode()
    checklist = page.split('id="special-arrangements"')[1].split("</ul>")[0]
    assert checklist.count('data-done="yes"') == 4 and checklist.count('data-done="no"') == 1
    assert "Selected by a multidisciplinary team" in checklist


def test_standard_arrangements_show_no_checklist(client, procedure, clinician, governance, site_a):
    approve(site_a, governance, clinician)
    login(client, clinician)
    page = client.get(
        reverse("patient_detail", args=[procedure.patient.registry_number])
    ).content.decode()
    assert 'id="special-arrangements"' not in page


def test_another_sites_governance_lead_sees_none_of_it(
    client, site_a, site_b, governance, clinician
):
    approval = approve(site_a, governance, clinician)
    other = make_user(site_b, "governance", "gwen")
    login(client, other)
    assert client.get(reverse("approval_detail", args=[approval.pk])).status_code == 404
    assert "Vertebroplasty" not in client.get(reverse("governance")).content.decode()


# Withdrawal: the committee takes its approval back (issue #10: nothing set or tested it).


def record(patient, lesion, clinician, **overrides):
    return actions.record_governed_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=CYCLES,
        **procedure_fields(lesion, **overrides),
    )


def credentialed_approval(site, governance, clinician):
    return approve(
        site,
        governance,
        clinician,
        operators=[
            {"user": clinician, "training": "Vertebroplasty", "credentialed_on": date(2025, 5, 1)}
        ],
    )


def test_a_withdrawn_approval_no_longer_authorises_a_procedure(
    patient, lesion, decided, clinician, governance, site_a
):
    approval = credentialed_approval(site_a, governance, clinician)
    withdrawn_on = date.today() - timedelta(days=10)
    actions.withdraw_approval(
        approval, acting_user=governance, withdrawn_on=withdrawn_on, reason="Device recall"
    )
    with pytest.raises(ValidationError, match="not been approved at your site"):
        record(patient, lesion, clinician, procedure_date=withdrawn_on)
    assert not Procedure.objects.exists()
    # A procedure done while the approval stood is still authorised by it, even recorded late.
    earlier = record(patient, lesion, clinician, procedure_date=withdrawn_on - timedelta(days=1))
    assert earlier.governance.approval == approval


def test_withdrawal_is_audited_with_its_reason_and_needs_a_reason_and_a_sane_date(
    clinician, governance, site_a
):
    from thermablate.registry.models import AuditEvent

    approval = credentialed_approval(site_a, governance, clinician)
    for withdrawn_on, reason, message in [
        (date.today(), "  ", "reason"),
        (date.today() + timedelta(days=1), "Recall", "future"),
        (date(2025, 4, 30), "Recall", "before it was decided"),
    ]:
        with pytest.raises(ValidationError, match=message):
            actions.withdraw_approval(
                approval, acting_user=governance, withdrawn_on=withdrawn_on, reason=reason
            )
    approval.refresh_from_db()
    assert approval.withdrawn_on is None
    actions.withdraw_approval(
        approval, acting_user=governance, withdrawn_on=date.today(), reason="Device recall"
    )
    entry = AuditEvent.objects.filter(model="localapproval", action="update").get()
    assert entry.actor == governance
    assert entry.changes["withdrawal_reason"] == {"old": "", "new": "Device recall"}
    assert entry.changes["withdrawn_on"]["new"] == str(date.today())
    with pytest.raises(ValidationError, match="already withdrawn"):
        actions.withdraw_approval(
            approval, acting_user=governance, withdrawn_on=date.today(), reason="Again"
        )


def test_a_governance_lead_withdraws_an_approval_from_its_page(
    client, clinician, governance, site_a
):
    approval = credentialed_approval(site_a, governance, clinician)
    login(client, governance)
    page = client.get(reverse("approval_detail", args=[approval.pk])).content.decode()
    assert reverse("approval_withdraw", args=[approval.pk]) in page
    url = reverse("approval_withdraw", args=[approval.pk])
    refused = client.post(url, {"withdrawn_on": str(date.today()), "reason": ""})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    response = client.post(url, {"withdrawn_on": str(date.today()), "reason": "Device recall"})
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.withdrawn_on == date.today()
    page = client.get(reverse("approval_detail", args=[approval.pk])).content.decode()
    assert "Device recall" in page
    assert reverse("approval_withdraw", args=[approval.pk]) not in page


def test_a_clinician_cannot_withdraw_an_approval(client, clinician, governance, site_a):
    approval = credentialed_approval(site_a, governance, clinician)
    login(client, clinician)
    url = reverse("approval_withdraw", args=[approval.pk])
    response = client.post(url, {"withdrawn_on": str(date.today()), "reason": "No"})
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.withdrawn_on is None


# The writer itself refuses what its callers' filters are meant to keep out.


def test_the_writer_refuses_an_operator_of_another_site(
    patient, lesion, clinician, governance, site_a, outsider
):
    credentialed_approval(site_a, governance, clinician)
    with pytest.raises(ValidationError, match="staff of the patient's site"):
        actions.record_governed_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician, outsider],
            cycles=CYCLES,
            override_reason="Visiting consultant",
            **procedure_fields(lesion),
        )
    with pytest.raises(ValidationError, match="staff of the patient's site"):
        actions.record_procedure(
            patient,
            acting_user=clinician,
            operators=[outsider],
            cycles=CYCLES,
            **procedure_fields(lesion),
        )
    assert not Procedure.objects.exists()


def test_the_governance_of_every_procedure_is_validated_and_audited(
    patient, lesion, decided, clinician, governance, site_a
):
    from thermablate.registry.models import AuditEvent

    credentialed_approval(site_a, governance, clinician)
    procedure = record(patient, lesion, clinician)
    entry = AuditEvent.objects.get(model="proceduregovernance")
    assert entry.action == "create"
    assert entry.object_id == str(procedure.governance.pk)
    assert entry.changes["new"]["uncredentialed_operators"] == []
