"""Governance pages: the site's local approvals, their supersession and withdrawal, the
credentialed operators, and the procedures recorded with an override."""

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from thermablate.guidance.wording import words_for
from thermablate.registry import access, actions
from thermablate.registry import data_quality as dq
from thermablate.registry.actions.governance import carriable_credentials
from thermablate.registry.approvals import review_flags
from thermablate.registry.forms import (
    ApprovalCorrectionForm,
    ApprovalForm,
    CredentialCorrectionForm,
    CredentialForm,
    SupersedeForm,
    WithdrawalForm,
)
from thermablate.registry.models import LocalApproval, ProcedureGovernance
from thermablate.web.forms import apply_errors


def governance(request):
    staff = access.require(request.user, "registry.view_localapproval")
    approvals = LocalApproval.objects.filter(site=staff.site).select_related(
        "guidance", "clinical_lead"
    )
    rows = [(a, review_flags(a)) for a in approvals.prefetch_related("operators__user")]
    governed = (
        ProcedureGovernance.objects.filter(approval__site=staff.site)
        .select_related("procedure__patient", "overridden_by")
        .order_by("-procedure__procedure_date")
    )
    overrides = governed.exclude(uncredentialed_operators=[])
    # Procedures recorded outside the pathway, with the rules they broke in words.
    pathway_overrides = [
        (
            g,
            [
                dq.RULE_BY_CODE[code].title
                for code in g.pathway_exceptions
                if code in dq.RULE_BY_CODE
            ],
        )
        for g in governed.exclude(pathway_exceptions=[])
    ]
    return render(
        request,
        "registry/governance.html",
        {
            "rows": rows,
            "overrides": overrides,
            "pathway_overrides": pathway_overrides,
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
            "can_withdraw": approval.in_force
            and request.user.has_perm("registry.manage_approvals"),
            "can_supersede": approval.in_force
            and request.user.has_perm("registry.manage_approvals"),
            "can_correct": request.user.has_perm("registry.manage_approvals"),
            "superseded_by": getattr(approval, "superseded_by", None),
        },
    )


@require_http_methods(["GET", "POST"])
def approval_correct(request, approval_id):
    """Put right what was recorded of the committee's decision, with a reason."""
    staff, approval = _approval(request, approval_id, "registry.manage_approvals")
    form = ApprovalCorrectionForm(request.POST or None, site=staff.site, instance=approval)
    return _correction_page(
        request,
        form,
        approval,
        partial(actions.correct_approval, approval),
        title=f"Correct the approval: {approval}",
    )


@require_http_methods(["GET", "POST"])
def credential_correct(request, approval_id, credential_id):
    """Put right an operator's training or credential date, with a reason."""
    _staff, approval = _approval(request, approval_id, "registry.manage_approvals")
    credential = _credential(approval, credential_id)
    form = CredentialCorrectionForm(request.POST or None, instance=credential)
    return _correction_page(
        request,
        form,
        approval,
        partial(actions.correct_credential, credential),
        title=f"Correct the credential of {_name(credential)}: {approval}",
    )


def _correction_page(request, form, approval, correct, *, title: str):
    status = 200
    if request.method == "POST" and form.is_valid():
        fields = form.pop_version()
        try:
            correct(
                {k: v for k, v in fields.items() if k not in ("reason", "expected_version")},
                reason=fields["reason"],
                expected_version=fields["expected_version"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            status = 409 if isinstance(exc, actions.StaleRecordError) else 200
            apply_errors(form, exc)
        else:
            messages.success(
                request, "Corrected: the audit trail keeps the old values and the reason."
            )
            return redirect("approval_detail", approval.pk)
    return render(request, "registry/form_page.html", {"form": form, "title": title}, status=status)


def _credential(approval, credential_id):
    credential = approval.operators.select_related("user").filter(pk=credential_id).first()
    if credential is None:
        raise Http404("No such credential under this approval.")
    return credential


def _name(credential) -> str:
    return credential.user.get_full_name() or credential.user.username


@require_http_methods(["GET", "POST"])
def credential_withdraw(request, approval_id, credential_id):
    """The committee withdraws one operator's credential under an approval."""
    _staff, approval = _approval(request, approval_id, "registry.manage_approvals")
    credential = _credential(approval, credential_id)
    name = _name(credential)
    return _withdrawal_page(
        request,
        approval,
        partial(actions.withdraw_credential, credential),
        done="Credential withdrawn: procedures from that date by this operator need an override.",
        title=f"Withdraw the credential of {name}: {approval}",
    )


@require_http_methods(["GET", "POST"])
def approval_supersede(request, approval_id):
    """Record the committee's new decision on the procedure, in place of the one in force."""
    _staff, previous = _approval(request, approval_id, "registry.manage_approvals")
    if not previous.in_force:
        messages.info(
            request, "This approval is no longer in force: there is nothing to supersede."
        )
        return redirect("approval_detail", previous.pk)
    carriable = carriable_credentials(previous)
    form = SupersedeForm(
        request.POST or None,
        previous=previous,
        carriable=carriable,
        instance=LocalApproval(site=previous.site, procedure_type=previous.procedure_type),
    )
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        reason = fields.pop("supersession_reason")
        carry_over = fields.pop("carry_over")
        try:
            approval = actions.supersede_approval(
                previous,
                acting_user=request.user,
                reason=reason,
                carry_over=carry_over,
                **fields,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            carried = approval.operators.count()
            messages.success(
                request,
                f"New approval recorded: it supersedes the decision of "
                f"{previous.decision_date:%d %B %Y}, and {carried} credentialed "
                f"operator{'s were' if carried != 1 else ' was'} carried over to it.",
            )
            return redirect("approval_detail", approval.pk)
    return render(
        request,
        "registry/form_page.html",
        {"form": form, "title": f"Supersede the approval: {previous}"},
    )


@require_http_methods(["GET", "POST"])
def approval_withdraw(request, approval_id):
    _staff, approval = _approval(request, approval_id, "registry.manage_approvals")
    return _withdrawal_page(
        request,
        approval,
        partial(actions.withdraw_approval, approval),
        done="Approval withdrawn: procedures after that date will be refused.",
        title=f"Withdraw the approval: {approval}",
    )


def _withdrawal_page(request, approval, withdraw, *, done: str, title: str):
    """The page of a withdrawal (of an approval, or of a credential under it): its date and
    reason, given to ``withdraw``; back to the approval once done."""
    form = WithdrawalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            withdraw(
                acting_user=request.user,
                withdrawn_on=form.cleaned_data["withdrawn_on"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("approval_detail", approval.pk)
    return render(request, "registry/form_page.html", {"form": form, "title": title})
