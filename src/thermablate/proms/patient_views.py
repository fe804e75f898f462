"""The patient's pages: no account, a link from a message, their year of birth, then the
questionnaire one page at a time, a page to check the answers, and "Thank you".

Nothing on these pages names the patient, the hospital number, the NHS number or the
treatment: only the time point ("your 3-month questionnaire"). Every answer is saved as the
page is left, so the patient can stop and come back with the same link within the window.
They work without JavaScript and are never cached or indexed.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from thermablate.proms import actions, links, wording
from thermablate.proms import questionnaire as q
from thermablate.proms.patient_forms import (
    MedicineForm,
    QuestionsForm,
    TakesPainkillersForm,
    YearOfBirthForm,
)
from thermablate.registry.actions.base import error_messages
from thermablate.web.client import client_address

TEMPLATES = "proms/patient/"
# A bound on one patient's list (the draft is stored as it grows).
MAX_MEDICINES = 20


def _save(request, invitation, answers: dict):
    """Save a page's answers; None, or the page saying the questionnaire closed meanwhile."""
    try:
        actions.save_answers(invitation, answers)
    except ValidationError:
        return _problem(request, links.EXPIRED, status=410)
    return None


def _private(response):
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the path: the site's "same-origin" Referrer-Policy already keeps it from
    # other hosts. Not "no-referrer": with it Chrome posts the forms with "Origin: null", which
    # Django's CSRF check rightly refuses (found by tests/e2e/test_patient_questionnaire_browser).
    return response


def _page(request, template: str, context: dict, status: int = 200):
    return _private(render(request, TEMPLATES + template, context, status=status))


def _problem(request, message: str, status: int):
    return _page(request, "problem.html", {"message": message}, status=status)


def confirmed_invitation(view):
    """The invitation of a working link whose year of birth this browser confirmed; any
    other request goes back to the link's first page (which says what is wrong)."""

    @login_not_required
    @wraps(view)
    def wrapper(request, token, *args, **kwargs):
        state = links.resolve(token)
        if state.invitation is None:
            return _problem(request, state.problem, status=state.status)
        if not links.is_confirmed(request.session, state.invitation):
            return redirect("proms_start", token=token)
        return view(request, token, state.invitation, *args, **kwargs)

    return wrapper


def _timepoint(invitation) -> str:
    return invitation.assessment.get_timepoint_display()


def _next_url(token: str, invitation) -> str:
    """The first page still unanswered (in order, so answering goes page by page), or the
    check page once all are: a change made from the check page returns to it."""
    page = q.first_unanswered(invitation.assessment, invitation.draft)
    if page is None:
        return reverse("proms_check", args=[token])
    return reverse("proms_page", args=[token, page.slug])


@login_not_required
@require_http_methods(["GET", "POST"])
def start(request, token):
    state = links.resolve(token)
    if state.invitation is None:
        return _problem(request, state.problem, status=state.status)
    invitation = state.invitation
    if links.is_confirmed(request.session, invitation) and request.method == "GET":
        return redirect(_next_url(token, invitation))
    form = YearOfBirthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if links.confirm_year_of_birth(invitation, form.cleaned_data["year_of_birth"]):
            links.remember_confirmed(request.session, invitation)
            return redirect(_next_url(token, invitation))
        after = links.resolve(token)
        if after.invitation is None:
            return _problem(request, after.problem, status=410)
        form.add_error(
            "year_of_birth",
            "The year of birth does not match our records. Check it and try again",
        )
    return _page(
        request,
        "start.html",
        {"form": form, "timepoint": _timepoint(invitation), "title": "Confirm it is you"},
        status=400 if form.errors else 200,
    )


