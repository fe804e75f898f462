"""A pre-filled MHRA Yellow Card device incident draft for one adverse event.

HTG670 asks that problems with a medical device used in the procedure be reported to the MHRA
through the Yellow Card scheme. Thermablate cannot submit for the clinician (the scheme has no
open submission API for hospitals); it lays out what the online device report asks for,
from the registry, for the clinician to check and submit, then records the reference.
The fields follow the sections of the Yellow Card medical device report (device, incident,
patient, reporter). Patient details are limited to what the form asks: age, sex.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from thermablate.registry.models import AdverseEvent

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class DraftField:
    section: str
    label: str
    value: str


@dataclass(frozen=True)
class YellowCardDraft:
    event: AdverseEvent
    fields: list[DraftField]

    @property
    def submitted(self) -> bool:
        return bool(self.event.yellow_card_reference)


def _text(value) -> str:
    if value in (None, ""):
        return NOT_RECORDED
    if isinstance(value, date):
        return f"{value:%d %B %Y}"
    return str(value)


def draft_for(event: AdverseEvent) -> YellowCardDraft:
    procedure = event.procedure
    patient = event.patient
    age = event.onset_date.year - patient.year_of_birth
    cycles = "; ".join(
        f"{cycle.target_temp_c} °C for {cycle.time_at_target_s} s"
        for cycle in procedure.cycles.all()
    )
    fields = [
        DraftField("Device", "Device type", "Radiofrequency ablation system (bone / spine)"),
        DraftField("Device", "Manufacturer", _text(procedure.device_manufacturer)),
        DraftField("Device", "Model", _text(procedure.device_model)),
        DraftField("Device", "Lot / batch number", _text(procedure.device_lot)),
        DraftField(
            "Device",
            "Electrode",
            f"{procedure.get_polarity_display()}, active tip {procedure.active_tip_mm} mm",
        ),
        DraftField("Incident", "Date of the procedure", _text(procedure.procedure_date)),
        DraftField("Incident", "Date the incident started", _text(event.onset_date)),
        DraftField("Incident", "Procedure", procedure.get_procedure_type_display()),
        DraftField("Incident", "Ablation cycles", cycles or NOT_RECORDED),
        DraftField(
            "Incident", "What happened", f"{event.get_event_type_display()}. {event.description}"
        ),
        DraftField("Incident", "Severity", event.get_severity_display()),
        DraftField(
            "Incident",
            "Device involved, in the clinician's view",
            event.get_device_related_display(),
        ),
        DraftField("Incident", "Outcome for the patient", event.get_outcome_display()),
        DraftField("Patient", "Age at the incident", f"{age} years"),
        DraftField("Patient", "Sex", patient.get_sex_display()),
        DraftField("Patient", "Local reference", patient.registry_number),
        DraftField("Reporter", "Organisation", patient.site.name),
    ]
    return YellowCardDraft(event, fields)
