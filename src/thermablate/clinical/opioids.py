"""Oral morphine equivalent (OME) daily dose from the raw analgesic entries.

NICE names "reduction in use of analgesics (especially opioids)" as a key efficacy outcome of
RF ablation of spinal metastases (IPG759 / HTG670, section 3.2). We keep each entry as written
(drug, dose, unit, route, doses per day) and convert with a versioned table,
``data/opioid_conversion.csv``, whose header cites its sources: the Faculty of Pain Medicine's
Opioids Aware for oral, sublingual and transdermal opioids, the Scottish Palliative Care
Guidelines for parenteral routes, and the BNF for the 3-4 day buprenorphine patches. Brand
names and synonyms are mapped to generic names by ``data/opioid_aliases.csv``.

Rules:

- OME mg/day = dose x factor x doses per day (dose converted to the table's unit, mg or microgram).
- Patches (unit "microgram/h") deliver continuously: OME mg/day = release rate x factor, and
  ``doses_per_day`` is ignored because changing the patch every 3 or 7 days does not change
  the rate (Opioids Aware: fentanyl 12 microgram/h = 30 mg, 25 microgram/h = 60 mg oral
  morphine per 24 h).
- Non-opioid analgesics in the table (paracetamol, NSAIDs, gabapentinoids, ...) contribute 0.
- A drug or route not in the table, or an opioid with no reliable fixed ratio (methadone,
  transmucosal fentanyl), is never counted as 0: ``daily_ome_mg`` raises, and
  ``ome_breakdown`` lists it as not convertible so a report can say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from thermablate.clinical.datafiles import read_data_file

UNITS = ("mg", "microgram", "microgram/h")
ROUTES = (
    "oral",
    "transdermal",
    "subcutaneous",
    "intravenous",
    "intramuscular",
    "sublingual",
    "buccal",
    "intranasal",
    "rectal",
)
# Abbreviations as written on UK drug charts, accepted for convenience.
ROUTE_ABBREVIATIONS = {
    "po": "oral",
    "td": "transdermal",
    "sc": "subcutaneous",
    "subcut": "subcutaneous",
    "iv": "intravenous",
    "im": "intramuscular",
    "sl": "sublingual",
    "pr": "rectal",
}
UNIT_SYNONYMS = {
    "mcg": "microgram",
    "micrograms": "microgram",
    "µg": "microgram",
    "mcg/h": "microgram/h",
    "micrograms/h": "microgram/h",
    "µg/h": "microgram/h",
    "mcg/hr": "microgram/h",
}

_MICROGRAMS_PER_MG = 1000.0
_ANY_ROUTE = "*"


@dataclass(frozen=True)
class AnalgesicEntry:
    """One analgesic as recorded: ``dose`` in ``unit`` taken ``doses_per_day`` times a day.

    For patches, ``unit`` is "microgram/h" and ``dose`` the labelled release rate;
    ``doses_per_day`` may be None.
    """

    drug: str
    dose: float
    unit: str
    route: str
    doses_per_day: float | None


class OpioidEntryError(ValueError):
    """An entry that cannot be read: bad dose, unit or frequency."""


class UnknownOpioidError(ValueError):
    """A drug, or a route for that drug, that the conversion table does not list."""

    def __init__(self, message: str, *, drug: str, route: str):
        super().__init__(message)
        self.drug = drug
        self.route = route


class NoReliableConversionError(UnknownOpioidError):
    """A recognised opioid (e.g. methadone) that has no reliable fixed ratio to morphine."""


@dataclass(frozen=True)
class _Conversion:
    drug: str
    route: str
    dose_unit: str
    factor: float | None
    category: str
    source: str
    note: str


def _load_conversions() -> tuple[str, tuple[str, ...], dict[tuple[str, str, str], _Conversion]]:
    meta, rows = read_data_file("opioid_conversion.csv")
    table = {}
    for row in rows:
        table[row["drug"], row["route"], row["strength"]] = _Conversion(
            drug=row["drug"],
            route=row["route"],
            dose_unit=row["dose_unit"],
            factor=float(row["factor"]) if row["factor"] else None,
            category=row["category"],
            source=row["source"],
            note=row["note"],
        )
    return meta["version"][0], tuple(meta["source"]), table


def _load_aliases() -> dict[str, str]:
    _, rows = read_data_file("opioid_aliases.csv")
    return {row["alias"]: row["drug"] for row in rows}


CONVERSION_TABLE_VERSION, CONVERSION_TABLE_SOURCES, _CONVERSIONS = _load_conversions()
_ALIASES = _load_aliases()
_KNOWN_DRUGS = frozenset(drug for drug, _, _ in _CONVERSIONS)
VERSION = CONVERSION_TABLE_VERSION


def generic_name(drug: str) -> str:
    """Lower-case generic name for a drug name, brand or synonym (unknown names pass through)."""
    name = " ".join(drug.lower().split())
    return _ALIASES.get(name, name)


def _normalise_route(route: str) -> str:
    name = route.strip().lower()
    return ROUTE_ABBREVIATIONS.get(name, name)


def _normalise_unit(unit: str) -> str:
    name = unit.strip().lower().replace(" ", "")
    return UNIT_SYNONYMS.get(name, name)


def _strength_key(dose: float) -> str:
    return f"{dose:g}"


def _conversion_for(drug: str, route: str, dose: float) -> _Conversion:
    if drug not in _KNOWN_DRUGS:
        raise UnknownOpioidError(
            f"unknown analgesic {drug!r}: not in conversion table v{CONVERSION_TABLE_VERSION}",
            drug=drug,
            route=route,
        )
    for key in ((drug, route, _strength_key(dose)), (drug, route, ""), (drug, _ANY_ROUTE, "")):
        if key in _CONVERSIONS:
            return _CONVERSIONS[key]
    raise UnknownOpioidError(
        f"no conversion for {drug} by the {route} route in conversion table v{CONVERSION_TABLE_VERSION}",
        drug=drug,
        route=route,
    )


def _dose_in(dose: float, unit: str, table_unit: str, drug: str) -> float:
    if unit == table_unit:
        return dose
    if unit == "microgram" and table_unit == "mg":
        return dose / _MICROGRAMS_PER_MG
    if unit == "mg" and table_unit == "microgram":
        return dose * _MICROGRAMS_PER_MG
    raise OpioidEntryError(
        f"{drug} {unit!r} cannot be converted: the table gives this form in {table_unit!r}"
    )


@dataclass(frozen=True)
class OmeContribution:
    """What one entry adds to the daily OME, and the table row used."""

    entry: AnalgesicEntry
    drug: str
    is_opioid: bool
    factor: float
    ome_mg_per_day: float


@dataclass(frozen=True)
class NotConvertible:
    """An entry left out of the total, with the reason to show the user."""

    entry: AnalgesicEntry
    reason: str
    error: ValueError


@dataclass(frozen=True)
class OmeResult:
    """Daily OME total, per-entry contributions and the entries that could not be converted."""

    total_mg_per_day: float
    contributions: tuple[OmeContribution, ...]
    not_convertible: tuple[NotConvertible, ...]
    table_version: str = CONVERSION_TABLE_VERSION

    @property
    def complete(self) -> bool:
        return not self.not_convertible

    def summary(self) -> str:
        """E.g. "OME 120 mg/day (1 entry not convertible: methadone oral)"."""
        text = f"OME {self.total_mg_per_day:g} mg/day"
        if self.not_convertible:
            count = len(self.not_convertible)
            names = "; ".join(
                f"{item.entry.drug} {item.entry.route}" for item in self.not_convertible
            )
            text += f" ({count} {'entry' if count == 1 else 'entries'} not convertible: {names})"
        return text


def _convert(entry: AnalgesicEntry) -> OmeContribution:
    drug = generic_name(entry.drug)
    route = _normalise_route(entry.route)
    unit = _normalise_unit(entry.unit)
    dose = entry.dose
    if (
        isinstance(dose, bool)
        or not isinstance(dose, int | float)
        or not math.isfinite(dose)
        or dose < 0
    ):
        raise OpioidEntryError(f"{entry.drug}: dose must be a number >= 0, got {dose!r}")
    if unit not in UNITS:
        raise OpioidEntryError(
            f"{entry.drug}: unit must be one of {', '.join(UNITS)}, got {entry.unit!r}"
        )
    if route not in ROUTES:
        raise UnknownOpioidError(
            f"{entry.drug}: unknown route {entry.route!r} (use one of {', '.join(ROUTES)})",
            drug=drug,
            route=route,
        )
    conversion = _conversion_for(drug, route, dose)
    if conversion.category == "non-opioid":
        return OmeContribution(
            entry=entry, drug=drug, is_opioid=False, factor=0.0, ome_mg_per_day=0.0
        )
    if conversion.factor is None:
        raise NoReliableConversionError(
            f"{drug} ({route}) has no reliable conversion to oral morphine: {conversion.note}",
            drug=drug,
            route=route,
        )
    if conversion.dose_unit == "microgram/h":
        if unit != "microgram/h":
            raise OpioidEntryError(
                f"{drug} {route}: give the patch strength in microgram/h, got {entry.unit!r}"
            )
        ome = dose * conversion.factor
    else:
        if unit == "microgram/h":
            raise OpioidEntryError(
                f"{drug} {route} is not a patch: give the dose in mg or microgram"
            )
        per_day = entry.doses_per_day
        if (
            per_day is None
            or isinstance(per_day, bool)
            or not isinstance(per_day, int | float)
            or not math.isfinite(per_day)
            or per_day < 0
        ):
            raise OpioidEntryError(
                f"{drug} {route}: doses per day must be a number >= 0, got {per_day!r}"
            )
        ome = _dose_in(dose, unit, conversion.dose_unit, drug) * conversion.factor * per_day
    return OmeContribution(
        entry=entry, drug=drug, is_opioid=True, factor=conversion.factor, ome_mg_per_day=ome
    )


def ome_breakdown(entries: Iterable[AnalgesicEntry]) -> OmeResult:
    """Convert every entry it can; list the rest as not convertible instead of failing."""
    contributions = []
    not_convertible = []
    for entry in entries:
        try:
            contributions.append(_convert(entry))
        except ValueError as error:
            not_convertible.append(NotConvertible(entry=entry, reason=str(error), error=error))
    total = math.fsum(item.ome_mg_per_day for item in contributions)
    return OmeResult(
        total_mg_per_day=total,
        contributions=tuple(contributions),
        not_convertible=tuple(not_convertible),
    )


def daily_ome_mg(entries: Iterable[AnalgesicEntry]) -> float:
    """Total oral morphine equivalent, mg/day.

    Raises UnknownOpioidError (or its subclass NoReliableConversionError) for a drug or route
    the table cannot convert, and OpioidEntryError for a malformed entry: an unconvertible
    entry is never silently counted as 0.
    """
    result = ome_breakdown(entries)
    if result.not_convertible:
        raise result.not_convertible[0].error
    return result.total_mg_per_day
