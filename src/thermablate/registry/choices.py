"""Coded vocabularies of the registry.

The stored values are stable codes shared with the pure core (OPCS-4 coding in
``thermablate.clinical.opcs`` uses the same procedure, access and imaging codes); the labels
are what users read.
"""

from django.db import models

from thermablate.clinical import bpi, odi, sins


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    COORDINATOR = "coordinator", "MDT coordinator / nurse"
    GOVERNANCE = "governance", "Clinical governance lead"
    ANALYST = "analyst", "Analyst"
    ADMINISTRATOR = "administrator", "Administrator"


class Sex(models.TextChoices):
    # NHS Data Dictionary "Person stated gender code" categories, reduced to what audit needs.
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    NOT_KNOWN = "not_known", "Not known"


class Diagnosis(models.TextChoices):
    SPINAL_METASTASIS = "spinal_metastasis", "Spinal metastasis"
    BONE_METASTASIS = "bone_metastasis", "Bone metastasis (non-spinal)"
    OSTEOID_OSTEOMA = "osteoid_osteoma", "Osteoid osteoma"
    DISCOGENIC_PAIN = "discogenic_pain", "Discogenic low back pain"
    OTHER = "other", "Other"


class LesionType(models.TextChoices):
    # HTG670 (2025) 1.x: RF ablation with cement for lytic lesions; the 2022 consultation
    # (ID 1783) notes sclerotic lesions, where cement may not be needed.
    LYTIC = "lytic", "Lytic"
    SCLEROTIC = "sclerotic", "Sclerotic"
    MIXED = "mixed", "Mixed"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class MdtDecision(models.TextChoices):
    PROCEED = "proceed", "Proceed with thermal ablation"
    NOT_SUITABLE = "not_suitable", "Not suitable"
    OTHER_TREATMENT = "other_treatment", "Other treatment recommended"


class MdtMemberRole(models.TextChoices):
    INTERVENTIONAL_RADIOLOGIST = "interventional_radiologist", "Interventional radiologist"
    SPINAL_SURGEON = "spinal_surgeon", "Spinal surgeon"
    ORTHOPAEDIC_SURGEON = "orthopaedic_surgeon", "Orthopaedic surgeon"
    CLINICAL_ONCOLOGIST = "clinical_oncologist", "Clinical oncologist"
    MEDICAL_ONCOLOGIST = "medical_oncologist", "Medical oncologist"
    PALLIATIVE_CARE = "palliative_care", "Palliative care physician"
    PAIN_SPECIALIST = "pain_specialist", "Pain medicine specialist"
    RADIOLOGIST = "radiologist", "Diagnostic radiologist"
    NURSE_SPECIALIST = "nurse_specialist", "Clinical nurse specialist"
    OTHER = "other", "Other"


class ProcedureType(models.TextChoices):
    RFA_SPINAL_METASTASIS = "rfa_spinal_metastasis", "RF ablation of spinal metastasis"
    RFA_VERTEBROPLASTY = "rfa_vertebroplasty", "RF ablation plus percutaneous vertebroplasty"
    RFA_KYPHOPLASTY = "rfa_kyphoplasty", "RF ablation plus balloon kyphoplasty"
    OSTEOID_OSTEOMA = (
        "osteoid_osteoma_thermocoagulation",
        "CT-guided thermocoagulation of osteoid osteoma",
    )
    IDET = "idet", "Percutaneous intradiscal electrothermal therapy"


SPINAL_PROCEDURES = {
    ProcedureType.RFA_SPINAL_METASTASIS,
    ProcedureType.RFA_VERTEBROPLASTY,
    ProcedureType.RFA_KYPHOPLASTY,
    ProcedureType.IDET,
}


class Setting(models.TextChoices):
    DAY_CASE = "day_case", "Day case"
    INPATIENT = "inpatient", "Inpatient"


class Anaesthesia(models.TextChoices):
    GENERAL = "general", "General anaesthesia"
    LOCAL_WITH_SEDATION = "local_sedation", "Local anaesthesia with sedation"
    IV_SEDATION = "iv_sedation", "Intravenous sedation"
    LOCAL = "local", "Local anaesthesia only"


class Approach(models.TextChoices):
    TRANSPEDICULAR = "transpedicular", "Transpedicular"
    PARAPEDICULAR = "parapedicular", "Parapedicular"
    OTHER = "other", "Other"


class Access(models.TextChoices):
    PERCUTANEOUS = "percutaneous", "Percutaneous"
    ENDOSCOPIC = "endoscopic", "Endoscopic"
    SURGICAL = "surgical", "Surgical (open)"


class Imaging(models.TextChoices):
    CT = "ct", "CT"
    FLUOROSCOPY = "fluoroscopy", "Fluoroscopy"
    MRI = "mri", "MRI"
    ULTRASOUND = "ultrasound", "Ultrasound"
    CBCT = "cbct", "Cone-beam CT"


class Polarity(models.TextChoices):
    MONOPOLAR = "monopolar", "Monopolar"
    BIPOLAR = "bipolar", "Bipolar"


