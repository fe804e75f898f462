"""API operations for plans (mounted on the registry's API by the web project): create a plan
for a lesion, read its status and result, list a patient's plans. Same access helpers and
actions as the pages; a plan that cannot be run is a 422 and nothing is saved."""

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from ninja import Router, Schema, Status
from pydantic import Field

from thermablate.planning.lesion_plan import PlanOptions
from thermablate.plans import access, actions
from thermablate.plans.models import Plan
from thermablate.registry.access import get_patient
from thermablate.registry.api_schemas import ERRORS, limited_text

router = Router(tags=["plans"])


class PlanIn(Schema):
    name: limited_text(120) = ""
    device_id: limited_text(80)
    level: limited_text(3) = Field("", description="One of the lesion's levels (spinal lesions)")
    active_tip_mm: float | None = Field(
        None, ge=2, le=30, description="Where the library leaves it open"
    )
    gauge: int | None = Field(None, ge=10, le=30)
    target_temp_c: float = Field(90.0, ge=50, le=100)
    duration_s: float = Field(300.0, ge=30, le=1800)
    max_power_w: float = Field(50.0, ge=1, le=250)
    side: Literal["left", "right"] = "left"
    spacing_mm: Literal[0.25, 0.5, 0.75, 1.0] = 0.5
    bone_outer_radius_mm: float | None = Field(None, ge=3, le=40)
    cortical_thickness_mm: float | None = Field(None, ge=0.5, le=40)


class PlanOut(Schema):
    id: int
    registry_number: str
    lesion_id: int
    name: str
    status: str
    chosen: bool
    created_at: datetime
    created_by: str
    engine_version: str
    progress_share: float
    progress_time_s: float | None
    progress_tip_c: float | None
    failure: str
    caveats: list[str]
    notes: list[str]
    scenario: dict
    result: dict | None


def _out(plan: Plan) -> dict:
    return {
        "id": plan.pk,
        "registry_number": plan.patient.registry_number,
        "lesion_id": plan.lesion_id,
        "name": plan.name,
        "status": plan.status,
        "chosen": plan.chosen,
        "created_at": plan.created_at,
        "created_by": plan.created_by.username,
        "engine_version": plan.engine_version,
        "progress_share": plan.progress_share,
        "progress_time_s": plan.progress_time_s,
        "progress_tip_c": plan.progress_tip_c,
        "failure": plan.failure,
        "caveats": plan.caveats,
        "notes": plan.notes,
        "scenario": plan.scenario,
        "result": plan.result,
    }


@router.post("/lesions/{lesion_id}/plans", response={201: PlanOut, **ERRORS})
def create_plan(request, lesion_id: int, payload: PlanIn):
    lesion = access.get_lesion(request.user, lesion_id, "plans.add_plan")
    data = payload.dict()
    name = data.pop("name")
    if data["level"] == "" and lesion.level_list:
        raise ValidationError({"level": "Give one of the lesion's levels."})
    plan = actions.create_plan(lesion, PlanOptions(**data), name=name, acting_user=request.user)
    return Status(201, _out(plan))


@router.get("/plans/{plan_id}", response={200: PlanOut, **ERRORS})
def read_plan(request, plan_id: int):
    return _out(access.get_plan(request.user, plan_id))


@router.get("/patients/{registry_number}/plans", response={200: list[PlanOut], **ERRORS})
def list_plans(request, registry_number: str):
    patient = get_patient(request.user, registry_number, "plans.view_plan")
    plans = Plan.objects.filter(patient=patient).select_related("patient", "created_by")
    return [_out(p) for p in plans]
