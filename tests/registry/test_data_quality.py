"""The Data quality page and the rules behind it, through the page as a signed-in user: each
finding listed with a link to its record, filtered, downloaded as CSV, resolved by correcting
the record or acknowledged with a reason; the same rules deciding one record on save."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import login
from thermablate.registry import actions, findings_store
from thermablate.registry import data_quality as dq
from thermablate.registry.csv_cells import neutralised
from thermablate.registry.models import (
    AuditEvent,
    DataQualityAcknowledgement,
    MdtDecisionRecord,
    Procedure,
)


def rule_counts(client, **query) -> dict[str, tuple[int, int]]:
    """(open, acknowledged) per rule, as the page's table of rules shows them."""
    response = client.get(reverse("data_quality"), query)
    assert response.status_code == 200
    rows = response.context["counts"]
    page = response.content.decode()
    for count in rows:
        assert (
            f'data-rule="{count.rule.code}" data-open="{count.open}" '
            f'data-acknowledged="{count.acknowledged}"' in page
        )
    return {count.rule.code: (count.open, count.acknowledged) for count in rows}


def listed(client, **query) -> list[str]:
    """The findings listed on the page, as "rule:record id"."""
    response = client.get(reverse("data_quality"), query)
    assert response.status_code == 200
    return [f"{f.rule.code}:{f.object_id}" for f in response.context["findings"]]


def record_pathway(patient, clinician, procedure):
    """An MDT decision to proceed and a consent before the procedure, the lot number and the
    codes: what the conftest procedure lacks."""
    actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=procedure.procedure_date - timedelta(days=10),
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="proceed",
        ecog_performance_status=1,
    )
    actions.record_consent(
        patient,
        acting_user=clinician,
        consent_date=procedure.procedure_date - timedelta(days=2),
        leaflet_title="RF ablation: information for patients",
        leaflet_version="2.0",
        nice_information_offered=True,
        uncertainties_discussed=True,
        registry_audit_consent=True,
    )


def test_it_lists_every_rule_with_its_counts(client, clinician, site_a):
    login(client, clinician)
    counts = rule_counts(client)
    assert list(counts) == [rule.code for rule in dq.RULES]
    assert set(counts.values()) == {(0, 0)}


def test_it_finds_what_the_conftest_procedure_lacks_with_links_to_the_records(
    client, clinician, procedure
):
    login(client, clinician)
    counts = rule_counts(client)
    # No MDT decision, no consent, no OPCS-4 codes, no lot number, no baseline answers.
    for code in (
        "procedure_without_prior_mdt",
        "procedure_without_prior_consent",
        "procedure_not_coded",
        "procedure_device_lot_missing",
    ):
        assert counts[code] == (1, 0), code
    assert counts["assessment_baseline_missing"] == (1, 0)
    assert counts["procedure_cement_mismatch"] == (0, 0)  # vertebroplasty with its cement
    page = client.get(reverse("data_quality"), {"rule": "procedure_not_coded"}).content.decode()
    assert f'href="{reverse("procedure_detail", args=[procedure.pk])}"' in page
    assert f"Procedure of {procedure.procedure_date:%-d %b %Y}" in page
    assert procedure.patient.registry_number in page
    assert procedure.patient.nhs_number not in page
    baseline = procedure.assessments.get(timepoint="baseline")
    page = client.get(
        reverse("data_quality"), {"rule": "assessment_baseline_missing"}
    ).content.decode()
    assert f'href="{reverse("assessment_record", args=[baseline.pk])}"' in page


def test_correcting_the_record_resolves_its_findings(client, clinician, patient, procedure):
    login(client, clinician)
    record_pathway(patient, clinician, procedure)
    actions.record_coding(procedure, acting_user=clinician, codes=["V44.2", "V55.1"])
    counts = rule_counts(client)
    assert counts["procedure_without_prior_mdt"] == (0, 0)
    assert counts["procedure_without_prior_consent"] == (0, 0)
    assert counts["procedure_not_coded"] == (0, 0)
    assert f"procedure_not_coded:{procedure.pk}" not in listed(client, status="all")


def test_an_mdt_decision_after_the_procedure_does_not_count(client, clinician, patient, procedure):
    actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=procedure.procedure_date + timedelta(days=1),
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="proceed",
    )
    login(client, clinician)
    assert rule_counts(client)["procedure_without_prior_mdt"] == (1, 0)


