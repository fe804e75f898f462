import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thermablate.clinical.opioids import (
    CONVERSION_TABLE_SOURCES,
    CONVERSION_TABLE_VERSION,
    AnalgesicEntry,
    NoReliableConversionError,
    OpioidEntryError,
    UnknownOpioidError,
    daily_ome_mg,
    generic_name,
    ome_breakdown,
)


def entry(drug, dose, unit="mg", route="oral", doses_per_day=1):
    return AnalgesicEntry(drug=drug, dose=dose, unit=unit, route=route, doses_per_day=doses_per_day)


def patch(drug, rate):
    return AnalgesicEntry(
        drug=drug, dose=rate, unit="microgram/h", route="transdermal", doses_per_day=None
    )


def test_the_table_is_versioned_and_cites_opioids_aware():
    assert CONVERSION_TABLE_VERSION == "1.0.0"
    assert any("Opioids Aware" in source for source in CONVERSION_TABLE_SOURCES)


@pytest.mark.parametrize(
    ("rate", "ome"),
    # Opioids Aware: fentanyl 12/25/50/75/100 microgram/h = 30/60/120/180/240 mg oral morphine per 24 h.
    [(12, 30), (25, 60), (50, 120), (75, 180), (100, 240)],
)
def test_fentanyl_patches_match_opioids_aware(rate, ome):
    assert daily_ome_mg([patch("fentanyl", rate)]) == pytest.approx(ome)


@pytest.mark.parametrize(
    ("rate", "ome"),
    # Opioids Aware (7-day patches 5/10/20) and BNF (3-4 day patches 35/52.5/70), factor 2.4.
    [(5, 12), (10, 24), (20, 48), (35, 84), (52.5, 126), (70, 168)],
)
def test_buprenorphine_patches_match_opioids_aware_and_the_bnf(rate, ome):
    assert daily_ome_mg([patch("buprenorphine", rate)]) == pytest.approx(ome)


def test_patch_changes_do_not_multiply_the_dose():
    assert daily_ome_mg(
        [AnalgesicEntry("fentanyl", 25, "microgram/h", "transdermal", 1 / 3)]
    ) == pytest.approx(60)


@pytest.mark.parametrize(
    ("item", "ome"),
    [
        (
            entry("codeine", 60, doses_per_day=4),
            24,
        ),  # Opioids Aware: codeine 100 mg = morphine 10 mg
        (entry("tramadol", 100, doses_per_day=4), 40),  # tramadol 100 mg = morphine 10 mg
        (entry("tapentadol", 50, doses_per_day=2), 40),  # tapentadol 25 mg = morphine 10 mg
        (entry("oxycodone", 10, doses_per_day=2), 30),  # factor 1.5
        (entry("morphine", 60, doses_per_day=2), 120),
        (entry("dihydrocodeine", 60, doses_per_day=4), 24),
        (entry("hydromorphone", 2, doses_per_day=4), 40),  # hydromorphone 2 mg = morphine 10 mg
        (
            entry("diamorphine", 10, route="subcutaneous"),
            30,
        ),  # Scottish guidelines: oral morphine / 3
        (entry("morphine", 5, route="subcutaneous", doses_per_day=6), 60),  # oral morphine / 2
        (entry("oxycodone", 5, route="subcutaneous", doses_per_day=2), 30),
        (entry("buprenorphine", 200, unit="microgram", route="sublingual", doses_per_day=3), 24),
    ],
)
def test_it_converts_oral_sublingual_and_parenteral_doses(item, ome):
    assert daily_ome_mg([item]) == pytest.approx(ome)


def test_it_adds_up_entries_and_counts_non_opioids_as_zero():
    entries = [
        entry("morphine", 30, doses_per_day=2),
        patch("fentanyl", 25),
        entry("paracetamol", 1000, doses_per_day=4),
    ]
    result = ome_breakdown(entries)
    assert result.total_mg_per_day == pytest.approx(120)
    assert [c.ome_mg_per_day for c in result.contributions] == pytest.approx([60, 60, 0])
    assert [c.is_opioid for c in result.contributions] == [True, True, False]
    assert result.complete


