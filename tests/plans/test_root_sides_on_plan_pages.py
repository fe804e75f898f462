"""Issue 14 on the plan pages: each exiting nerve root (the patient's left and right) has its
own peak temperature, CEM43 and verdict in the stored result, on the plan's page and in the
comparison of options; plans stored before the split (one "nerve-root" key for both roots)
are immutable records and still show what they hold, as both roots together."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import login, queued_plan
from thermablate.plans.models import Plan, PlanStatus

BEFORE_ISSUE_14 = json.loads(
    (Path(__file__).parent / "data" / "plan_result_before_issue_14.json").read_text("utf-8")
)
TOGETHER = "exiting nerve roots (left and right together)"
LEFT = "exiting nerve root (patient&#x27;s left)"  # as the page escapes the apostrophe
RIGHT = "exiting nerve root (patient&#x27;s right)"


def _row(page: str, words: str) -> str:
    """The structures table's row naming ``words``."""
    table = page[page.index('id="structures"') :]
    table = table[: table.index("</table>")]
    (row,) = [r for r in re.findall(r"<tr.*?</tr>", table, re.S) if words in r]
    return row


@pytest.fixture
def from_the_right(lesion, clinician, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        plan = queued_plan(lesion, clinician, name="right pedicle", side="right")
    call_command("worker", "--batch")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUCCEEDED, plan.failure
    return plan


def stored_before_issue_14(lesion, clinician, name="stored before the split", **changes) -> Plan:
    """A finished plan as an earlier version stored it (its result is never rewritten)."""
    plan = queued_plan(lesion, clinician, name=name)
    result = json.loads(json.dumps(BEFORE_ISSUE_14["result"]))
    for key, value in changes.items():
        result["safety"][key] = value
    Plan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.SUCCEEDED,
        scenario=BEFORE_ISSUE_14["scenario"],
        options=BEFORE_ISSUE_14["options"],
        result=result,
    )
    plan.refresh_from_db()
    return plan


def test_a_plan_stores_and_shows_each_root_with_its_own_peak_dose_and_verdict(
    client, clinician, from_the_right
):
    safety = from_the_right.result["safety"]
    rows = {s["tissue"]: s for s in safety["structures"]}
    assert {"nerve-root-left", "nerve-root-right"} <= set(rows) and "nerve-root" not in rows
    assert "nerve-root" not in safety["not_modelled"]
    tissues = from_the_right.result["tissues"]
    assert rows["nerve-root-right"]["max_temp_c"] == round(
        tissues["nerve-root-right"]["max_temp_c"], 2
    )

    login(client, clinician)
    page = client.get(reverse("plan_detail", args=[from_the_right.pk])).content.decode()
    for tissue, words in (("nerve-root-left", LEFT), ("nerve-root-right", RIGHT)):
        row = _row(page, words)
        assert f"{rows[tissue]['max_temp_c']:.1f} °C" in row
        assert "min" in row and ("under the thresholds" in row or "At risk" in row)
    # The needle went through the patient's right pedicle: that root is the one marked.
    assert "approach side" in _row(page, RIGHT) and "approach side" not in _row(page, LEFT)
    assert (
        "Left and right are the patient&#x27;s" in page
        or "Left and right are the patient's" in page
    )
    assert TOGETHER not in page


def test_a_plan_stored_with_both_roots_together_still_shows_them(client, clinician, lesion):
    old = stored_before_issue_14(lesion, clinician)
    login(client, clinician)
    response = client.get(reverse("plan_detail", args=[old.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    row = _row(page, TOGETHER)
    assert "37.0 °C" in row and "under the thresholds" in row  # 37.02 °C stored
    assert LEFT not in page and RIGHT not in page and 'id="sides"' not in page
    assert "approach side" not in row  # one value for both roots: no side to mark
    # Its record is untouched: the page reads it, never rewrites it.
    old.refresh_from_db()
    assert old.result == BEFORE_ISSUE_14["result"]


def test_an_old_plan_shows_what_its_own_model_left_out(client, clinician, lesion, patient):
    # Stored before boiling and the exact shapes were modelled: its page and the chosen-plan
    # section of the MDT page say what that run left out, not what today's engine does.
    from thermablate.planning.safety import MODEL_LIMITATIONS

    old = stored_before_issue_14(lesion, clinician)
    Plan.objects.filter(pk=old.pk).update(
        chosen=True, chosen_by=clinician, chosen_at=old.created_at
    )
    then = BEFORE_ISSUE_14["result"]["safety"]["model_leaves_out"]
    assert then != list(MODEL_LIMITATIONS)
    login(client, clinician)
    detail = client.get(reverse("plan_detail", args=[old.pk])).content.decode()
    mdt = client.get(reverse("mdt_create", args=[patient.registry_number])).content.decode()
    for page in (detail, mdt):
        assert "vaporisation, charring and the generator" in page  # its own list
        assert "tissue water boils at 100 °C" not in page  # today's
    # A plan not run yet has no list of its own: today's.
    assert queued_plan(lesion, clinician, name="queued").model_leaves_out == list(MODEL_LIMITATIONS)


def test_an_old_plan_that_had_no_roots_names_them_as_not_in_its_model(client, clinician, lesion):
    # A long-bone plan stored before the split listed "nerve-root" as not modelled: reading
    # that key must not break its page.
    old = stored_before_issue_14(
        lesion,
        clinician,
        structures=[],
        status="nothing to judge",
        safe=False,
        not_modelled=["spinal-cord", "cauda-equina", "nerve-root", "csf", "dura", "epidural-fat"],
    )
    login(client, clinician)
    response = client.get(reverse("plan_detail", args=[old.pk]))
    assert response.status_code == 200
    assert f"cauda equina, {TOGETHER}, CSF" in response.content.decode()


def test_options_stored_before_and_after_the_split_are_compared_side_by_side(
    client, clinician, lesion, from_the_right
):
    old = stored_before_issue_14(lesion, clinician)
    login(client, clinician)
    query = f"?plan={old.pk}&plan={from_the_right.pk}"
    page = client.get(reverse("lesion_plans", args=[lesion.pk]) + query)
    assert page.status_code == 200
    order = [p.pk for p in page.context["compared"]]
    rows = {label: dict(zip(order, cells, strict=True)) for label, cells in page.context["rows"]}
    new_rows = {s["tissue"]: s for s in from_the_right.result["safety"]["structures"]}
    new = from_the_right.pk
    # Each shows what it holds, "–" where the other kind of record has no value.
    assert rows[f"Peak, {TOGETHER}"] == {old.pk: "37.0 °C", new: "–"}
    left = rows["Peak, exiting nerve root (patient's left)"]
    right = rows["Peak, exiting nerve root (patient's right)"]
    assert left == {old.pk: "–", new: f"{new_rows['nerve-root-left']['max_temp_c']:.1f} °C"}
    assert right[old.pk] == "–"
    assert right[new].startswith(f"{new_rows['nerve-root-right']['max_temp_c']:.1f} °C")
    assert "approach side" in right[new]  # the needle went through the patient's right pedicle
    figure = client.get(reverse("plan_comparison_figure", args=[lesion.pk]) + query)
    assert figure.status_code == 200 and figure["Content-Type"] == "image/png"
