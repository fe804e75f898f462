from decimal import Decimal

import pytest

from thermablate.clinical import opioids
from thermablate.clinical import patient_medicines as pm
from thermablate.clinical.datafiles import read_data_file

# The units and routes the registry's AnalgesicEntry accepts (registry/choices.py DoseUnit and
# Route use the same strings as the core).
REGISTRY_UNITS = set(opioids.UNITS)
REGISTRY_ROUTES = set(opioids.ROUTES)


def core_entries(entries):
    """The registry's conversion of stored entries to the core's (registry/scores.py)."""
    return [
        opioids.AnalgesicEntry(
            drug=entry["drug"],
            dose=float(entry["dose"]),
            unit=entry["unit"],
            route=entry["route"],
            doses_per_day=(
                float(entry["doses_per_day"]) if entry["doses_per_day"] is not None else None
            ),
        )
        for entry in entries
    ]


def ome(product_id, units, per_day, as_needed=False):
    entries = pm.entries_for(product_id, units, per_day, as_needed)
    return opioids.daily_ome_mg(core_entries(entries))


def one_dose(item):
    return pm.entries_for(item.id, item.step if item.step >= 1 else 1, None if item.is_patch else 1)


def test_the_table_is_versioned_and_every_row_cites_a_bnf_source():
    meta, rows = read_data_file(pm.DATA_FILE)
    assert meta["name"] == ["patient-medicines"]
    assert pm.table_version() == meta["version"][0] == "1.0.0"
    assert 25 <= len(pm.products()) <= 45
    sources = pm.sources()
    for item in pm.products():
        assert item.source in sources
        assert "bnf.nice.org.uk" in sources[item.source], item.id
    assert any("cks.nice.org.uk" in text for text in sources.values())


def test_ids_are_stable_slugs_and_other_is_reserved():
    ids = [item.id for item in pm.products()]
    assert len(set(ids)) == len(ids)
    assert pm.OTHER_ID not in ids
    for product_id in ids:
        assert product_id == product_id.lower()
        assert all(c.isalnum() or c == "-" for c in product_id), product_id


@pytest.mark.parametrize("item", pm.products(), ids=lambda item: item.id)
def test_every_product_converts_through_the_opioid_table(item):
    entries = one_dose(item)
    result = opioids.ome_breakdown(core_entries(entries))
    # No product may fall out of the OME as unknown: every drug is a generic name of
    # opioid_conversion.csv, by a route the table has, in a unit it converts.
    assert result.not_convertible == ()
    assert {c.drug for c in result.contributions} == {i.drug for i in item.ingredients}
    for entry in entries:
        assert entry["unit"] in REGISTRY_UNITS
        assert entry["route"] in REGISTRY_ROUTES
        assert isinstance(entry["dose"], Decimal)
        # The registry stores doses with two decimal places.
        assert entry["dose"].as_tuple().exponent >= -2


@pytest.mark.parametrize("item", pm.products(), ids=lambda item: item.id)
def test_every_allowed_quantity_gives_a_dose_the_registry_can_store(item):
    quantity = item.step
    while quantity <= item.max_units_per_dose:
        for entry in pm.entries_for(item.id, quantity, None if item.is_patch else 1):
            assert entry["dose"].as_tuple().exponent >= -2
            assert Decimal(0) < entry["dose"] < Decimal("1000000")
        quantity += item.step


def test_opioids_and_non_opioids_are_where_the_patient_expects_them():
    opioid_ids = {
        item.id
        for item in pm.products()
        if opioids.ome_breakdown(core_entries(one_dose(item))).total_mg_per_day > 0
    }
    assert "co-codamol-30-500-tablet" in opioid_ids
    assert "fentanyl-25-patch" in opioid_ids
    for adjuvant in ("gabapentin-300-capsule", "pregabalin-75-capsule", "amitriptyline-10-tablet"):
        assert adjuvant not in opioid_ids
    assert "paracetamol-500-tablet" not in opioid_ids


def test_co_codamol_30_500_two_tablets_four_times_a_day():
    entries = pm.entries_for("co-codamol-30-500-tablet", 2, 4)
    assert entries == [
        {
            "drug": "codeine",
            "dose": Decimal(60),
            "unit": "mg",
            "route": "oral",
            "doses_per_day": Decimal(4),
            "as_needed": False,
        },
        {
            "drug": "paracetamol",
            "dose": Decimal(1000),
            "unit": "mg",
            "route": "oral",
            "doses_per_day": Decimal(4),
            "as_needed": False,
        },
    ]
    # Codeine 240 mg/day x 0.1 (Opioids Aware: codeine 100 mg = oral morphine 10 mg) = 24 mg.
    assert ome("co-codamol-30-500-tablet", 2, 4) == pytest.approx(24)


def test_oramorph_is_given_in_ml():
    entries = pm.entries_for("morphine-10mg-5ml-liquid", 5, 6, as_needed=True)
    assert [(e["drug"], e["dose"], e["unit"], e["as_needed"]) for e in entries] == [
        ("morphine", Decimal(10), "mg", True)
    ]
    # 10 mg in 5 ml: 5 ml = 10 mg, six times a day = oral morphine 60 mg.
    assert ome("morphine-10mg-5ml-liquid", 5, 6, as_needed=True) == pytest.approx(60)
    assert pm.entries_for("morphine-10mg-5ml-liquid", 2.5, 1)[0]["dose"] == Decimal(5)


