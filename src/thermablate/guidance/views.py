"""Catalogue pages (every signed-in role with the permission) and local approval (governance)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from thermablate.guidance import actions
from thermablate.guidance.forms import ApprovalForm, CatalogueSearchForm, CredentialForm
from thermablate.guidance.governance import review_flags, successor_of
from thermablate.guidance.models import Guidance, LocalApproval, ProcedureGovernance
from thermablate.guidance.process import process_timeline, standing
from thermablate.guidance.record import CONDITIONS
from thermablate.registry import access
from thermablate.registry.views import apply_errors


def catalogue(request):
    access.require(request.user, "guidance.view_guidance")
    form = CatalogueSearchForm(request.GET or None)
    items = Guidance.objects.all()
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        items = items.filter(
            Q(key__icontains=q) | Q(title__icontains=q) | Q(guidance_id__icontains=q)
        )
    return render(request, "guidance/catalogue.html", {"items": items, "form": form})


def _chain(guidance: Guidance) -> list[tuple[str, Guidance | None]]:
    """The documents this one replaces, itself, then its successors: IPG759 -> HTG670."""
    known = {g.key: g for g in Guidance.objects.all()}
    earlier = []
    frontier = list(guidance.record.get("replaces", []))
    while frontier:
        key = frontier.pop()
        earlier.insert(0, (key, known.get(key)))
        frontier.extend(known[key].record.get("replaces", []) if key in known else [])
    later, key, seen = [], successor_of(guidance.key), {guidance.key}
    while key and key not in seen:
        seen.add(key)
        later.append((key, known.get(key)))
        key = successor_of(key)
    return [*earlier, (guidance.key, guidance), *later]


def guidance_detail(request, key):
    access.require(request.user, "guidance.view_guidance")
    guidance = Guidance.objects.filter(key=key).first()
    if guidance is None:
        raise Http404("No such guidance in the catalogue.")
    record = guidance.record
    stages = process_timeline(record.get("dates", {}), timezone.localdate())
    context = {
        "guidance": guidance,
        "record": record,
        "conditions": [(c, CONDITIONS.get(c, c)) for c in record.get("conditions", [])],
        "chain": _chain(guidance),
        "stages": stages if guidance.kind in {"in_development", "consultation"} else [],
        "standing": standing(stages),
        "versions": guidance.versions.all(),
    }
    return render(request, "guidance/detail.html", context)


def governance(request):
    staff = access.require(request.user, "guidance.view_localapproval")
    approvals = LocalApproval.objects.filter(site=staff.site).select_related(
        "guidance", "clinical_lead"
    )
    rows = [(a, review_flags(a)) for a in approvals.prefetch_related("operators__user")]
    overrides = (
        ProcedureGovernance.objects.filter(approval__site=staff.site)
        .exclude(uncredentialed_operators=[])
        .select_related("procedure__patient", "overridden_by")
        .order_by("-procedure__procedure_date")
    )
    return render(
        request,
        "guidance/governance.html",
        {
            "rows": rows,
            "overrides": overrides,
            "site": staff.site,
            "can_manage": request.user.has_perm("guidance.manage_approvals"),
        },
    )


@require_http_methods(["GET", "POST"])
def approval_create(request):
    staff = access.require(request.user, "guidance.manage_approvals")
    form = ApprovalForm(
        request.POST or None, site=staff.site, instance=LocalApproval(site=staff.site)
    )
    if request.method == "POST" and form.is_valid():
        try:
            approval = actions.record_approval(
                site=staff.site, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Approval recorded. Now credential the operators.")
            return redirect("approval_detail", approval.pk)
    return render(
        request, "registry/form_page.html", {"form": form, "title": "Record a local approval"}
    )


def _approval(request, approval_id, permission):
    staff = access.require(request.user, permission)
    approval = (
        LocalApproval.objects.filter(pk=approval_id, site=staff.site)
        .select_related("guidance")
        .first()
    )
    if approval is None:
        raise Http404("No such approval at your site.")
    return staff, approval


@require_http_methods(["GET", "POST"])
def approval_detail(request, approval_id):
    staff, approval = _approval(request, approval_id, "guidance.view_localapproval")
    form = None
    if request.user.has_perm("guidance.manage_approvals"):
        form = CredentialForm(request.POST or None, site=staff.site)
        if request.method == "POST" and form.is_valid():
            try:
                actions.credential_operator(approval, acting_user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Operator credentialed.")
                return redirect("approval_detail", approval.pk)
    elif request.method == "POST":
        access.require(request.user, "guidance.manage_approvals")
    return render(
        request,
        "guidance/approval_detail.html",
        {
            "approval": approval,
            "flags": review_flags(approval),
            "form": form,
            "operators": approval.operators.select_related("user"),
        },
    )
