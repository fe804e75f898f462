"""The planning pages: plan a lesion, follow the run, read the result, compare options and
choose one. Each view first fetches through ``plans.access`` (deny by default, another site's
record is a 404), then only parses and calls ``plans.actions``."""

import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from thermablate.planning.anatomy import NERVE_ROOT_OF_SIDE
from thermablate.planning.lesion_plan import CannotPlan, default_options, modelled_levels
from thermablate.planning.safety import structure_name
from thermablate.plans import access, actions
from thermablate.plans.forms import ObservedZoneForm, PlanForm
from thermablate.plans.models import Plan, PlanStatus
from thermablate.registry.access import get_procedure
from thermablate.web.forms import apply_errors

MAX_COMPARED = 4


@require_http_methods(["GET", "POST"])
def plan_new(request, lesion_id: int):
    lesion = access.get_lesion(request.user, lesion_id, "plans.add_plan")
    facts = actions.lesion_facts(lesion)
    library = actions.device_library(lesion.patient.site)
    context = {"lesion": lesion, "patient": lesion.patient, "facts": facts}
    try:
        defaults = default_options(facts, library)
    except CannotPlan as exc:
        return render(request, "plans/cannot_plan.html", {**context, "reason": str(exc)})
    form = PlanForm(
        request.POST or None,
        initial=PlanForm.initial_from(defaults),
        facts=facts,
        library=library,
        levels=modelled_levels(facts),
    )
    if request.method == "POST" and form.is_valid():
        try:
            plan = actions.create_plan(
                lesion, form.options(), name=form.cleaned_data["name"], acting_user=request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Plan queued: it runs in the background.")
            return redirect("plan_detail", plan.pk)
    return render(request, "plans/plan_form.html", {**context, "form": form})


def approach_root(plan: Plan) -> str | None:
    """The tissue of the exiting root on the side the plan's needle went in (the patient's
    left or right pedicle), or None for a plan without a side (a long bone)."""
    side = (plan.scenario.get("anatomy") or {}).get("parameters", {}).get("side")
    return NERVE_ROOT_OF_SIDE.get(side)


def structure_rows(plan: Plan) -> list[dict]:
    """The judged structures of a plan's stored result, named from their tissue, today's or
    an earlier version's (a plan stored before the roots were split shows "exiting nerve roots
    (left and right together)"), the approach side's root marked."""
    approach = approach_root(plan)
    return [
        {**s, "structure": structure_name(s["tissue"]), "approach_side": s["tissue"] == approach}
        for s in ((plan.result or {}).get("safety") or {}).get("structures", [])
    ]


@require_GET
def plan_detail(request, plan_id: int):
    plan = access.get_plan(request.user, plan_id)
    result = plan.result or {}
    structures = structure_rows(plan)
    context = {
        "plan": plan,
        "patient": plan.patient,
        "result": result,
        "structures": structures,
        "by_side": any(s["tissue"] in NERVE_ROOT_OF_SIDE.values() for s in structures),
        "not_modelled": [
            structure_name(n) for n in result.get("safety", {}).get("not_modelled", [])
        ],
        "model_leaves_out": plan.model_leaves_out,
        "can_choose": request.user.has_perm("plans.change_plan"),
    }
    return render(request, "plans/plan_detail.html", context)


@require_GET
def plan_status(request, plan_id: int):
    """The run's state for the page's progress bar (polled every second)."""
    plan = access.get_plan(request.user, plan_id)
    return JsonResponse(
        {
            "status": plan.status,
            "status_label": plan.get_status_display(),
            "finished": plan.is_finished,
            "share": round(plan.progress_share, 4),
            "time_s": plan.progress_time_s,
            "duration_s": plan.duration_s,
            "tip_c": None if plan.progress_tip_c is None else round(plan.progress_tip_c, 1),
            "failure": plan.failure,
        }
    )


@require_GET
def plan_figure(request, plan_id: int):
    plan = access.get_plan(request.user, plan_id)
    if not plan.slices_png:
        raise Http404("This plan has no figure yet.")
    response = HttpResponse(bytes(plan.slices_png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a plan's figure never changes
    return response


@require_POST
def plan_choose(request, plan_id: int):
    plan = access.get_plan(request.user, plan_id, "plans.change_plan")
    try:
        actions.choose_plan(plan, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"“{plan.name}” is the chosen plan for {plan.lesion.location}.")
    return redirect("plan_detail", plan.pk)


def _compared(request, lesion) -> list[Plan]:
    ids = []
    for value in request.GET.getlist("plan"):
        if not value.isdigit():
            raise ValidationError("Choose plans from the list.")
        ids.append(int(value))
    if not ids:
        return []
    if not 2 <= len(set(ids)) <= MAX_COMPARED:
        raise ValidationError(f"Choose two to {MAX_COMPARED} plans to compare.")
    plans = list(lesion.plans.filter(pk__in=ids, status=PlanStatus.SUCCEEDED).order_by("pk"))
    if len(plans) != len(set(ids)):
        raise ValidationError("Only finished plans of this lesion can be compared.")
    return plans


@require_GET
def lesion_plans(request, lesion_id: int):
    lesion = access.get_lesion(request.user, lesion_id, "plans.view_plan")
    plans = list(lesion.plans.select_related("created_by"))
    error = ""
    try:
        compared = _compared(request, lesion)
    except ValidationError as exc:
        compared, error = [], " ".join(exc.messages)
    return render(
        request,
        "plans/lesion_plans.html",
        {
            "lesion": lesion,
            "patient": lesion.patient,
            "plans": plans,
            "compared": compared,
            "rows": comparison_rows(compared),
            "compare_query": "&".join(f"plan={p.pk}" for p in compared),
            "error": error,
            "can_plan": request.user.has_perm("plans.add_plan"),
            "can_choose": request.user.has_perm("plans.change_plan"),
        },
    )


@require_GET
def comparison_figure(request, lesion_id: int):
    from thermablate.planning.plots import comparison_figure as draw

    lesion = access.get_lesion(request.user, lesion_id, "plans.view_plan")
    try:
        compared = _compared(request, lesion)
    except ValidationError:
        raise Http404("No such comparison.") from None
    if not compared:
        raise Http404("No such comparison.")
    png = io.BytesIO()
    draw([(p.name, p.result) for p in compared], png)
    return HttpResponse(png.getvalue(), content_type="image/png")


def comparison_rows(plans: list[Plan]) -> list[tuple[str, list[str]]]:
    """The comparison table: one row per quantity, one column per plan."""
    if not plans:
        return []

    def zone(p, key, fmt):
        return fmt.format(p.result["ablation_zone"][key])

    def coverage(p, key, fmt):
        c = p.result.get("coverage")
        return fmt.format(c[key] * (100 if key == "covered_share" else 1)) if c else "no lesion"

    rows = [
        ("Device", [p.scenario.get("device", {}).get("label", p.device_id) for p in plans]),
        ("Active tip", [f"{p.scenario['electrodes'][0]['active_tip_mm']:g} mm, {p.scenario['electrodes'][0]['gauge']} G" for p in plans]),
        ("Target, time", [f"{p.scenario['generator']['target_temp_c']:g} °C for {p.duration_s / 60:g} min" for p in plans]),
        ("Zone along × across", [f"{zone(p, 'axial_extent_mm', '{:.1f}')} × {zone(p, 'transverse_extent_mm', '{:.1f}')} mm" for p in plans]),
        ("Zone volume", [zone(p, "volume_ml", "{:.2f} ml") for p in plans]),
        ("Lesion covered", [coverage(p, "covered_share", "{:.0f} %") for p in plans]),
        ("Smallest margin", [coverage(p, "smallest_margin_mm", "{:.1f} mm") for p in plans]),
    ]  # fmt: skip
    structures = {p.pk: {s["structure"]: s for s in structure_rows(p)} for p in plans}
    names = list(dict.fromkeys(name for p in plans for name in structures[p.pk]))
    for name in names:
        cells = []
        for p in plans:
            found = structures[p.pk].get(name)
            if found is None or found["max_temp_c"] is None:
                cells.append("–")
                continue
            marks = [
                mark
                for mark, shown in (
                    ("at risk", found["at_risk"]),
                    ("approach side", found["approach_side"]),
                )
                if shown
            ]
            cells.append(
                f"{found['max_temp_c']:.1f} °C" + (f" ({'; '.join(marks)})" if marks else "")
            )
        rows.append((f"Peak, {name}", cells))
    rows.append(("Neural safety", [p.result["safety"]["status"] for p in plans]))
    rows.append(
        (
            "Grid error",
            [
                "within tolerances"
                if (p.result.get("grid_convergence") or {}).get("converged")
                else "warning"
                for p in plans
            ],
        )
    )
    return rows


@require_POST
def procedure_plan_link(request, procedure_id: int):
    procedure = get_procedure(request.user, procedure_id)
    access.require(request.user, "plans.change_plan")
    value = request.POST.get("plan", "")
    plan = (
        access.get_plan(request.user, int(value), "plans.change_plan") if value.isdigit() else None
    )
    if plan is None:
        raise Http404("No such plan.")
    try:
        actions.link_to_procedure(plan, procedure, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The procedure is linked to the plan “{plan.name}”.")
    return redirect("procedure_detail", procedure.pk)


@require_POST
def procedure_as_delivered(request, procedure_id: int):
    procedure = get_procedure(request.user, procedure_id)
    access.require(request.user, "plans.add_plan")
    try:
        plan = actions.simulate_as_delivered(procedure, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("procedure_detail", procedure.pk)
    messages.success(request, "The procedure is being re-simulated as delivered.")
    return redirect("plan_detail", plan.pk)


@require_http_methods(["GET", "POST"])
def observed_zone_record(request, procedure_id: int):
    procedure = get_procedure(request.user, procedure_id)
    zone = getattr(procedure, "observed_zone", None)
    access.require(request.user, "plans.change_observedzone" if zone else "plans.add_observedzone")
    form = ObservedZoneForm(request.POST or None, instance=zone)
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_observed_zone(procedure, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Measured ablation zone saved.")
            return redirect("procedure_detail", procedure.pk)
    return render(request, "plans/observed_zone_form.html", {"form": form, "procedure": procedure})
