"""The Data quality page: the findings of the rules in ``registry.data_quality`` over the
site's records, counted per rule, listed a page at a time with a link to each record, filtered
by rule, kind of record and status, and downloadable as CSV; and a finding's acknowledgement
with its reason."""

import csv

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from thermablate.registry import access, actions, findings_store
from thermablate.registry import data_quality as dq
from thermablate.registry.csv_cells import neutralised
from thermablate.web.forms import NhsFormMixin, apply_errors

PER_PAGE = 50
# Who may read the findings: everyone who reads procedures (clinicians, coordinators,
# governance leads, analysts). A permission of its own would need a line in roles.py.
VIEW_PERMISSION = "registry.view_procedure"


def warn_of_findings(request, record) -> None:
    """After a save: each data-quality rule the record (or a row saved with it) now breaks,
    as a warning on the next page, the same rules as the Data quality page. The record is
    saved: a warning asks for a check, it refuses nothing."""
    for found in dq.findings_for(record):
        messages.warning(
            request,
            f"Check: {found.rule.title}. {found.rule.message} "
            "(listed on the Data quality page until it is corrected or acknowledged)",
        )


def acknowledge_permission(rule: dq.Rule) -> str:
    """Acknowledging a finding says the record is right as it is: a decision for those who
    may change that kind of record (clinicians and coordinators, roles.py)."""
    return f"registry.change_{rule.record_type.model._meta.model_name}"


class FindingFilterForm(NhsFormMixin, forms.Form):
    rule = forms.ChoiceField(
        label="Rule",
        required=False,
        choices=[("", "Any rule")] + [(rule.code, rule.title) for rule in dq.RULES],
    )
    record_type = forms.ChoiceField(
        label="Kind of record",
        required=False,
        choices=[("", "Any")] + [(kind.key, kind.label) for kind in dq.RECORD_TYPES],
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            (dq.Status.OPEN, "Open"),
            (dq.Status.ACKNOWLEDGED, "Acknowledged"),
            (dq.Status.ALL, "Open and acknowledged"),
        ],
    )


class AcknowledgementForm(NhsFormMixin, forms.Form):
    reason = forms.CharField(
        label="Why the record is right as it is",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept with the acknowledgement and in the audit trail",
    )


def _selected(filters: dict) -> tuple[list[dq.Rule], dq.Status]:
    rules = list(dq.RULES)
    if filters.get("rule"):
        rules = [rule for rule in rules if rule.code == filters["rule"]]
    if filters.get("record_type"):
        rules = [rule for rule in rules if rule.record_type.key == filters["record_type"]]
    return rules, dq.Status(filters.get("status") or dq.Status.OPEN)


def data_quality(request):
    staff = access.require(request.user, VIEW_PERMISSION)
    form = FindingFilterForm(request.GET or None)
    refused = form.is_bound and not form.is_valid()
    filters = {} if refused else (form.cleaned_data if form.is_bound else {})
    rules, status = _selected(filters)
    if refused:
        rules = []  # a refused filter shows its error, not every finding
    if request.GET.get("format") == "csv":
        return _findings_csv(request, staff.site, filters, rules, status)
    today = timezone.localdate()
    counts = findings_store.count_findings(staff.site, today=today)
    by_code = {count.rule.code: count for count in counts}
    findings = findings_store.FindingList(staff.site, rules, by_code, status, today)
    page = Paginator(findings, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    may_acknowledge = {
        rule.code for rule in dq.RULES if request.user.has_perm(acknowledge_permission(rule))
    }
    return render(
        request,
        "registry/data_quality.html",
        {
            "site": staff.site,
            "form": form,
            "counts": counts,
            "open_total": sum(count.open for count in counts),
            "acknowledged_total": sum(count.acknowledged for count in counts),
            "page": page,
            "findings": page.object_list,
            "status": status,
            "query": query.urlencode(),
            "may_acknowledge": may_acknowledge,
        },
    )


CSV_HEADER = (
    "Rule",
    "Rule code",
    "Severity",
    "Kind of record",
    "Record",
    "Record id",
    "Registry number",
    "Message",
    "Status",
    "Acknowledged by",
    "Acknowledged at",
    "Reason",
    "Link",
)


def _findings_csv(request, site, filters: dict, rules, status):
    actions.record_findings_export(
        acting_user=request.user, filters={k: str(v) for k, v in filters.items() if v}
    )

    def rows():
        yield list(CSV_HEADER)
        for found in dq.iter_findings(site, rules, status):
            ack = found.acknowledgement
            cells = (
                found.rule.title,
                found.rule.code,
                found.rule.severity_label,
                found.rule.record_type.label,
                found.record,
                found.object_id,
                found.registry_number,
                found.rule.message,
                "Acknowledged" if ack else "Open",
                (ack.acknowledged_by.get_full_name() or ack.acknowledged_by.username)
                if ack
                else "",
                timezone.localtime(ack.acknowledged_at).isoformat(timespec="seconds")
                if ack
                else "",
                ack.reason if ack else "",
                request.build_absolute_uri(found.url),
            )
            yield [neutralised(cell) for cell in cells]

    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="data-quality.csv"'
    return response


class _Echo:
    """A file whose write returns the line: csv.writer then yields lines to stream."""

    def write(self, line):
        return line


@require_http_methods(["GET", "POST"])
def acknowledge(request, rule_code: str, object_id: int):
    rule = dq.RULE_BY_CODE.get(rule_code)
    if rule is None:
        raise Http404("No such data-quality rule.")
    staff = access.require(request.user, acknowledge_permission(rule))
    record = dq.site_records(rule.record_type, staff.site).filter(pk=object_id).first()
    if record is None:
        raise Http404("No such record at your site.")
    found = dq.finding(rule, object_id, staff.site)
    back = reverse("data_quality") + f"?rule={rule.code}"
    if found is None:
        messages.info(request, "This finding no longer applies: the record was corrected.")
        return redirect(back)
    form = AcknowledgementForm(request.POST or None)
    if request.method == "POST" and found.is_open and form.is_valid():
        try:
            actions.acknowledge_finding(
                rule, record, acting_user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Finding acknowledged: {rule.title}, {found.record}.")
            return redirect(back)
    return render(
        request,
        "registry/data_quality_acknowledge.html",
        {"finding": found, "form": form, "back": back},
    )