class Cement(models.TextChoices):
    NONE = "none", "None"
    VERTEBROPLASTY = "vertebroplasty", "Vertebroplasty"
    KYPHOPLASTY = "kyphoplasty", "Balloon kyphoplasty"


# The cement each procedure type injects (issue 12, item 4). HTG670 covers RF ablation *as an
# adjunct to* vertebroplasty or balloon kyphoplasty, so the cement is the procedure's own; RF
# ablation alone, osteoid osteoma thermocoagulation (IPG53) and IDET (IPG319) inject none. A
# procedure with other cement is another procedure type: its OPCS-4 codes and its audit differ.
CEMENT_OF_PROCEDURE_TYPE = {
    ProcedureType.RFA_VERTEBROPLASTY: Cement.VERTEBROPLASTY,
    ProcedureType.RFA_KYPHOPLASTY: Cement.KYPHOPLASTY,
    ProcedureType.RFA_SPINAL_METASTASIS: Cement.NONE,
    ProcedureType.OSTEOID_OSTEOMA: Cement.NONE,
    ProcedureType.IDET: Cement.NONE,
}


class ThermalProtection(models.TextChoices):
    THERMOCOUPLE = "thermocouple", "Thermocouple monitoring"
    HYDRODISSECTION = "hydrodissection", "Hydrodissection"
    CO2_DISSECTION = "co2_dissection", "CO2 dissection"
    NONE = "none", "None"


class PostImaging(models.TextChoices):
    CT = "ct", "CT"
    MRI = "mri", "MRI"
    RADIOGRAPH = "radiograph", "Radiograph"
    NONE = "none", "None"