@confirmed_invitation
@require_http_methods(["GET", "POST"])
def page(request, token, invitation, slug):
    assessment = invitation.assessment
    current = q.page_of(assessment, slug)
    if current is None:
        return _problem(request, "This page does not exist.", status=404)
    if slug == q.MEDICINES:
        return _medicines(request, token, invitation, current)
    initial = {
        name: ("skip" if value is None else value)
        for name, value in invitation.draft.items()
        if name in {question.name for question in current.questions}
    }
    form = QuestionsForm(current, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        answers = form.answers()
        problems = q.answer_problems(answers, invitation.draft)
        for name, message in problems.items():
            form.add_error(name, message)
        if not problems:
            return _save(request, invitation, answers) or redirect(_next_url(token, invitation))
    return _page(
        request,
        "questions.html",
        _context(invitation, current, form=form, token=token),
        status=400 if form.errors else 200,
    )


def _context(invitation, current: q.Page, **extra) -> dict:
    pages = q.pages_for(invitation.assessment)
    number = next(i for i, p in enumerate(pages, start=1) if p.slug == current.slug)
    return {
        "page": current,
        "title": current.title,
        "timepoint": _timepoint(invitation),
        "number": number,
        "count": len(pages),
        "single_question": len(current.questions) == 1,
        # The two ends of a typed-in scale, in the site's wording (the EQ VAS).
        "low": wording.end_label("eq5d5l", "vas", 0),
        "high": wording.end_label("eq5d5l", "vas", 100),
        "notice": wording.notices(),
        **extra,
    }


def _medicines(request, token, invitation, current):
    draft = invitation.draft
    listed = list(draft.get(q.MEDICINE_LIST, []))
    add_form = MedicineForm(prefix="add")
    answer_form = TakesPainkillersForm(
        initial={
            "takes_painkillers": draft.get(q.TAKES_PAINKILLERS),
            "other_medicines": draft.get(q.OTHER_MEDICINES, ""),
        }
    )
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "add":
        add_form = MedicineForm(request.POST, prefix="add")
        if add_form.is_valid() and len(listed) >= MAX_MEDICINES:
            add_form.add_error(None, f"You can list up to {MAX_MEDICINES} painkillers")
        elif add_form.is_valid():
            answers = {q.MEDICINE_LIST: [*listed, add_form.chosen()], q.TAKES_PAINKILLERS: None}
            return _save(request, invitation, answers) or redirect(
                "proms_page", token=token, slug=q.MEDICINES
            )
    elif request.method == "POST" and action.startswith("remove-"):
        index = action.removeprefix("remove-")
        if index.isdigit() and int(index) < len(listed):
            del listed[int(index)]
            answers = {q.MEDICINE_LIST: listed, q.TAKES_PAINKILLERS: None}
            if closed := _save(request, invitation, answers):
                return closed
        return redirect("proms_page", token=token, slug=q.MEDICINES)
    elif request.method == "POST":
        answer_form = TakesPainkillersForm(request.POST)
        if answer_form.is_valid():
            takes = answer_form.cleaned_data["takes_painkillers"]
            other = answer_form.cleaned_data["other_medicines"].strip()
            if takes == "yes" and not listed and not other:
                answer_form.add_error(
                    "takes_painkillers",
                    "Add the painkillers you take from the list, or write them under Other",
                )
            else:
                answers = {
                    q.TAKES_PAINKILLERS: takes,
                    q.MEDICINE_LIST: listed if takes == "yes" else [],
                    q.OTHER_MEDICINES: other if takes == "yes" else "",
                }
                return _save(request, invitation, answers) or redirect(_next_url(token, invitation))
    return _page(
        request,
        "medicines.html",
        _context(
            invitation,
            current,
            token=token,
            add_form=add_form,
            form=answer_form,
            listed=[q.describe_medicine(chosen) for chosen in listed],
        ),
        status=400 if add_form.errors or answer_form.errors else 200,
    )


def _answer_text(invitation, current: q.Page) -> list[tuple[str, str]]:
    draft = invitation.draft
    if current.slug == q.MEDICINES:
        if draft.get(q.TAKES_PAINKILLERS) == "no":
            return [("Painkillers you take now", "None")]
        rows = [q.describe_medicine(chosen) for chosen in draft.get(q.MEDICINE_LIST, [])]
        if draft.get(q.OTHER_MEDICINES):
            rows.append(f"Other: {draft[q.OTHER_MEDICINES]}")
        return [("Painkillers you take now", "; ".join(rows) or "Not answered yet")]
    out = []
    for question in current.questions:
        if question.name not in draft:
            value = "Not answered yet"
        elif draft[question.name] is None:
            value = "I prefer not to answer"
        elif current.number_input:
            value = str(draft[question.name])
        else:
            value = question.label(draft[question.name])
        out.append((question.text, value))
    return out


@confirmed_invitation
@require_http_methods(["GET", "POST"])
def check(request, token, invitation):
    errors = []
    if request.method == "POST" and request.user.is_authenticated:
        # Answers sent as the patient's must be the patient's: staff enter theirs on the
        # assessment page, under their own name.
        errors = [
            "You are signed in to Thermablate as staff. Sign out before sending a patient's "
            "answers, or enter them on the assessment page."
        ]
    elif request.method == "POST":
        try:
            actions.submit(invitation, client_address=client_address(request) or "")
        except actions.ClosedError as exc:
            return _problem(request, " ".join(exc.messages), status=410)
        except ValidationError as exc:
            errors = error_messages(exc)
        else:
            request.session.pop(links.CONFIRMED_KEY, None)
            return redirect("proms_done")
    pages = q.pages_for(invitation.assessment)
    rows = [
        (page, _answer_text(invitation, page), page.is_answered(invitation.draft)) for page in pages
    ]
    return _page(
        request,
        "check.html",
        {
            "rows": rows,
            "token": token,
            "errors": errors,
            "title": "Check your answers before sending them",
            "timepoint": _timepoint(invitation),
        },
        status=400 if errors else 200,
    )


@login_not_required
def done(request):
    return _page(request, "done.html", {"title": "Thank you"})