def test_a_procedure_after_a_not_suitable_decision_is_found(client, clinician, patient, procedure):
    record_pathway(patient, clinician, procedure)
    actions.record_mdt_decision(
        patient,
        acting_user=clinician,
        meeting_date=procedure.procedure_date - timedelta(days=1),
        member_roles=["interventional_radiologist", "clinical_oncologist"],
        decision="not_suitable",
        ecog_performance_status=3,
    )
    login(client, clinician)
    counts = rule_counts(client)
    assert counts["procedure_against_mdt_decision"] == (1, 0)
    assert counts["procedure_without_prior_mdt"] == (0, 0)
    # A later decision to proceed (a re-discussion) settles it.
    MdtDecisionRecord.objects.filter(decision="not_suitable").update(
        meeting_date=procedure.procedure_date - timedelta(days=20)
    )
    assert rule_counts(client)["procedure_against_mdt_decision"] == (0, 0)


def test_acknowledging_a_finding_keeps_the_reason_audits_it_and_leaves_the_open_count(
    client, coordinator, procedure
):
    login(client, coordinator)
    url = reverse("data_quality_acknowledge", args=["procedure_device_lot_missing", procedure.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert "The device lot number is not recorded" in form.content.decode()
    response = client.post(url, {"reason": "Lot not printed on this batch; manufacturer told."})
    assert response.status_code == 302
    ack = DataQualityAcknowledgement.objects.get()
    assert (ack.rule, ack.record_type, ack.object_id) == (
        "procedure_device_lot_missing",
        "procedure",
        procedure.pk,
    )
    assert ack.acknowledged_by == coordinator
    entry = AuditEvent.objects.get(model="dataqualityacknowledgement", action="create")
    assert entry.actor == coordinator and entry.patient_id == procedure.patient_id
    assert entry.changes["new"]["reason"] == "Lot not printed on this batch; manufacturer told."
    counts = rule_counts(client)
    assert counts["procedure_device_lot_missing"] == (0, 1)
    assert f"procedure_device_lot_missing:{procedure.pk}" not in listed(client)
    page = client.get(reverse("data_quality"), {"status": "acknowledged"}).content.decode()
    assert 'data-status="acknowledged"' in page
    assert "Lot not printed on this batch; manufacturer told." in page
    # A second acknowledgement of the same finding is refused, nothing added.
    again = client.post(url, {"reason": "again"})
    assert again.status_code == 200 and DataQualityAcknowledgement.objects.count() == 1


def test_an_acknowledgement_needs_a_reason(client, coordinator, procedure):
    login(client, coordinator)
    url = reverse("data_quality_acknowledge", args=["procedure_not_coded", procedure.pk])
    before = AuditEvent.objects.count()
    for reason in ("", "   "):
        response = client.post(url, {"reason": reason})
        assert response.status_code == 200
        assert "nhsuk-error-summary" in response.content.decode()
    assert not DataQualityAcknowledgement.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_corrected_record_has_nothing_to_acknowledge(client, coordinator, clinician, procedure):
    actions.record_coding(procedure, acting_user=clinician, codes=["V44.2"])
    login(client, coordinator)
    url = reverse("data_quality_acknowledge", args=["procedure_not_coded", procedure.pk])
    response = client.post(url, {"reason": "Coded elsewhere"}, follow=True)
    assert "no longer applies" in response.content.decode()
    assert not DataQualityAcknowledgement.objects.exists()
    with pytest.raises(ValidationError, match="no longer applies"):
        actions.acknowledge_finding(
            dq.RULE_BY_CODE["procedure_not_coded"],
            procedure,
            acting_user=clinician,
            reason="Coded elsewhere",
        )


@pytest.mark.parametrize("role", ["governance", "analyst", "administrator"])
def test_roles_that_do_not_change_records_cannot_acknowledge(client, request, procedure, role):
    login(client, request.getfixturevalue(role))
    url = reverse("data_quality_acknowledge", args=["procedure_not_coded", procedure.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "fine"}).status_code == 403
    assert not DataQualityAcknowledgement.objects.exists()


def test_who_may_read_the_page(client, request, procedure):
    for role, status in (
        ("clinician", 200),
        ("coordinator", 200),
        ("governance", 200),
        ("analyst", 200),
        ("administrator", 403),
    ):
        client.logout()
        login(client, request.getfixturevalue(role))
        assert client.get(reverse("data_quality")).status_code == status, role
    client.logout()
    anonymous = client.get(reverse("data_quality"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_a_user_of_another_site_sees_nothing_of_site_a(client, outsider, procedure):
    login(client, outsider)
    counts = rule_counts(client)
    assert set(counts.values()) == {(0, 0)}
    page = client.get(reverse("data_quality"), {"status": "all"}).content.decode()
    assert procedure.patient.registry_number not in page
    url = reverse("data_quality_acknowledge", args=["procedure_not_coded", procedure.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reason": "x"}).status_code == 404
    csv_text = b"".join(
        client.get(reverse("data_quality"), {"format": "csv", "status": "all"})
    ).decode()
    assert procedure.patient.registry_number not in csv_text


def test_an_unknown_rule_is_not_found(client, coordinator, procedure):
    login(client, coordinator)
    url = reverse("data_quality_acknowledge", args=["no_such_rule", procedure.pk])
    assert client.get(url).status_code == 404


def _more_procedures(patient, clinician, lesion, n):
    for index in range(n):
        actions.record_procedure(
            patient,
            acting_user=clinician,
            operators=[clinician],
            cycles=[{"target_temp_c": Decimal("70"), "time_at_target_s": 300}],
            lesion=lesion,
            procedure_date=procedure_date(index),
            procedure_type="rfa_spinal_metastasis",
            setting="day_case",
            anaesthesia="general",
            access="percutaneous",
            image_guidance=["ct"],
            device_manufacturer="Medtronic",
            device_model="OsteoCool",
            device_lot="L1",
            polarity="bipolar",
            active_tip_mm=Decimal("10"),
            thermal_protection=["thermocouple"],
            duration_min=60,
        )


def procedure_date(index):
    from django.utils import timezone

    return timezone.localdate() - timedelta(days=100 + index)


def test_filters_by_rule_and_by_kind_of_record(client, clinician, patient, lesion, procedure):
    _more_procedures(patient, clinician, lesion, 2)
    login(client, clinician)
    only_coding = listed(client, rule="procedure_not_coded")
    assert sorted(only_coding) == sorted(
        f"procedure_not_coded:{pk}" for pk in Procedure.objects.values_list("pk", flat=True)
    )
    assessments = listed(client, record_type="assessment")
    assert assessments and all(item.startswith("assessment_") for item in assessments)
    # Both filters: a rule of another kind of record lists nothing.
    assert listed(client, rule="procedure_not_coded", record_type="assessment") == []
    refused = client.get(reverse("data_quality"), {"rule": "<script>"})
    assert refused.status_code == 200 and list(refused.context["findings"]) == []
    assert "nhsuk-error-summary" in refused.content.decode()


def test_it_pages_through_the_findings_of_every_rule(client, clinician, patient, lesion, procedure):
    _more_procedures(patient, clinician, lesion, 12)
    login(client, clinician)
    counts = rule_counts(client)
    total = sum(open_ for open_, _ in counts.values())
    assert total > dq_page_size()
    seen = []
    page_number = 1
    while True:
        response = client.get(reverse("data_quality"), {"page": page_number})
        rows = [f"{f.rule.code}:{f.object_id}" for f in response.context["findings"]]
        assert len(rows) <= dq_page_size()
        seen += rows
        if not response.context["page"].has_next():
            break
        page_number += 1
    assert len(seen) == len(set(seen)) == total
    expected = {
        f"{f.rule.code}:{f.object_id}"
        for f in dq.iter_findings(procedure.patient.site, dq.RULES, dq.Status.OPEN)
    }
    assert set(seen) == expected


def dq_page_size():
    from thermablate.registry.data_quality_views import PER_PAGE

    return PER_PAGE


def test_the_csv_lists_the_filtered_findings_with_text_cells_defused(
    client, coordinator, procedure
):
    login(client, coordinator)
    client.post(
        reverse("data_quality_acknowledge", args=["procedure_device_lot_missing", procedure.pk]),
        {"reason": '=HYPERLINK("http://example.invalid")'},
    )
    response = client.get(reverse("data_quality"), {"format": "csv", "status": "all"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Rule", "Rule code", "Severity"]
    as_dicts = [dict(zip(header, row, strict=True)) for row in body]
    expected = {
        (f.rule.code, str(f.object_id))
        for f in dq.iter_findings(procedure.patient.site, dq.RULES, dq.Status.ALL)
    }
    assert {(row["Rule code"], row["Record id"]) for row in as_dicts} == expected
    acknowledged = next(r for r in as_dicts if r["Rule code"] == "procedure_device_lot_missing")
    assert acknowledged["Status"] == "Acknowledged"
    assert acknowledged["Reason"] == neutralised('=HYPERLINK("http://example.invalid")')
    assert acknowledged["Reason"].startswith("'=")
    assert acknowledged["Link"].endswith(reverse("procedure_detail", args=[procedure.pk]))
    export = AuditEvent.objects.filter(action="export").latest("id")
    assert export.actor == coordinator and export.changes["filters"] == {"status": "all"}
    # Filtered: one rule only, open ones only.
    only = client.get(reverse("data_quality"), {"format": "csv", "rule": "procedure_not_coded"})
    lines = list(csv.reader(io.StringIO(b"".join(only.streaming_content).decode())))[1:]
    assert [line[1] for line in lines] == ["procedure_not_coded"]


def test_findings_for_a_saved_record_use_the_same_rules(clinician, patient, lesion):
    procedure = actions.record_procedure(
        patient,
        acting_user=clinician,
        operators=[clinician],
        cycles=[
            {"target_temp_c": Decimal("38"), "time_at_target_s": 300},
            {"target_temp_c": Decimal("90"), "time_at_target_s": 2400},
        ],
        lesion=lesion,
        procedure_date=procedure_date(0),
        procedure_type="rfa_spinal_metastasis",
        setting="day_case",
        anaesthesia="general",
        access="percutaneous",
        image_guidance=["ct"],
        device_manufacturer="Medtronic",
        device_model="OsteoCool",
        device_lot="LOT-1",
        polarity="bipolar",
        active_tip_mm=Decimal("10"),
        cement="none",
        thermal_protection=["thermocouple"],
        duration_min=60,
    )
    # A row stored before the model refused a cement that does not match the procedure type.
    Procedure.objects.filter(pk=procedure.pk).update(
        cement="vertebroplasty", cement_volume_ml=Decimal("3")
    )
    found = dq.findings_for(procedure)
    by_rule = {}
    for item in found:
        by_rule.setdefault(item.rule.code, []).append(item)
    # The procedure's own findings and its cycles', saved on the same page.
    assert set(by_rule) == {
        "procedure_not_coded",
        "procedure_without_prior_mdt",
        "procedure_without_prior_consent",
        "procedure_cement_mismatch",  # RF ablation alone, with vertebroplasty cement
        "cycle_temperature_implausible",
        "cycle_duration_implausible",
    }
    first, second = procedure.cycles.order_by("order")
    assert [f.object_id for f in by_rule["cycle_temperature_implausible"]] == [first.pk]
    assert [f.object_id for f in by_rule["cycle_duration_implausible"]] == [second.pk]
    assert all(f.url == reverse("procedure_detail", args=[procedure.pk]) for f in found)
    # The message a coordinator reads, for the warning on the page.
    assert any("does not match the procedure type" in f.rule.message for f in found)
    # An acknowledged finding is no longer warned about.
    actions.acknowledge_finding(
        dq.RULE_BY_CODE["procedure_cement_mismatch"],
        procedure,
        acting_user=clinician,
        reason="Cement given for a fracture at the same level; coded separately.",
    )
    codes = {f.rule.code for f in dq.findings_for(procedure)}
    assert "procedure_cement_mismatch" not in codes
    assert "procedure_cement_mismatch" in {
        f.rule.code for f in dq.findings_for(procedure, include_acknowledged=True)
    }
    assert dq.findings_for(patient) == []


def test_excluding_records_is_one_function(
    request, monkeypatch, client, clinician, patient, procedure
):
    """``live`` is the one place that decides which records count: excluding a record there
    removes its findings, and a record the rules look for (the MDT decision) stops counting
    for the others' rules too (what "entered in error" will need)."""
    record_pathway(patient, clinician, procedure)
    login(client, clinician)
    assert rule_counts(client)["procedure_without_prior_mdt"] == (0, 0)
    original = dq.live

    def without_mdt_decisions_and_the_baseline(queryset):
        queryset = original(queryset)
        if queryset.model is MdtDecisionRecord:
            return queryset.none()
        if queryset.model._meta.model_name == "assessment":
            return queryset.exclude(timepoint="baseline")
        return queryset

    monkeypatch.setattr(dq, "live", without_mdt_decisions_and_the_baseline)
    # The kept findings are rebuilt when the rules' SQL changes, which a process works out
    # once (the code does not change under it): here it does.
    findings_store.derivation.cache_clear()
    request.addfinalizer(findings_store.derivation.cache_clear)
    counts = rule_counts(client)
    assert counts["procedure_without_prior_mdt"] == (1, 0)
    assert counts["assessment_baseline_missing"] == (0, 0)
    assert "procedure_without_prior_mdt" in {f.rule.code for f in dq.findings_for(procedure)}


def test_every_rule_is_documented_with_its_message():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    section = text.split("## Data-quality rules", 1)[1]
    for rule in dq.RULES:
        assert f"`{rule.code}`" in section, rule.code
        assert rule.message in " ".join(section.split()), rule.code


def test_saving_a_record_that_breaks_a_rule_warns_on_the_page_and_saves_it(
    client, clinician, patient
):
    login(client, clinician)
    url = reverse("lesion_create", args=[patient.registry_number])
    lesion = {"spinal_levels": "L3", "diagnosis": "spinal_metastasis", "lesion_type": "lytic"}
    page = client.post(url, lesion, follow=True).content.decode()
    assert "lesion saved" in page
    assert 'data-message="warning"' in page
    assert "Metastasis without its primary tumour" in page
    assert patient.lesions.filter(spinal_levels="L3").exists()
    # The same record with its primary tumour no longer breaks that rule.
    page = client.post(
        url, {**lesion, "spinal_levels": "L4", "primary_tumour": "breast"}, follow=True
    ).content.decode()
    assert "lesion saved" in page and "Metastasis without its primary tumour" not in page
