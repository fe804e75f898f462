"""A realistic synthetic cohort for demonstrations and tests.

Everything is invented: NHS numbers come from the range 900 000 0000 to 999 999 9999, which
is never issued to people (synthetic/test patients; the ``nhs-number`` package's regions),
and the clinical course is drawn to look like the published series behind HTG670 (pain
falling from about 7-8/10 to 3-4/10 within a month, opioid use falling, adverse events in a
few per cent), without claiming to reproduce any study.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from nhs_number import REGION_SYNTHETIC, calculate_checksum

from thermablate.guidance.governance import guidance_key_for
from thermablate.guidance.models import Guidance
from thermablate.registry import actions
from thermablate.registry import choices as c
from thermablate.registry.models import LocalApproval, Patient, Site, StaffProfile
from thermablate.registry.roles import sync_role_groups

DEMO_SITES = (("NGH", "Northgate General Hospital"), ("SFH", "Southfield University Hospital"))
_SYNTHETIC_RANGE = (REGION_SYNTHETIC.ranges[0].start, REGION_SYNTHETIC.ranges[0].end)
DEMO_PASSWORD = "thermablate-demo"  # printed by the command; demo data only


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    site: str
    password: str


def create_demo_users() -> list[DemoUser]:
    sync_role_groups()
    User = get_user_model()
    users = []
    names = {
        c.Role.CLINICIAN: [("Amara", "Okafor"), ("Rhys", "Pritchard")],
        c.Role.COORDINATOR: [("Priya", "Shah")],
        c.Role.GOVERNANCE: [("Helen", "Marsh")],
        c.Role.ANALYST: [("Tom", "Baker")],
        c.Role.ADMINISTRATOR: [("Sam", "Reid")],
    }
    for code, name in DEMO_SITES:
        # Northgate asks its patients the Brief Pain Inventory too (a site's choice).
        site, _ = Site.objects.get_or_create(
            code=code.lower(), defaults={"name": name, "collect_bpi": code == "NGH"}
        )
        for role, people in names.items():
            for index, (first, last) in enumerate(people, start=1):
                suffix = "" if index == 1 else str(index)
                username = f"{role}{suffix}-{code.lower()}"
                user, created = User.objects.get_or_create(
                    username=username, defaults={"first_name": first, "last_name": last}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.is_staff = role == c.Role.ADMINISTRATOR
                    user.save()
                StaffProfile.objects.update_or_create(
                    user=user, defaults={"site": site, "role": role}
                )
                user.groups.set([Group.objects.get(name=str(role))])
                users.append(DemoUser(username, str(role), code, DEMO_PASSWORD))
    return users


def create_demo_approvals() -> None:
    """Each demo site approves its procedures as a new-procedures committee would under the
    shipped guidance; the first clinician is credentialed, the second is not (so overrides
    appear on the governance page)."""
    User = get_user_model()
    for code, _ in DEMO_SITES:
        site = Site.objects.get(code=code.lower())
        if LocalApproval.objects.filter(site=site).exists():
            continue
        lead = User.objects.get(username=f"clinician-{site.code}")
        governance = User.objects.get(username=f"governance-{site.code}")
        for procedure_type in c.ProcedureType.values:
            guidance = Guidance.objects.get(key=guidance_key_for(procedure_type))
            special = guidance.recommendation == "special"
            actions.record_approval(
                site=site,
                acting_user=governance,
                procedure_type=procedure_type,
                guidance=guidance,
                decision="approved_special" if special else "approved_standard",
                committee="New Interventional Procedures Committee",
                decision_date=date(2024, 3, 12),
                clinical_lead=lead,
                governance_leads_informed=True,
                review_date=date(2027, 3, 12),
                operators=[
                    {
                        "user": lead,
                        "training": "Vertebral augmentation and bone RF ablation, 40 supervised cases",
                        "credentialed_on": date(2024, 3, 12),
                    }
                ],
            )


_PRIMARIES = ["breast", "lung", "prostate", "kidney", "myeloma", "thyroid", "colorectal"]
_DEVICES = [
    ("Medtronic", "OsteoCool RF Ablation System", c.Polarity.BIPOLAR, Decimal("10")),
    ("Merit Medical", "StarBurst / STAR Tumor Ablation System", c.Polarity.BIPOLAR, Decimal("20")),
    ("Stryker", "SpineJack RF", c.Polarity.MONOPOLAR, Decimal("10")),
]


def _levels(rng: random.Random) -> str:
    return rng.choice(["T6", "T8", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "L1-L2"])


class DemoBuilder:
    def __init__(self, seed: int, today: date | None = None):
        self.rng = random.Random(seed)
        self.today = today or timezone.localdate()

    def _nhs_number(self, used: set[str]) -> str:
        """A valid number from the range never issued to people (synthetic/test patients)."""
        low, high = _SYNTHETIC_RANGE
        while True:
            stem = str(self.rng.randint(low // 10, high // 10))
            check = calculate_checksum(stem)
            if check is None or check == 10:
                continue  # a stem whose check digit would be 10 has no valid number
            candidate = f"{stem}{check}"
            if candidate not in used and low <= int(candidate) <= high:
                used.add(candidate)
                return candidate

    @transaction.atomic
    def build(self, patients_per_site: int) -> int:
        User = get_user_model()
        used = set(Patient.objects.values_list("nhs_number", flat=True))
        created = 0
        for site in Site.objects.filter(code__in=[code.lower() for code, _ in DEMO_SITES]).order_by(
            "code"
        ):
            coordinator = User.objects.get(username=f"coordinator-{site.code}")
            clinicians = list(
                User.objects.filter(staff__site=site, staff__role=c.Role.CLINICIAN).order_by(
                    "username"
                )
            )
            for _ in range(patients_per_site):
                self._one_patient(site, coordinator, clinicians, used)
                created += 1
        return created

    def _one_patient(self, site, actor, clinicians, used) -> None:
        rng = self.rng
        kind = rng.choices(["metastasis", "osteoid", "idet"], weights=[75, 15, 10])[0]
        age = {
            "metastasis": rng.randint(45, 85),
            "osteoid": rng.randint(8, 30),
            "idet": rng.randint(30, 60),
        }[kind]
        patient = actions.create_patient(
            site=site,
            acting_user=actor,
            nhs_number=self._nhs_number(used),
            year_of_birth=self.today.year - age,
            sex=rng.choice([c.Sex.FEMALE, c.Sex.MALE]),
        )
        procedure_date = self.today - timedelta(days=rng.randint(3, 420))
        if kind == "metastasis":
            lesion = actions.add_lesion(
                patient,
                acting_user=actor,
                spinal_levels=_levels(rng),
                diagnosis=c.Diagnosis.SPINAL_METASTASIS,
                primary_tumour=rng.choice(_PRIMARIES),
                lesion_type=rng.choices(
                    [c.LesionType.LYTIC, c.LesionType.MIXED, c.LesionType.SCLEROTIC],
                    weights=[70, 20, 10],
                )[0],
                size_mm=Decimal(rng.randint(12, 45)),
                posterior_wall_intact=rng.random() < 0.7,
                distance_to_neural_mm=Decimal(rng.randint(1, 15)),
                pain_at_site=rng.randint(6, 10),
            )
            procedure_type = rng.choices(
                [
                    c.ProcedureType.RFA_VERTEBROPLASTY,
                    c.ProcedureType.RFA_KYPHOPLASTY,
                    c.ProcedureType.RFA_SPINAL_METASTASIS,
                ],
                weights=[55, 30, 15],
            )[0]
        elif kind == "osteoid":
            lesion = actions.add_lesion(
                patient,
                acting_user=actor,
                bone_site=rng.choice(["femur", "tibia", "humerus", "talus"]),
                diagnosis=c.Diagnosis.OSTEOID_OSTEOMA,
                lesion_type=c.LesionType.NOT_APPLICABLE,
                size_mm=Decimal(rng.randint(4, 15)),
                pain_at_site=rng.randint(5, 9),
            )
            procedure_type = c.ProcedureType.OSTEOID_OSTEOMA
        else:
            lesion = actions.add_lesion(
                patient,
                acting_user=actor,
                spinal_levels=rng.choice(["L4-L5", "L5-S1", "L3-L4"]),
                diagnosis=c.Diagnosis.DISCOGENIC_PAIN,
                lesion_type=c.LesionType.NOT_APPLICABLE,
                pain_at_site=rng.randint(5, 8),
            )
            procedure_type = c.ProcedureType.IDET
        mdt_date = procedure_date - timedelta(days=rng.randint(7, 28))
        # A few patients are treated outside the pathway (an urgent procedure before the MDT
        # met, a consent recorded elsewhere): recorded with a reason, listed for governance.
        outside_pathway = ""
        if rng.random() >= 0.95:
            outside_pathway = "Urgent: treated before the MDT met; MDT review booked"
        else:
            actions.record_mdt_decision(
                patient,
                acting_user=actor,
                meeting_date=mdt_date,
                lesion=lesion,
                member_roles=rng.sample(
                    [
                        c.MdtMemberRole.INTERVENTIONAL_RADIOLOGIST,
                        c.MdtMemberRole.SPINAL_SURGEON,
                        c.MdtMemberRole.CLINICAL_ONCOLOGIST,
                        c.MdtMemberRole.PALLIATIVE_CARE,
                        c.MdtMemberRole.NURSE_SPECIALIST,
                    ],
                    k=rng.randint(2, 4),
                ),
                decision=c.MdtDecision.PROCEED,
                reasons="Painful lesion refractory to analgesia; suitable for ablation.",
            )
        if rng.random() >= 0.93:
            outside_pathway = outside_pathway or "Consent and leaflet recorded in the paper notes"
        else:
            actions.record_consent(
                patient,
                acting_user=actor,
                consent_date=procedure_date - timedelta(days=rng.randint(0, 6)),
                leaflet_title="Radiofrequency ablation of bone tumours: information for patients",
                leaflet_version="2.1",
                nice_information_offered=rng.random() < 0.85,
                uncertainties_discussed=rng.random() < 0.9,
                registry_audit_consent=rng.random() < 0.9,
                contact_for_follow_up=rng.random() < 0.8,
            )
        self._procedure(
            patient, actor, clinicians, lesion, procedure_type, procedure_date, outside_pathway
        )

    def _procedure(
        self, patient, actor, clinicians, lesion, procedure_type, procedure_date, outside_pathway
    ) -> None:
        rng = self.rng
        spinal = procedure_type != c.ProcedureType.OSTEOID_OSTEOMA
        manufacturer, model, polarity, tip = rng.choice(_DEVICES)
        cement = {
            c.ProcedureType.RFA_VERTEBROPLASTY: c.Cement.VERTEBROPLASTY,
            c.ProcedureType.RFA_KYPHOPLASTY: c.Cement.KYPHOPLASTY,
        }.get(procedure_type, c.Cement.NONE)
        if procedure_type == c.ProcedureType.OSTEOID_OSTEOMA:
            # IPG53: electrode in the nidus at 85-90 °C for 4-6 minutes, under CT.
            cycles = [
                {
                    "target_temp_c": Decimal(rng.choice([85, 90])),
                    "time_at_target_s": rng.choice([240, 300, 360]),
                    "power_w": None,
                }
            ]
            manufacturer, model, polarity, tip = (
                "Cosman",
                "RFG-1B with 7 mm tip electrode",
                c.Polarity.MONOPOLAR,
                Decimal("7"),
            )
        elif procedure_type == c.ProcedureType.IDET:
            cycles = [{"target_temp_c": Decimal(90), "time_at_target_s": 240, "power_w": None}]
            manufacturer, model, polarity, tip = (
                "Smith & Nephew",
                "SpineCATH intradiscal catheter",
                c.Polarity.MONOPOLAR,
                Decimal("50"),
            )
        else:
            cycles = [
                {
                    "target_temp_c": Decimal(rng.choice([50, 70, 90])),
                    "time_at_target_s": rng.randint(120, 480),
                    "power_w": Decimal(rng.randint(5, 20)),
                }
                for _ in range(rng.randint(1, 3))
            ]
        operator = rng.choice(clinicians)
        procedure = actions.record_governed_procedure(
            patient,
            acting_user=actor,
            operators=[operator],
            override_reason=""
            if operator is clinicians[0]
            else "Credentialing interview booked; supervised by the clinical lead",
            pathway_override_reason=outside_pathway,
            cycles=cycles,
            lesion=lesion,
            procedure_date=procedure_date,
            procedure_type=procedure_type,
            setting=rng.choice([c.Setting.DAY_CASE, c.Setting.INPATIENT]),
            anaesthesia=rng.choice(
                [
                    c.Anaesthesia.GENERAL,
                    c.Anaesthesia.LOCAL_WITH_SEDATION,
                    c.Anaesthesia.IV_SEDATION,
                ]
            ),
            approach=rng.choice([c.Approach.TRANSPEDICULAR, c.Approach.PARAPEDICULAR])
            if spinal
            else c.Approach.OTHER,
            access=c.Access.PERCUTANEOUS,
            image_guidance=[c.Imaging.CT]
            if not spinal
            else rng.choice(
                [[c.Imaging.FLUOROSCOPY], [c.Imaging.CT, c.Imaging.FLUOROSCOPY], [c.Imaging.CBCT]]
            ),
            device_manufacturer=manufacturer,
            device_model=model,
            polarity=polarity,
            active_tip_mm=tip,
            biopsy_taken=rng.random() < 0.6,
            cement=cement,
            cement_volume_ml=Decimal(rng.randint(20, 60)) / 10 if cement != c.Cement.NONE else None,
            thermal_protection=rng.choice(
                [["thermocouple"], ["none"], ["thermocouple", "hydrodissection"]]
            )
            if spinal
            else ["none"],
            levels_treated=lesion.spinal_levels if spinal else "",
            duration_min=rng.randint(45, 120),
            post_imaging=c.PostImaging.CT,
        )
        self._follow_ups(patient, actor, procedure)
        if rng.random() < 0.08:
            event_type = rng.choices(
                [
                    c.AdverseEventType.CEMENT_LEAKAGE,
                    c.AdverseEventType.NEW_FRACTURE,
                    c.AdverseEventType.INFECTION,
                    c.AdverseEventType.THERMAL_INJURY,
                    c.AdverseEventType.NEUROLOGICAL_DEFICIT,
                    c.AdverseEventType.HAEMATOMA,
                ],
                weights=[40, 20, 8, 10, 10, 12],
            )[0]
            onset = min(procedure_date + timedelta(days=rng.randint(0, 30)), self.today)
            severity = rng.choices([1, 2, 3, 4], weights=[50, 30, 15, 5])[0]
            reported = severity >= 3 and rng.random() < 0.7
            actions.record_adverse_event(
                patient,
                acting_user=actor,
                procedure=procedure,
                event_type=event_type,
                symptomatic=(rng.random() < 0.2)
                if event_type == c.AdverseEventType.CEMENT_LEAKAGE
                else None,
                onset_date=onset,
                severity=severity,
                device_related=rng.choice(
                    [c.DeviceRelated.YES, c.DeviceRelated.NO, c.DeviceRelated.UNKNOWN]
                ),
                outcome=rng.choice(
                    [
                        c.EventOutcome.RESOLVED,
                        c.EventOutcome.ONGOING,
                        c.EventOutcome.RESOLVED_SEQUELAE,
                    ]
                ),
                description=f"{c.AdverseEventType(event_type).label} noted after the procedure (synthetic demo record).",
                yellow_card_reported_on=min(onset + timedelta(days=3), self.today)
                if reported
                else None,
                yellow_card_reference=f"YC-{rng.randint(100000, 999999)}" if reported else "",
            )

    def _follow_ups(self, patient, actor, procedure) -> None:
        rng = self.rng
        baseline_pain = rng.randint(6, 9)
        baseline_ome = rng.choice([0, 20, 40, 60, 90, 120])
        responder = rng.random() < 0.75
        consent = patient.consents.live().order_by("-consent_date").first()
        contactable = bool(consent and consent.contact_for_follow_up)
        for assessment in procedure.assessments.order_by("due_date"):
            if assessment.window_opens > self.today:
                break
            if assessment.timepoint != "baseline" and rng.random() < 0.15:
                continue  # missed: left for the overdue list
            day = rng.randint(
                0,
                max(0, (min(assessment.window_closes, self.today) - assessment.window_opens).days),
            )
            assessed_on = assessment.window_opens + timedelta(days=day)
            if assessment.timepoint == "baseline":
                assessed_on = procedure.procedure_date - timedelta(days=rng.randint(0, 7))
                pain = baseline_pain
                ome = baseline_ome
            else:
                relief = rng.randint(3, 6) if responder else rng.randint(-1, 2)
                pain = max(0, min(10, baseline_pain - relief))
                ome = max(0, int(baseline_ome * (0.5 if responder else 1.0)))
            average = max(0, pain - rng.randint(0, 2))
            # Patients who agreed to be contacted answer most of their follow-ups themselves
            # (thermablate.proms; `demo_proms` adds the messages that asked them).
            by_patient = contactable and assessment.timepoint != "baseline" and rng.random() < 0.65
            actions.record_assessment(
                assessment,
                acting_user=None if by_patient else actor,
                reported_by=c.ReportedBy.PATIENT if by_patient else c.ReportedBy.STAFF,
                analgesics=self._analgesics(ome),
                assessed_on=assessed_on,
                pain_worst=pain,
                pain_average=average,
                **self._eq5d(pain),
                **(self._odi(pain) if procedure.is_spinal else {}),
                **(self._bpi(pain, average) if patient.site.collect_bpi else {}),
                no_analgesics=False,
                notes="",
            )

    def _analgesics(self, ome_mg: int) -> list[dict]:
        entries = [
            {
                "drug": "paracetamol",
                "dose": Decimal(1000),
                "unit": "mg",
                "route": "oral",
                "doses_per_day": Decimal(4),
                "as_needed": False,
            }
        ]
        if ome_mg >= 60 and self.rng.random() < 0.3:
            # Transdermal fentanyl 25 microgram/h is about 60 mg oral morphine a day (Opioids Aware).
            entries.append(
                {
                    "drug": "fentanyl",
                    "dose": Decimal(25),
                    "unit": "microgram/h",
                    "route": "transdermal",
                    "doses_per_day": None,
                    "as_needed": False,
                }
            )
        elif ome_mg:
            entries.append(
                {
                    "drug": "morphine",
                    "dose": Decimal(ome_mg) / 2,
                    "unit": "mg",
                    "route": "oral",
                    "doses_per_day": Decimal(2),
                    "as_needed": False,
                }
            )
        return entries

    def _eq5d(self, pain: int) -> dict:
        level = max(1, min(5, 1 + pain // 2))
        answers = {}
        for name, _ in c.EQ5D_DIMENSIONS:
            answers[name] = max(1, min(5, level + self.rng.randint(-1, 1)))
        # EQ VAS, health today: about 45 at a worst pain of 8, 80 at 3.
        answers["eq5d_vas"] = max(0, min(100, 100 - 7 * pain + self.rng.randint(-10, 10)))
        return answers

    def _odi(self, pain: int) -> dict:
        """ODI sections that follow the pain (about 55 % disability at a worst pain of 8, 20 %
        at 3: invented, like the rest of the cohort); the sex-life section is often left
        unanswered (the ODI is then scored from the nine others)."""
        rng = self.rng
        level = 0.35 * pain
        answers = {
            name: max(0, min(5, round(level + rng.uniform(-1, 1)))) for name, _ in c.ODI_SECTIONS
        }
        if rng.random() < 0.4:
            answers["odi_sex_life"] = None
        return answers

    def _bpi(self, pain: int, average: int) -> dict:
        """The BPI's own items (worst and average are the pain answers already given)."""
        rng = self.rng
        least = max(0, average - rng.randint(0, 3))
        answers = {"bpi_least": least, "bpi_now": rng.randint(least, pain)}
        for name, _ in c.BPI_INTERFERENCE:
            answers[name] = max(0, min(10, round(0.8 * pain + rng.uniform(-2, 2))))
        return answers