class Timepoint(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    WEEK_1 = "1w", "1 week"
    MONTH_1 = "1m", "1 month"
    MONTH_3 = "3m", "3 months"
    MONTH_6 = "6m", "6 months"
    MONTH_12 = "12m", "12 months"


class PatientStatus(models.TextChoices):
    # Why a registered patient's follow-up may end. Definitions and how each counts in the
    # audit's completeness: docs/audit.md, "Patient status and completeness".
    ALIVE = "alive", "Alive, in follow-up"
    DIED = "died", "Died"
    WITHDREW_FOLLOW_UP = "withdrew_follow_up", "Withdrew from follow-up"
    WITHDREW_CONSENT = "withdrew_consent", "Withdrew consent to registry use"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"


class DeathRelated(models.TextChoices):
    # Whether a death was related to the procedure, as the treating team judges it.
    YES = "yes", "Related to the procedure"
    NO = "no", "Not related to the procedure"
    UNKNOWN = "unknown", "Not known"


class AdverseEventType(models.TextChoices):
    # HTG670 key safety outcomes: cement leakage, infection, thermal damage to adjacent
    # structures including neurological damage; the rest are reported in its evidence.
    CEMENT_LEAKAGE = "cement_leakage", "Cement leakage"
    INFECTION = "infection", "Infection"
    THERMAL_INJURY = "thermal_injury", "Thermal injury to adjacent structures"
    NEUROLOGICAL_DEFICIT = "neurological_deficit", "Neurological deficit"
    NEW_FRACTURE = "new_fracture", "New vertebral fracture"
    HAEMATOMA = "haematoma", "Haematoma"
    OTHER = "other", "Other"


class Severity(models.IntegerChoices):
    # Common Terminology Criteria for Adverse Events (CTCAE) v5.0, US National Cancer
    # Institute, 27 November 2017: the general grade definitions.
    GRADE_1 = 1, "Grade 1: mild; observation only, intervention not indicated"
    GRADE_2 = 2, "Grade 2: moderate; minimal, local or non-invasive intervention"
    GRADE_3 = 3, "Grade 3: severe or medically significant; hospitalisation"
    GRADE_4 = 4, "Grade 4: life-threatening; urgent intervention"
    GRADE_5 = 5, "Grade 5: death related to the adverse event"


class DeviceRelated(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Not known"


class EventOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    RESOLVED_SEQUELAE = "resolved_sequelae", "Resolved with lasting effects"
    ONGOING = "ongoing", "Ongoing"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Not known"


class DoseUnit(models.TextChoices):
    MG = "mg", "mg"
    MICROGRAM = "microgram", "microgram"
    MICROGRAM_PER_HOUR = "microgram/h", "microgram/hour (patch)"


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    TRANSDERMAL = "transdermal", "Transdermal"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous"
    INTRAVENOUS = "intravenous", "Intravenous"
    INTRAMUSCULAR = "intramuscular", "Intramuscular"
    SUBLINGUAL = "sublingual", "Sublingual"
    BUCCAL = "buccal", "Buccal"
    INTRANASAL = "intranasal", "Intranasal"
    RECTAL = "rectal", "Rectal"


EQ5D_DIMENSIONS = (
    ("eq5d_mobility", "Mobility"),
    ("eq5d_self_care", "Self-care"),
    ("eq5d_usual_activities", "Usual activities"),
    ("eq5d_pain_discomfort", "Pain / discomfort"),
    ("eq5d_anxiety_depression", "Anxiety / depression"),
)

# The ODI's and the BPI's raw answers, one field each (``Assessment``). Their wording is
# copyrighted and used under licence: a site's licensed wording is loaded from its own file,
# and these neutral labels are what the staff pages show (docs/instruments.md).
ODI_SECTIONS = tuple(
    (f"odi_{section}", f"ODI section {number}: {section.replace('_', ' ')} (0-5)")
    for number, section in enumerate(odi.SECTIONS, start=1)
)
# BPI-SF items 3 and 5, worst and average pain in the last 24 hours, are the registry's own
# pain_worst and pain_average (never asked twice); items 4 and 6 are bpi_least and bpi_now.
BPI_SEVERITY_FIELDS = {
    "worst": "pain_worst",
    "least": "bpi_least",
    "average": "pain_average",
    "now": "bpi_now",
}
BPI_INTERFERENCE = tuple(
    (f"bpi_{item}", f"BPI: pain interference with {item.replace('_', ' ')} (0-10)")
    for item in bpi.INTERFERENCE_ITEMS
)


class ReportedBy(models.TextChoices):
    # Who gave an assessment's answers to the registry: staff (at the clinic, by telephone, from
    # a paper form) or the patient, on their own questionnaire link.
    STAFF = "staff", "Staff"
    PATIENT = "patient", "Patient"


class ApprovalDecision(models.TextChoices):
    STANDARD = "approved_standard", "Approved under standard arrangements"
    SPECIAL = "approved_special", "Approved under special arrangements"
    RESEARCH_ONLY = "research_only", "Approved for research only"
    NOT_APPROVED = "not_approved", "Not approved"


APPROVED_DECISIONS = {
    ApprovalDecision.STANDARD,
    ApprovalDecision.SPECIAL,
    ApprovalDecision.RESEARCH_ONLY,
}


# ---- spinal oncology MDT: SINS, Bilsky grade, ECOG performance status ----------------------


def _sins_choices(name: str, component: str) -> type[models.TextChoices]:
    """A SINS component's answers, with their points, from the core's versioned table
    (thermablate.clinical.sins), so the stored codes and the scoring share one source."""
    return models.TextChoices(
        name, [(code.upper(), (code, label)) for code, label in sins.choices(component)]
    )


SinsPain = _sins_choices("SinsPain", "pain")
SinsAlignment = _sins_choices("SinsAlignment", "alignment")
SinsCollapse = _sins_choices("SinsCollapse", "collapse")
SinsPosterolateral = _sins_choices("SinsPosterolateral", "posterolateral")
# SINS's bone lesion component is the lesion type the registry already records (lytic,
# mixed, or sclerotic, which Fisher calls blastic), so it is read from it, not asked twice.
SINS_BONE_LESION_OF_LESION_TYPE = {
    LesionType.LYTIC: "lytic",
    LesionType.MIXED: "mixed",
    LesionType.SCLEROTIC: "blastic",
}


class SinsCategory(models.TextChoices):
    STABLE = sins.STABLE, "Stable (SINS 0-6)"
    INDETERMINATE = sins.INDETERMINATE, "Indeterminate (SINS 7-12)"
    UNSTABLE = sins.UNSTABLE, "Unstable (SINS 13-18)"


class BilskyGrade(models.TextChoices):
    # Epidural spinal cord compression scale on axial T2-weighted MRI at the most compressed
    # level: Bilsky MH, Laufer I, Fourney DR, et al. Reliability analysis of the epidural
    # spinal cord compression scale. J Neurosurg Spine 2010;13(3):324-328.
    # doi:10.3171/2010.3.SPINE09459
    GRADE_0 = "0", "0: bone-only disease"
    GRADE_1A = "1a", "1a: epidural impingement, thecal sac not deformed"
    GRADE_1B = "1b", "1b: thecal sac deformed, spinal cord not abutted"
    GRADE_1C = "1c", "1c: thecal sac deformed, spinal cord abutted but not compressed"
    GRADE_2 = "2", "2: spinal cord compressed, CSF visible around the cord"
    GRADE_3 = "3", "3: spinal cord compressed, no CSF visible around the cord"


class PriorRadiotherapy(models.TextChoices):
    # Whether the lesion's level (or bone site) was irradiated before this episode: what the MDT
    # weighs when it chooses between more radiotherapy, surgery and ablation (issue 12, item 9).
    YES = "yes", "Yes: irradiated before"
    NO = "no", "No"
    NOT_KNOWN = "not_known", "Not known"


class EcogPerformanceStatus(models.IntegerChoices):
    # Oken MM, Creech RH, Tormey DC, et al. Toxicity and response criteria of the Eastern
    # Cooperative Oncology Group. Am J Clin Oncol 1982;5(6):649-655.
    FULLY_ACTIVE = 0, "0: fully active, no restriction of pre-disease activity"
    RESTRICTED = 1, "1: restricted in strenuous activity; walks about, can do light work"
    SELF_CARING = 2, "2: walks about and cares for self, cannot work; up over half the day"
    LIMITED_SELF_CARE = 3, "3: limited self-care; in bed or chair over half the day"
    DISABLED = 4, "4: completely disabled, no self-care; confined to bed or chair"
    DEAD = 5, "5: dead"