@pytest.mark.parametrize(
    "drug", ["paracetamol", "Ibuprofen", "naproxen", "gabapentin", "pregabalin", "amitriptyline"]
)
def test_it_recognises_non_opioids(drug):
    assert daily_ome_mg([entry(drug, 300, doses_per_day=3)]) == 0.0


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("OxyContin", "oxycodone"),
        ("Morphine Sulphate", "morphine"),
        ("zomorph", "morphine"),
        ("Butrans", "buprenorphine"),
        ("Durogesic", "fentanyl"),
        ("Palexia", "tapentadol"),
    ],
)
def test_it_maps_brand_names_and_synonyms_to_generic_names(name, generic):
    assert generic_name(name) == generic


def test_it_accepts_common_abbreviations_for_route_and_unit():
    assert daily_ome_mg([AnalgesicEntry("morphine", 5, "mg", "SC", 6)]) == pytest.approx(60)
    assert daily_ome_mg([AnalgesicEntry("fentanyl", 25, "mcg/h", "TD", None)]) == pytest.approx(60)


def test_it_reports_an_unknown_drug_instead_of_counting_zero():
    with pytest.raises(UnknownOpioidError, match="unobtainium") as caught:
        daily_ome_mg([entry("morphine", 10), entry("unobtainium", 10)])
    assert caught.value.drug == "unobtainium"


def test_it_does_not_guess_combination_products():
    with pytest.raises(UnknownOpioidError, match="co-codamol"):
        daily_ome_mg([entry("co-codamol", 30)])


def test_it_reports_an_unknown_route_for_a_known_drug():
    with pytest.raises(UnknownOpioidError, match="tapentadol by the transdermal route") as caught:
        daily_ome_mg([AnalgesicEntry("tapentadol", 50, "mg", "transdermal", 2)])
    assert caught.value.route == "transdermal"


def test_it_reports_a_listed_route_the_table_has_no_factor_for():
    with pytest.raises(UnknownOpioidError, match="morphine by the rectal route"):
        daily_ome_mg([AnalgesicEntry("morphine", 10, "mg", "rectal", 1)])


def test_it_reports_a_route_outside_the_vocabulary():
    with pytest.raises(UnknownOpioidError, match="route"):
        daily_ome_mg([AnalgesicEntry("morphine", 10, "mg", "inhaled", 1)])


def test_it_reports_opioids_without_a_reliable_ratio():
    with pytest.raises(NoReliableConversionError, match="methadone"):
        daily_ome_mg([entry("methadone", 10, doses_per_day=2)])
    with pytest.raises(UnknownOpioidError):
        daily_ome_mg([AnalgesicEntry("fentanyl", 200, "microgram", "buccal", 2)])


@pytest.mark.parametrize(
    "item",
    [
        AnalgesicEntry("morphine", -10, "mg", "oral", 2),
        AnalgesicEntry("morphine", math.nan, "mg", "oral", 2),
        AnalgesicEntry("morphine", 10, "g", "oral", 2),
        AnalgesicEntry("morphine", 10, "mg", "oral", None),
        AnalgesicEntry("morphine", 10, "microgram/h", "oral", 2),
        AnalgesicEntry("fentanyl", 25, "mg", "transdermal", None),
    ],
)
def test_it_rejects_malformed_entries(item):
    with pytest.raises(OpioidEntryError):
        daily_ome_mg([item])


def test_the_breakdown_lists_entries_it_could_not_convert():
    result = ome_breakdown(
        [entry("morphine", 60, doses_per_day=2), entry("methadone", 10, doses_per_day=2)]
    )
    assert result.total_mg_per_day == pytest.approx(120)
    assert not result.complete
    assert [item.entry.drug for item in result.not_convertible] == ["methadone"]
    assert result.summary() == "OME 120 mg/day (1 entry not convertible: methadone oral)"


def test_the_summary_of_a_complete_breakdown_has_no_caveat():
    assert ome_breakdown([patch("fentanyl", 50)]).summary() == "OME 120 mg/day"


convertible = st.one_of(
    st.builds(
        entry,
        st.sampled_from(
            ["morphine", "oxycodone", "codeine", "tramadol", "tapentadol", "paracetamol"]
        ),
        st.floats(min_value=0, max_value=500),
        doses_per_day=st.floats(min_value=0, max_value=12),
    ),
    st.builds(
        patch, st.sampled_from(["fentanyl", "buprenorphine"]), st.floats(min_value=0, max_value=200)
    ),
)


@given(st.lists(convertible, max_size=6), st.lists(convertible, max_size=6))
def test_ome_is_additive_over_entries_and_never_negative(first, second):
    together = daily_ome_mg(first + second)
    assert together >= 0
    assert together == pytest.approx(daily_ome_mg(first) + daily_ome_mg(second), rel=1e-9, abs=1e-9)
