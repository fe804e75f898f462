"""The patient's medicine picker: common UK analgesic products, turned into analgesic entries.

A patient answering their own follow-up questionnaire knows the box, not the generic dose:
"two co-codamol 30/500 four times a day", "5 ml of Oramorph when I need it", "a 25 fentanyl
patch". This module holds those products (``data/patient_medicines.csv``: the strengths the
BNF lists for the analgesics NICE CKS names for mild-to-moderate and cancer pain, each row with
its BNF source) and turns a patient's answer into the raw entries staff would have typed,
one per active drug, so the oral morphine equivalent is computed by ``opioids`` exactly as for
staff entries:

- a combination product gives one entry per drug (co-codamol 30/500, 2 tablets: codeine 60 mg
  and paracetamol 1000 mg per dose);
- a liquid is taken in ml and multiplied by its strength per ml (Oramorph 10 mg in 5 ml:
  5 ml = morphine 10 mg);
- a patch gives its labelled release rate in microgram/h, route transdermal and no doses per
  day (``opioids``: the rate, not the change interval, sets the daily dose). Two patches worn
  together give two entries, because the fentanyl "12" patch has its own factor in the
  conversion table (it releases 12.5 microgram/h) that a summed rate of 24 would miss.

Every drug named in the table is a generic name of ``opioid_conversion.csv`` (opioids, or
non-opioids that count 0); ``tests/clinical/test_patient_medicines.py`` converts an entry of
every product to prove it. A medicine not in the list is written by the patient as "other"
free text (``OTHER_ID``) and resolved by staff into entries; it never reaches this module.

The entries are dicts with the fields of the registry's ``AnalgesicEntry`` model (drug, dose,
unit, route, doses_per_day, as_needed), with Decimal numbers as that model stores them. Unit
and route strings are those of ``opioids.UNITS`` and ``opioids.ROUTES`` (the registry's
``DoseUnit`` and ``Route`` choices use the same values).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from thermablate.clinical.datafiles import read_data_file
from thermablate.datafiles import keyed_sources

DATA_FILE = "patient_medicines.csv"
# Reserved id of the free-text "other" answer, which staff resolve; no product may use it.
OTHER_ID = "other"

FORMS = ("tablet", "capsule", "liquid", "patch")
RELEASES = ("immediate", "modified")
# What one unit of each form is called, singular and plural, for the page's question
# ("How many tablets do you take each time?").
UNIT_NAMES = {
    "tablet": ("tablet", "tablets"),
    "capsule": ("capsule", "capsules"),
    "liquid": ("ml", "ml"),
    "patch": ("patch", "patches"),
}
# The most a patient may report taking at once, per form. Our choice, a bound on typing
# errors rather than a clinical limit: 4 tablets or capsules is twice the largest usual
# single dose of any product in the table; 30 ml is 60 mg of Oramorph; 4 patches at once is
# already unusual. Anything larger is reported as "other" and checked by staff.
MAX_UNITS_PER_DOSE = {
    "tablet": Decimal(4),
    "capsule": Decimal(4),
    "liquid": Decimal(30),
    "patch": Decimal(4),
}
# Doses a day: at least one, at most hourly.
MIN_DOSES_PER_DAY = 1
MAX_DOSES_PER_DAY = 24

_INGREDIENT_UNITS = ("mg", "microgram", "microgram/h")
_PATCH_UNIT = "microgram/h"
_PATCH_ROUTE = "transdermal"


class MedicineChoiceError(ValueError):
    """A patient's medicine answer that cannot be turned into entries.

    ``field`` names the answer at fault ("product", "units_per_dose", "doses_per_day" or
    "as_needed") so a page can show the message beside it; the message is plain English.
    """

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class MedicineTableError(RuntimeError):
    """The shipped product table is malformed (a packaging fault, not a patient's mistake)."""


@dataclass(frozen=True)
class Ingredient:
    """One active drug in one unit of a product (a tablet, a capsule, one ml, one patch)."""

    drug: str  # generic name, as in opioid_conversion.csv
    amount: Decimal  # in ``unit`` per unit of the product
    unit: str  # "mg", "microgram", or "microgram/h" for a patch's release rate


@dataclass(frozen=True)
class Product:
    """A product as the patient picks it: "Co-codamol 30 mg/500 mg tablets"."""

    id: str
    group: str  # the heading the patient picks first, e.g. "Co-codamol (codeine with paracetamol)"
    label: str
    form: str  # one of FORMS
    release: str  # one of RELEASES
    route: str  # "oral" or "transdermal"
    ingredients: tuple[Ingredient, ...]
    step: Decimal  # smallest part of a unit the patient can take (0.5 = half a tablet)
    source: str  # a key of SOURCES

    @property
    def is_patch(self) -> bool:
        return self.form == "patch"

    @property
    def unit_name(self) -> str:
        """What one unit is called: "tablet", "ml", "patch"."""
        return UNIT_NAMES[self.form][0]

    @property
    def unit_name_plural(self) -> str:
        return UNIT_NAMES[self.form][1]

    @property
    def max_units_per_dose(self) -> Decimal:
        return MAX_UNITS_PER_DOSE[self.form]


@dataclass(frozen=True)
class _Table:
    version: str
    sources: dict[str, str]
    products: tuple[Product, ...]
    by_id: dict[str, Product]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MedicineTableError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise MedicineTableError(f"{what} must be a positive number, got {text!r}")
    return value


def _ingredients(text: str, product_id: str) -> tuple[Ingredient, ...]:
    ingredients = []
    for part in text.split(";"):
        # "codeine 30 mg", "buprenorphine 5 microgram/h": the drug is the words before the last two.
        words = part.split()
        if len(words) < 3:
            raise MedicineTableError(
                f"{product_id}: ingredient {part.strip()!r} must read 'drug amount unit'"
            )
        drug, amount, unit = " ".join(words[:-2]).lower(), words[-2], words[-1]
        if unit not in _INGREDIENT_UNITS:
            raise MedicineTableError(
                f"{product_id}: unit {unit!r} of {drug} must be one of {', '.join(_INGREDIENT_UNITS)}"
            )
        ingredients.append(
            Ingredient(drug, _decimal(amount, f"{product_id}: amount of {drug}"), unit)
        )
    return tuple(ingredients)


def _product(row: dict[str, str]) -> Product:
    product_id = (row.get("id") or "").strip()
    if not product_id or product_id == OTHER_ID:
        raise MedicineTableError(f"a product has no usable id: {row!r}")
    form = row["form"].strip()
    release = row["release"].strip()
    if form not in FORMS:
        raise MedicineTableError(f"{product_id}: form {form!r} is not one of {', '.join(FORMS)}")
    if release not in RELEASES:
        raise MedicineTableError(f"{product_id}: release {release!r} is not one of {RELEASES}")
    product = Product(
        id=product_id,
        group=row["group"].strip(),
        label=row["label"].strip(),
        form=form,
        release=release,
        route=row["route"].strip(),
        ingredients=_ingredients(row["ingredients"], product_id),
        step=_decimal(row["step"], f"{product_id}: step"),
        source=row["source"].strip(),
    )
    patch_units = {ingredient.unit == _PATCH_UNIT for ingredient in product.ingredients}
    if product.is_patch and (patch_units != {True} or product.route != _PATCH_ROUTE):
        raise MedicineTableError(
            f"{product_id}: a patch is transdermal and gives its release rate in microgram/h"
        )
    if not product.is_patch and True in patch_units:
        raise MedicineTableError(f"{product_id}: only a patch has a release rate in microgram/h")
    return product


@cache
def _table() -> _Table:
    meta, rows = read_data_file(DATA_FILE)
    sources = keyed_sources(meta)
    products = tuple(_product(row) for row in rows)
    by_id = {product.id: product for product in products}
    if len(by_id) != len(products):
        raise MedicineTableError(f"{DATA_FILE} lists a product id twice")
    for product in products:
        if product.source not in sources:
            raise MedicineTableError(
                f"{product.id}: source {product.source!r} has no '# source:' line in {DATA_FILE}"
            )
    return _Table(meta["version"][0], sources, products, by_id)


def table_version() -> str:
    """The version of ``patient_medicines.csv``, to record with the patient's answers."""
    return _table().version


def sources() -> dict[str, str]:
    """The table's sources, {key: reference}, as its header gives them."""
    return dict(_table().sources)


def products() -> tuple[Product, ...]:
    """Every product, in the order the picker shows them: simple painkillers, codeine-type
    combinations and weak opioids, strong opioids, patches, then medicines for nerve pain;
    products of one ``group`` are next to each other, weakest first."""
    return _table().products


def groups() -> tuple[tuple[str, tuple[Product, ...]], ...]:
    """The products grouped under their headings, in picker order: ((group, products), ...)."""
    grouped: dict[str, list[Product]] = {}
    for product in products():
        grouped.setdefault(product.group, []).append(product)
    return tuple((group, tuple(items)) for group, items in grouped.items())


def product(product_id: str) -> Product:
    """The product with this id; MedicineChoiceError (field "product") if there is none."""
    found = _table().by_id.get(product_id) if isinstance(product_id, str) else None
    if found is None:
        raise MedicineChoiceError(
            "Choose a medicine from the list, or describe it under 'Other'.", field="product"
        )
    return found


def _as_decimal(value: object) -> Decimal | None:
    """An int, float or Decimal as a finite Decimal; None for anything else (bool, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # Via str, so 0.5 stays 0.5 rather than its binary expansion.
        number = Decimal(repr(value))
    else:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> Decimal:
    """``number`` without trailing zeros or an exponent (750.000 -> 750, 5.0 -> 5, 37.5 -> 37.5),
    so a dose fits the registry's two decimal places and reads as a person would write it."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def _units_per_dose(item: Product, units_per_dose: object) -> Decimal:
    number = _as_decimal(units_per_dose)
    plural = item.unit_name_plural
    how_many = (
        f"how many {plural} you wear at once"
        if item.is_patch
        else f"how many {plural} you take each time"
    )
    largest = item.max_units_per_dose
    if number is None or number <= 0:
        raise MedicineChoiceError(
            f"Give {how_many}, as a number more than 0.", field="units_per_dose"
        )
    if number > largest:
        raise MedicineChoiceError(
            f"{largest:f} {plural} is the most you can enter here. If you take more at one time, "
            "describe it under 'Other'.",
            field="units_per_dose",
        )
    if number % item.step:
        if item.step == 1:
            rule = "as a whole number"
            if item.release == "modified" and not item.is_patch:
                rule += " (slow-release medicines are not split)"
        else:
            rule = f"in steps of {item.step:f}, for example {item.step * 3:f}"
        raise MedicineChoiceError(f"Give {how_many} {rule}.", field="units_per_dose")
    return _plain(number)


def _doses_per_day(item: Product, doses_per_day: object, as_needed: bool) -> Decimal | None:
    if item.is_patch:
        if doses_per_day is not None:
            raise MedicineChoiceError(
                "A patch is worn all the time: give how many patches you wear at once, "
                "not how many times a day.",
                field="doses_per_day",
            )
        if as_needed:
            raise MedicineChoiceError(
                "A patch is worn all the time, not only when needed.", field="as_needed"
            )
        return None
    number = _as_decimal(doses_per_day)
    if (
        number is None
        or number != number.to_integral_value()
        or not MIN_DOSES_PER_DAY <= number <= MAX_DOSES_PER_DAY
    ):
        when = "on a usual day" if as_needed else "each day"
        raise MedicineChoiceError(
            f"Give how many times you take it {when}, as a whole number from "
            f"{MIN_DOSES_PER_DAY} to {MAX_DOSES_PER_DAY}.",
            field="doses_per_day",
        )
    return Decimal(int(number))


def entries_for(
    product_id: str,
    units_per_dose: int | float | Decimal,
    doses_per_day: int | Decimal | None,
    as_needed: bool = False,
) -> list[dict[str, object]]:
    """The analgesic entries of a patient's answer, ready for the registry's AnalgesicEntry.

    ``units_per_dose``: tablets, capsules, ml or patches taken at one time (patches: worn at
    once). ``doses_per_day``: times a day, 1-24 (for an as-needed medicine, on a usual day);
    None for a patch. Returns one dict per drug (per patch, for patches) with keys ``drug``,
    ``dose`` (Decimal, in ``unit`` per dose), ``unit``, ``route``, ``doses_per_day`` (Decimal,
    or None for a patch) and ``as_needed``. Raises MedicineChoiceError with a plain-English
    message for an unknown product or an answer out of range.
    """
    if not isinstance(as_needed, bool):
        raise MedicineChoiceError("Say whether you take it only when needed.", field="as_needed")
    item = product(product_id)
    units = _units_per_dose(item, units_per_dose)
    per_day = _doses_per_day(item, doses_per_day, as_needed)
    if item.is_patch:
        return [
            _entry(ingredient, ingredient.amount, item.route, None, as_needed=False)
            for _ in range(int(units))
            for ingredient in item.ingredients
        ]
    return [
        _entry(
            ingredient, _plain(ingredient.amount * units), item.route, per_day, as_needed=as_needed
        )
        for ingredient in item.ingredients
    ]


def _entry(
    ingredient: Ingredient,
    dose: Decimal,
    route: str,
    doses_per_day: Decimal | None,
    *,
    as_needed: bool,
) -> dict[str, object]:
    return {
        "drug": ingredient.drug,
        "dose": dose,
        "unit": ingredient.unit,
        "route": route,
        "doses_per_day": doses_per_day,
        "as_needed": as_needed,
    }
