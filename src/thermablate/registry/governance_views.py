"""Governance pages: the site's local approvals, credentialed operators, withdrawals and the
procedures recorded with an override."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from thermablate.guidance.wording import words_for
from thermablate.registry import access, actions
from thermablate.registry.approvals import review_flags
from thermablate.registry.forms import ApprovalForm, CredentialForm, WithdrawalForm
from thermablate.registry.models import LocalApproval, ProcedureGovernance
from thermablate.web.forms import apply_errors


def governance(request):
    staff = access.require(request.user, "registry.view_localapproval")
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
        "registry/governance.html",
        {
            "rows": rows,
            "overrides": overrides,
            "site": staff.site,
            "can_manage": request.user.has_perm("registry.manage_approvals"),
        },
    )


@require_http_methods(["GET", "POST"])
def approval_create(request):
    staff = access.require(request.user, "registry.manage_approvals")
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
    staff, approval = _approval(request, approval_id, "registry.view_localapproval")
    form = None
    if request.user.has_perm("registry.manage_approvals"):
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
        access.require(request.user, "registry.manage_approvals")
    return render(
        request,
        "registry/approval_detail.html",
        {
            "approval": approval,
            "flags": review_flags(approval),
            "form": form,
            "operators": approval.operators.select_related("user"),
            "recommendation_words": words_for("recommendation", approval.guidance_recommendation),
            "can_withdraw": approval.withdrawn_on is None
            and request.user.has_perm("registry.manage_approvals"),
        },
    )


@require_http_methods(["GET", "POST"])
def approval_withdraw(request, approval_id):
    _staff, approval = _approval(request, approval_id, "registry.manage_approvals")
    form = WithdrawalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_approval(
                approval,
                acting_user=request.user,
                withdrawn_on=form.cleaned_data["withdrawn_on"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, "Approval withdrawn: procedures after that date will be refused."
            )
            return redirect("approval_detail", approval.pk)
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": f"Withdraw the approval: {approval}"},
    )
