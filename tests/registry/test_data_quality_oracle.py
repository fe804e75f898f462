"""Property: on any small cohort, the Data quality page's count per rule equals a second,
plain-Python evaluation of the rule over every record, and so do the findings listed and the
findings of each record on save.

The cohorts are written straight into the tables, without the records' own checks, as data
imported before a rule existed (or a database edited by hand) would be: a rule must catch what
the forms would refuse, too. The oracle below is a separate statement of each rule, written
from its description in docs/audit.md; it lives in the tests only.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import VALID_NHS_NUMBERS, login
from thermablate.clinical import followup
from thermablate.guidance.models import Guidance
from thermablate.registry import choices as c
from thermablate.registry import data_quality as dq
from thermablate.registry.models import (
    AblationCycle,
    AdverseEvent,
    AnalgesicEntry,
    Assessment,
    Consent,
    DataQualityAcknowledgement,
    Lesion,
    LocalApproval,
    MdtDecisionRecord,
    Patient,
    Procedure,
    ProcedureGovernance,
)

# ---- the oracle ------------------------------------------------------------------------------

SPINAL, BONE = c.Diagnosis.SPINAL_METASTASIS, c.Diagnosis.BONE_METASTASIS
PATCH = c.DoseUnit.MICROGRAM_PER_HOUR
NO_CEMENT = c.Cement.NONE
CEMENT_OF_TYPE = {
    "rfa_vertebroplasty": "vertebroplasty",
    "rfa_kyphoplasty": "kyphoplasty",
    "rfa_spinal_metastasis": "none",
    "osteoid_osteoma_thermocoagulation": "none",
    "idet": "none",
}


def blank(text: str) -> bool:
    return text.strip(" ") == ""  # as SQL's TRIM: spaces only


class Cohort:
    """Every record of the site, read back from the tables."""

    def __init__(self, site, today):
        self.today = today
        self.patients = list(Patient.objects.filter(site=site))
        self.lesions = list(Lesion.objects.filter(patient__site=site))
        self.mdts = list(MdtDecisionRecord.objects.filter(patient__site=site))
        self.consents = list(Consent.objects.filter(patient__site=site))
        self.procedures = list(Procedure.objects.filter(patient__site=site))
        self.cycles = list(AblationCycle.objects.filter(procedure__patient__site=site))
        self.assessments = list(Assessment.objects.filter(patient__site=site))
        self.analgesics = list(AnalgesicEntry.objects.filter(assessment__patient__site=site))
        self.events = list(AdverseEvent.objects.filter(patient__site=site))
        # The decision of the approval each procedure was recorded under, where it has one.
        self.decision_of = dict(
            ProcedureGovernance.objects.filter(procedure__patient__site=site).values_list(
                "procedure_id", "approval__decision"
            )
        )
        self.lesion = {lesion.pk: lesion for lesion in self.lesions}
        self.procedure = {procedure.pk: procedure for procedure in self.procedures}

    def records(self, model):
        return {
            Patient: self.patients,
            Lesion: self.lesions,
            MdtDecisionRecord: self.mdts,
            Consent: self.consents,
            Procedure: self.procedures,
            AblationCycle: self.cycles,
            Assessment: self.assessments,
            AnalgesicEntry: self.analgesics,
            AdverseEvent: self.events,
        }[model]

    def covering_mdts(self, procedure):
        return [
            m
            for m in self.mdts
            if m.patient_id == procedure.patient_id
            and m.meeting_date <= procedure.procedure_date
            and (m.lesion_id is None or m.lesion_id == procedure.lesion_id)
        ]


def latest_against(p, k: Cohort) -> bool:
    covering = k.covering_mdts(p)
    if not covering:
        return False
    latest = max(covering, key=lambda m: (m.meeting_date, m.pk))
    return latest.decision in ("not_suitable", "other_treatment")


def outside(a) -> bool:
    return a.assessed_on is not None and not (a.window_opens <= a.assessed_on <= a.window_closes)


ORACLE = {
    "patient_age_implausible": lambda p, k: p.year_of_birth < k.today.year - 110,
    "lesion_metastasis_without_primary": lambda le, k: (
        le.diagnosis in (SPINAL, BONE) and blank(le.primary_tumour)
    ),
    "lesion_spinal_metastasis_without_level": lambda le, k: (
        le.diagnosis == SPINAL and blank(le.spinal_levels)
    ),
    "lesion_sins_incomplete": lambda le, k: (
        le.diagnosis == SPINAL
        and not blank(le.spinal_levels)
        and (
            any(blank(getattr(le, name)) for name in Lesion.SINS_FIELDS)
            or le.lesion_type not in ("lytic", "mixed", "sclerotic")
        )
    ),
    "mdt_ecog_missing": lambda m, k: (
        m.ecog_performance_status is None
        and (
            (m.lesion_id is not None and k.lesion[m.lesion_id].diagnosis == SPINAL)
            or (
                m.lesion_id is None
                and any(x.patient_id == m.patient_id and x.diagnosis == SPINAL for x in k.lesions)
            )
        )
    ),
    "procedure_not_coded": lambda p, k: p.opcs_codes == [],
    "procedure_without_prior_mdt": lambda p, k: not k.covering_mdts(p),
    "procedure_against_mdt_decision": latest_against,
    "procedure_without_prior_consent": lambda p, k: (
        not any(
            x.patient_id == p.patient_id and x.consent_date <= p.procedure_date for x in k.consents
        )
    ),
    "procedure_special_without_written_consent": lambda p, k: (
        k.decision_of.get(p.pk) == "approved_special"
        and not any(
            x.patient_id == p.patient_id
            and x.consent_date <= p.procedure_date
            and not blank(x.leaflet_title)
            for x in k.consents
        )
    ),
    "procedure_cement_mismatch": lambda p, k: p.cement != CEMENT_OF_TYPE[p.procedure_type],
    "procedure_cement_volume_inconsistent": lambda p, k: (
        (p.cement == NO_CEMENT and p.cement_volume_ml is not None and p.cement_volume_ml > 0)
        or (p.cement != NO_CEMENT and not p.cement_volume_ml)
    ),
    "procedure_device_lot_missing": lambda p, k: blank(p.device_lot),
    "procedure_without_cycles": lambda p, k: not any(x.procedure_id == p.pk for x in k.cycles),
    "cycle_temperature_implausible": lambda x, k: not 40 <= x.target_temp_c <= 110,
    "cycle_duration_implausible": lambda x, k: x.time_at_target_s > 30 * 60,
    "assessment_baseline_missing": lambda a, k: (
        a.timepoint == "baseline" and a.assessed_on is None and a.window_closes < k.today
    ),
    "assessment_outside_window_unmarked": lambda a, k: outside(a) and not a.outside_window,
    "assessment_outside_window": lambda a, k: outside(a) and a.outside_window,
    "assessment_without_worst_pain": lambda a, k: (
        a.assessed_on is not None and a.pain_worst is None
    ),
    "assessment_pain_out_of_range": lambda a, k: any(
        v is not None and v > 10 for v in (a.pain_worst, a.pain_average)
    ),
    "assessment_average_above_worst": lambda a, k: (
        a.pain_average is not None and a.pain_worst is not None and a.pain_average > a.pain_worst
    ),
    "assessment_no_analgesics_with_entries": lambda a, k: (
        a.no_analgesics and any(x.assessment_id == a.pk for x in k.analgesics)
    ),
    "analgesic_frequency_missing": lambda x, k: x.unit != PATCH and x.doses_per_day is None,
    "analgesic_patch_not_transdermal": lambda x, k: x.unit == PATCH and x.route != "transdermal",
    "adverse_event_before_procedure": lambda e, k: (
        e.onset_date < k.procedure[e.procedure_id].procedure_date
    ),
    "adverse_event_grade5_not_fatal": lambda e, k: e.severity == 5 and e.outcome != "fatal",
    "adverse_event_fatal_not_grade5": lambda e, k: e.outcome == "fatal" and e.severity != 5,
    "adverse_event_cement_leak_without_cement": lambda e, k: (
        e.event_type == "cement_leakage" and k.procedure[e.procedure_id].cement == NO_CEMENT
    ),
    "adverse_event_device_not_reported": lambda e, k: (
        e.device_related == "yes" and e.yellow_card_reported_on is None
    ),
}


def test_the_oracle_states_every_rule():
    assert set(ORACLE) == set(dq.RULE_BY_CODE)


def oracle_findings(k: Cohort) -> dict[str, set[int]]:
    return {
        rule.code: {
            record.pk
            for record in k.records(rule.record_type.model)
            if ORACLE[rule.code](record, k)
        }
        for rule in dq.RULES
    }


# ---- random cohorts ----------------------------------------------------------------------------


def pick(values):
    return st.sampled_from(list(values))


def draw_cohort(data, site, user, today):
    """A small cohort drawn value by value, near every rule's edges."""
    start = today - timedelta(days=200)
    blanks = pick(["", " ", "x"])
    # One approval of each kind a procedure can be recorded under (the rule reads its decision).
    approvals = [
        LocalApproval.objects.create(
            site=site,
            procedure_type=procedure_type,
            guidance=Guidance.objects.get(key="HTG670"),
            guidance_version=1,
            decision=decision,
            committee="NIPC",
            decision_date=start - timedelta(days=100),
            clinical_lead=user,
            governance_leads_informed=True,
            review_date=today + timedelta(days=365),
            recorded_by=user,
        )
        for procedure_type, decision in (
            ("rfa_vertebroplasty", "approved_special"),
            ("rfa_kyphoplasty", "approved_standard"),
        )
    ]
    for number in VALID_NHS_NUMBERS[: data.draw(st.integers(1, 3))]:
        patient = Patient.objects.create(
            site=site,
            registry_number=f"TB-{number[-6:]}",
            nhs_number=number,
            year_of_birth=data.draw(st.integers(today.year - 112, today.year - 108)),
            sex="female",
        )
        lesions = []
        for _ in range(data.draw(st.integers(1, 2))):
            levels = data.draw(pick(["", " ", "L2", "T12-L1"]))
            lesions.append(
                Lesion.objects.create(
                    patient=patient,
                    spinal_levels=levels,
                    bone_site="" if levels.strip() else "femur",
                    diagnosis=data.draw(pick(c.Diagnosis.values)),
                    primary_tumour=data.draw(blanks),
                    lesion_type=data.draw(pick(c.LesionType.values)),
                    **{
                        name: data.draw(pick(["", " ", getattr(c, cls).values[0]]))
                        for name, cls in zip(
                            Lesion.SINS_FIELDS,
                            ("SinsPain", "SinsAlignment", "SinsCollapse", "SinsPosterolateral"),
                            strict=True,
                        )
                    },
                )
            )
        for _ in range(data.draw(st.integers(0, 3))):
            MdtDecisionRecord.objects.create(
                patient=patient,
                lesion=data.draw(st.one_of(st.none(), pick(lesions))),
                meeting_date=start + timedelta(days=data.draw(st.integers(0, 20))),
                member_roles=["interventional_radiologist", "clinical_oncologist"],
                decision=data.draw(pick(c.MdtDecision.values)),
                ecog_performance_status=data.draw(st.one_of(st.none(), st.integers(0, 5))),
            )
        for _ in range(data.draw(st.integers(0, 2))):
            Consent.objects.create(
                patient=patient,
                consent_date=start + timedelta(days=data.draw(st.integers(0, 20))),
                leaflet_title=data.draw(pick(["Leaflet", " "])),
                leaflet_version="1",
            )
        for _ in range(data.draw(st.integers(0, 2))):
            when = start + timedelta(days=data.draw(st.integers(5, 15)))
            procedure = Procedure.objects.create(
                patient=patient,
                lesion=data.draw(pick(lesions)),
                procedure_date=when,
                procedure_type=data.draw(pick(c.ProcedureType.values)),
                setting="day_case",
                anaesthesia="general",
                access="percutaneous",
                image_guidance=["ct"],
                device_manufacturer="Medtronic",
                device_model="OsteoCool",
                device_lot=data.draw(blanks),
                polarity="bipolar",
                active_tip_mm=Decimal("10"),
                cement=data.draw(pick(c.Cement.values)),
                cement_volume_ml=data.draw(pick([None, Decimal("0"), Decimal("3.5")])),
                thermal_protection=["thermocouple"],
                duration_min=60,
                opcs_codes=data.draw(pick([[], ["V44.2"]])),
            )
            approval = data.draw(st.one_of(st.none(), pick(approvals)))
            if approval is not None:
                ProcedureGovernance.objects.create(procedure=procedure, approval=approval)
            for order in range(1, data.draw(st.integers(0, 2)) + 1):
                AblationCycle.objects.create(
                    procedure=procedure,
                    order=order,
                    target_temp_c=data.draw(pick(["37", "39.9", "40", "90", "110", "110.1"])),
                    time_at_target_s=data.draw(pick([60, 1800, 1801])),
                )
            windows = followup.schedule_for(when)
            for due in data.draw(st.lists(pick(windows), max_size=3, unique_by=id)):
                day = data.draw(st.one_of(st.none(), st.integers(-50, 60)))
                assessment = Assessment.objects.create(
                    patient=patient,
                    procedure=procedure,
                    timepoint=due.timepoint,
                    due_date=due.target,
                    window_opens=due.opens,
                    window_closes=due.closes,
                    assessed_on=None if day is None else when + timedelta(days=day),
                    pain_worst=data.draw(pick([None, 0, 5, 10, 11])),
                    pain_average=data.draw(pick([None, 0, 6, 12])),
                    outside_window=data.draw(st.booleans()),
                    no_analgesics=data.draw(st.booleans()),
                )
                for _ in range(data.draw(st.integers(0, 2))):
                    AnalgesicEntry.objects.create(
                        assessment=assessment,
                        drug="morphine",
                        dose=Decimal("10"),
                        unit=data.draw(pick(c.DoseUnit.values)),
                        route=data.draw(pick(["oral", "transdermal"])),
                        doses_per_day=data.draw(pick([None, Decimal("2")])),
                    )
            for _ in range(data.draw(st.integers(0, 2))):
                AdverseEvent.objects.create(
                    patient=patient,
                    procedure=procedure,
                    event_type=data.draw(pick(["cement_leakage", "infection"])),
                    onset_date=when + timedelta(days=data.draw(st.integers(-2, 2))),
                    severity=data.draw(st.integers(1, 5)),
                    device_related=data.draw(pick(c.DeviceRelated.values)),
                    outcome=data.draw(pick(c.EventOutcome.values)),
                    description="Synthetic event",
                    yellow_card_reported_on=data.draw(st.one_of(st.none(), st.just(when))),
                )


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@PROPERTY
@given(data=st.data())
def test_the_page_counts_what_the_oracle_finds(client, clinician, site_a, data):
    login(client, clinician)
    today = timezone.localdate()
    with transaction.atomic():
        draw_cohort(data, site_a, clinician, today)
        cohort = Cohort(site_a, today)
        expected = oracle_findings(cohort)
        # Some findings acknowledged, and some acknowledgements of records that were corrected
        # since (the rule no longer fires on them: they count nowhere).
        acknowledged: dict[str, set[int]] = {}
        for rule in dq.RULES:
            candidates = sorted(expected[rule.code]) + [
                r.pk for r in cohort.records(rule.record_type.model)[:1]
            ]
            chosen = data.draw(st.sets(pick(candidates), max_size=2)) if candidates else set()
            acknowledged[rule.code] = chosen
            DataQualityAcknowledgement.objects.bulk_create(
                DataQualityAcknowledgement(
                    rule=rule.code,
                    record_type=rule.record_type.key,
                    object_id=pk,
                    reason="Checked",
                    acknowledged_by=clinician,
                )
                for pk in chosen
            )
        response = client.get(reverse("data_quality"))
        assert response.status_code == 200
        page = response.content.decode()
        for count in response.context["counts"]:
            code = count.rule.code
            fired, acked = expected[code], acknowledged[code] & expected[code]
            assert (count.open, count.acknowledged) == (len(fired - acked), len(acked)), code
            assert (
                f'data-rule="{code}" data-open="{len(fired - acked)}" '
                f'data-acknowledged="{len(acked)}"' in page
            )
            listed = dq.iter_findings(site_a, [count.rule], dq.Status.ALL, today=today)
            assert {f.object_id for f in listed} == fired, code
        # The check on save: the same rules, one record at a time.
        for model, kind in dq.RECORD_TYPE_OF_MODEL.items():
            for record in cohort.records(model):
                on_save = {
                    f.rule.code
                    for f in dq.findings_for(record, today=today, include_acknowledged=True)
                    if f.rule.record_type is kind
                }
                assert on_save == {
                    rule.code for rule in dq.rules_of(kind) if record.pk in expected[rule.code]
                }, (kind.key, record.pk)
        transaction.set_rollback(True)