def test_a_fentanyl_patch_gives_its_release_rate_and_the_tables_factor():
    (entry,) = pm.entries_for("fentanyl-25-patch", 1, None)
    assert entry == {
        "drug": "fentanyl",
        "dose": Decimal(25),
        "unit": "microgram/h",
        "route": "transdermal",
        "doses_per_day": None,
        "as_needed": False,
    }
    # Opioids Aware: fentanyl 25 microgram/h = 60 mg oral morphine per 24 h (factor 2.4).
    assert ome("fentanyl-25-patch", 1, None) == pytest.approx(60)


def test_two_fentanyl_12_patches_count_as_two_12_patches():
    # The "12" patch releases 12.5 microgram/h: 30 mg oral morphine each (Opioids Aware).
    # Summed into one "24" entry it would miss the table's own row for the 12 patch.
    entries = pm.entries_for("fentanyl-12-patch", 2, None)
    assert [e["dose"] for e in entries] == [Decimal(12), Decimal(12)]
    assert ome("fentanyl-12-patch", 2, None) == pytest.approx(60)


@pytest.mark.parametrize(
    ("product_id", "units", "per_day", "expected"),
    [
        ("codeine-30-tablet", 2, 4, 24),  # codeine 240 mg x 0.1
        ("co-dydramol-10-500-tablet", 2, 4, 8),  # dihydrocodeine 80 mg x 0.1
        ("tramadol-50-capsule", 2, 4, 40),  # tramadol 400 mg x 0.1
        ("morphine-mr-30-tablet", 1, 2, 60),
        ("oxycodone-mr-10-tablet", 1, 2, 30),  # oxycodone 20 mg x 1.5
        ("oxycodone-5mg-5ml-liquid", 5, 4, 30),  # 1 mg/ml: 20 mg x 1.5
        ("buprenorphine-10-patch", 1, None, 24),  # Opioids Aware: 10 microgram/h = 24 mg
        ("paracetamol-500-tablet", 2, 4, 0),
    ],
)
def test_hand_checked_daily_oral_morphine_equivalents(product_id, units, per_day, expected):
    assert ome(product_id, units, per_day) == pytest.approx(expected)


def test_half_tablets_and_decimal_answers():
    (entry,) = pm.entries_for("amitriptyline-10-tablet", Decimal("0.5"), 1)
    assert entry["dose"] == Decimal(5)
    assert pm.entries_for("codeine-30-tablet", 1.5, Decimal(4))[0]["dose"] == Decimal(45)


def test_groups_keep_the_table_order():
    groups = pm.groups()
    assert [item for _, items in groups for item in items] == list(pm.products())
    names = [name for name, _ in groups]
    assert len(names) == len(set(names))
    assert names[0] == "Paracetamol"


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (("no-such-medicine", 1, 1), "product", "Choose a medicine from the list"),
        ((pm.OTHER_ID, 1, 1), "product", "under 'Other'"),
        ((None, 1, 1), "product", "Choose a medicine"),
        (("codeine-30-tablet", 0, 4), "units_per_dose", "more than 0"),
        (("codeine-30-tablet", -1, 4), "units_per_dose", "more than 0"),
        (("codeine-30-tablet", float("nan"), 4), "units_per_dose", "more than 0"),
        (("codeine-30-tablet", "2", 4), "units_per_dose", "more than 0"),
        (("codeine-30-tablet", True, 4), "units_per_dose", "more than 0"),
        (("codeine-30-tablet", 5, 4), "units_per_dose", "4 tablets is the most"),
        (("morphine-10mg-5ml-liquid", 31, 4), "units_per_dose", "30 ml is the most"),
        (("codeine-30-tablet", 1.25, 4), "units_per_dose", "in steps of 0.5"),
        (("tramadol-50-capsule", 1.5, 4), "units_per_dose", "whole number"),
        (
            ("morphine-mr-30-tablet", 0.5, 2),
            "units_per_dose",
            "slow-release medicines are not split",
        ),
        (("codeine-30-tablet", 2, 0), "doses_per_day", "from 1 to 24"),
        (("codeine-30-tablet", 2, 25), "doses_per_day", "from 1 to 24"),
        (("codeine-30-tablet", 2, 2.5), "doses_per_day", "whole number"),
        (("codeine-30-tablet", 2, None), "doses_per_day", "from 1 to 24"),
        (("fentanyl-25-patch", 1, 1), "doses_per_day", "A patch is worn all the time"),
        (("fentanyl-25-patch", 1.5, None), "units_per_dose", "patches you wear at once"),
        (("fentanyl-25-patch", 5, None), "units_per_dose", "4 patches is the most"),
    ],
)
def test_bad_answers_are_refused_in_plain_english(args, field, words):
    with pytest.raises(pm.MedicineChoiceError) as caught:
        pm.entries_for(*args)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_patch_is_not_taken_as_needed():
    with pytest.raises(pm.MedicineChoiceError, match="not only when needed") as caught:
        pm.entries_for("fentanyl-25-patch", 1, None, as_needed=True)
    assert caught.value.field == "as_needed"
