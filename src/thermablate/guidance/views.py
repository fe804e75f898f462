"""Catalogue pages: every signed-in role with the permission reads the NICE documents, in NICE's
words (display.py turns the stored record into what the page shows)."""

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from thermablate.clinical import opcs
from thermablate.guidance import display
from thermablate.guidance.forms import CatalogueSearchForm
from thermablate.guidance.governance import successor_of
from thermablate.guidance.models import Guidance
from thermablate.guidance.process import process_timeline, standing
from thermablate.guidance.record import CONDITIONS
from thermablate.guidance.wording import words_for
from thermablate.web.permissions import require_permission


def catalogue(request):
    require_permission(request.user, "guidance.view_guidance")
    form = CatalogueSearchForm(request.GET or None)
    items = Guidance.objects.all()
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        items = items.filter(
            Q(key__icontains=q) | Q(title__icontains=q) | Q(guidance_id__icontains=q)
        )
    known = set(Guidance.objects.values_list("key", flat=True))
    rows = []
    for g in items:
        # A replaced document says by what, linked when the catalogue holds it (IPG319: IPG544).
        successor = successor_of(g.key)
        rows.append(
            (
                g,
                display.kind_label(g),
                display.recommendation_of(g),
                display.source_of(g),
                (successor, successor in known) if successor else None,
            )
        )
    return render(request, "guidance/catalogue.html", {"rows": rows, "form": form})


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
    require_permission(request.user, "guidance.view_guidance")
    guidance = Guidance.objects.filter(key=key).first()
    if guidance is None:
        raise Http404("No such guidance in the catalogue.")
    record = guidance.record
    stages = process_timeline(record.get("dates", {}), timezone.localdate())
    # The installed official release (if any) gives titles the shipped table cannot.
    codes = (
        display.code_titles(record, opcs.code_table(settings.DATA_DIR))
        if record.get("opcs_codes")
        else []
    )
    context = {
        "guidance": guidance,
        "record": record,
        "kind_label": display.kind_label(guidance),
        "recommendation": display.recommendation_of(guidance),
        "nices_words": display.nices_words(guidance),
        "source": display.source_of(guidance),
        "fields": display.fields_of(record),
        "events": display.dated_events(record),
        "unstated": display.unstated_fields(record),
        "codes": codes,
        "codes_needing_release": [c.code for c in codes if c.needs_release],
        "conditions": [(c, CONDITIONS.get(c, c)) for c in record.get("conditions", [])],
        "chain": _chain(guidance),
        "stages": stages if guidance.kind in {"in_development", "consultation"} else [],
        "standing": standing(stages),
        "versions": [
            (v, words_for("recommendation", v.record.get("recommendation")))
            for v in guidance.versions.all()
        ],
    }
    return render(request, "guidance/detail.html", context)
