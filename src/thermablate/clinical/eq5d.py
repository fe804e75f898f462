"""EQ-5D-5L: the five raw answers (the profile) and its index value under a named value set.

The EQ-5D-5L descriptive system (EuroQol Group; Herdman M et al. Qual Life Res
2011;20(10):1727-36, doi:10.1007/s11136-011-9903-x) has five dimensions, each answered at
levels 1 (no problems) to 5 (extreme problems / unable). We store the profile and compute
the index on demand, so a better value set can be applied to old answers later.

Value sets (versioned data files in ``clinical/data/``, each with its source in the header):

- ``en-5l-to-3l-crosswalk-vanhout-2012``: 5L answers mapped onto the UK EQ-5D-3L TTO values
  (Dolan 1997) by the van Hout et al. 2012 crosswalk (Value Health 15(5):708-15,
  doi:10.1016/j.jval.2012.02.008). 11111 = 1.000, 55555 = -0.594.
- ``en-5l-devlin-2018``: the EQ-5D-5L value set for England, Devlin et al. 2018 (Health Econ
  27(1):7-22, doi:10.1002/hec.3564). 11111 = 1.000, 55555 = -0.285.
- ``uk-5l-to-3l-mapping-dsu-2022``: 5L answers mapped onto the UK 3L values by the NICE
  Decision Support Unit's copula model (Hernández Alava, Pudney & Wailoo, PharmacoEconomics
  2023;41(2):199-207, doi:10.1007/s40273-022-01218-7), which depends on the respondent's age
  band (18-34, 35-44, 45-54, 55-64, 65+) and sex: ``index(profile, value_set, age=, sex=)``.

NICE's position: its position statement on the EQ-5D-5L (updated October 2019) says not to
use the Devlin 2018 value set for reference-case analyses but to map 5L answers onto the UK
3L value set, with the van Hout et al. 2012 crosswalk; its health technology evaluations
manual (PMG36, 2022, 4.3.16), the later text, keeps the mapping onto the 3L values but names
the DSU's mapping function. The default is therefore the DSU mapping. In 2026 NICE consulted
on adopting a new UK EQ-5D-5L value set (Rowen et al. 2026; consultation 3296), not in force
when this was written. Every report names the value set used (``describe``), and indices are
computed from the stored answers, so a report can be recomputed under another value set.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from thermablate.clinical.datafiles import read_data_file

VERSION = "1.0.0"
SOURCE = "EQ-5D-5L descriptive system: Herdman et al. 2011, Qual Life Res 20(10):1727-36, doi:10.1007/s11136-011-9903-x"

DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression")
DIMENSION_CODES = ("MO", "SC", "UA", "PD", "AD")
LEVEL_MIN = 1
LEVEL_MAX = 5

Profile = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class ValueSet:
    """A named, versioned table of index values for all 3,125 EQ-5D-5L profiles."""

    name: str
    version: str
    title: str
    sources: tuple[str, ...]
    values: Mapping[str, float]


def parse_profile(profile: Sequence[int] | str) -> Profile:
    """Validate a profile given as five ints 1-5 or a string like "21325"; raise ValueError if invalid."""
    if isinstance(profile, str):
        text = profile.strip()
        if len(text) != len(DIMENSIONS) or not all(c in "12345" for c in text):
            raise ValueError(
                f"EQ-5D-5L profile must be five digits 1-5 (e.g. '21325'), got {profile!r}"
            )
        return tuple(int(c) for c in text)  # type: ignore[return-value]
    try:
        levels = tuple(profile)
    except TypeError:
        raise ValueError(
            f"EQ-5D-5L profile must be five levels 1-5 or a string like '21325', got {profile!r}"
        ) from None
    if len(levels) != len(DIMENSIONS):
        raise ValueError(
            f"EQ-5D-5L profile needs {len(DIMENSIONS)} levels ({', '.join(DIMENSIONS)}), got {len(levels)}"
        )
    for dimension, level in zip(DIMENSIONS, levels, strict=True):
        if (
            isinstance(level, bool)
            or not isinstance(level, int)
            or not LEVEL_MIN <= level <= LEVEL_MAX
        ):
            raise ValueError(
                f"EQ-5D-5L {dimension} must be a whole number from 1 to 5, got {level!r}"
            )
    return levels  # type: ignore[return-value]


AGE_BANDS = ((16, 34, "18-34"), (35, 44, "35-44"), (45, 54, "45-54"), (55, 64, "55-64"))
OLDEST_BAND = "65+"


def age_band(age: int) -> str:
    """The DSU mapping's age band of an age in whole years. The first band is labelled 18-34
    as published; the DSU's own Stata command (eq5dmap) also takes 16- and 17-year-olds."""
    if isinstance(age, bool) or not isinstance(age, int):
        raise ValueError(f"age must be a whole number of years, got {age!r}")
    if age < AGE_BANDS[0][0]:
        raise ValueError(
            f"the DSU EQ-5D-5L mapping covers ages 16 and over (adults), got age {age}"
        )
    for youngest, oldest, label in AGE_BANDS:
        if youngest <= age <= oldest:
            return label
    return OLDEST_BAND


def profile_code(profile: Sequence[int] | str) -> str:
    """The five-digit code of a valid profile, e.g. (2, 1, 3, 2, 5) -> "21325"."""
    return "".join(str(level) for level in parse_profile(profile))


def _value_set(meta: dict[str, list[str]], title: str, values: dict[str, float]) -> ValueSet:
    if len(values) != 5**5:
        raise RuntimeError(f"value set {meta['name'][0]} has {len(values)} profiles, expected 3125")
    return ValueSet(
        name=meta["name"][0],
        version=meta["version"][0],
        title=title,
        sources=tuple(meta["source"]),
        values=MappingProxyType(values),
    )


SEXES = ("female", "male")
OTHER_SEXES = ("other", "not_known")


def approximate_age(year_of_birth: int, on: date) -> int:
    """Age on a date from the year of birth alone (the registry keeps no date of birth): the
    difference of the years, at most one year more than the age in completed years, so a
    respondent may enter the next DSU age band up to a year early."""
    return on.year - year_of_birth


@dataclass(frozen=True)
class AgeSexValueSet:
    """A value set whose index also depends on the respondent's age band and sex."""

    name: str
    version: str
    title: str
    sources: tuple[str, ...]
    tables: Mapping[tuple[str, str], Mapping[str, float]]  # (age band, sex) -> profile -> index
    either_sex: Mapping[str, Mapping[str, float]]  # age band -> profile -> mean of the sexes

    def values_for(self, *, age: int, sex: str) -> Mapping[str, float]:
        """The profile -> index table of a respondent. ``sex``: "female" or "male"; the
        mapping was estimated for women and men only, so for anyone else ("other",
        "not_known") we take the mean of the two, which differ by a few thousandths of an
        index point (a choice of ours, not the DSU's)."""
        band = age_band(age)
        if sex in SEXES:
            return self.tables[band, sex]
        if sex in OTHER_SEXES:
            return self.either_sex[band]
        raise ValueError(
            f"sex must be one of {', '.join(SEXES + OTHER_SEXES)} for {self.name}, got {sex!r}"
        )


def _load_table(filename: str, title: str) -> ValueSet:
    """A data file listing the index of every profile."""
    meta, rows = read_data_file(filename)
    return _value_set(meta, title, {row["profile"]: float(row["index"]) for row in rows})


def _load_additive_model(filename: str, title: str) -> ValueSet:
    """A data file of per-dimension, per-level decrements: index = 1 - sum of decrements."""
    meta, rows = read_data_file(filename)
    decrement = {(row["dimension"], int(row["level"])): float(row["decrement"]) for row in rows}
    values = {}
    for levels in itertools.product(range(LEVEL_MIN, LEVEL_MAX + 1), repeat=len(DIMENSIONS)):
        total = sum(
            decrement[code, level] for code, level in zip(DIMENSION_CODES, levels, strict=True)
        )
        # Round to the 3 decimals the value set is published with, so 55555 is exactly -0.285.
        values["".join(map(str, levels))] = round(1.0 - total, 3)
    return _value_set(meta, title, values)


def _load_age_sex_table(filename: str, title: str) -> AgeSexValueSet:
    """A data file listing the index of every profile in every (age band, sex)."""
    meta, rows = read_data_file(filename)
    tables: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        tables.setdefault((row["age_band"], row["sex"]), {})[row["profile"]] = float(row["index"])
    expected = {(label, sex) for *_, label in AGE_BANDS for sex in SEXES}
    expected |= {(OLDEST_BAND, sex) for sex in SEXES}
    if set(tables) != expected or any(len(t) != 5**5 for t in tables.values()):
        raise RuntimeError(
            f"value set {meta['name'][0]} does not cover every age band, sex and profile"
        )
    either_sex = {
        band: MappingProxyType(
            {
                code: sum(tables[band, sex][code] for sex in SEXES) / len(SEXES)
                for code in tables[band, SEXES[0]]
            }
        )
        for band, _ in tables
    }
    return AgeSexValueSet(
        name=meta["name"][0],
        version=meta["version"][0],
        title=title,
        sources=tuple(meta["source"]),
        tables=MappingProxyType({key: MappingProxyType(t) for key, t in tables.items()}),
        either_sex=MappingProxyType(either_sex),
    )


CROSSWALK_VANHOUT_2012 = "en-5l-to-3l-crosswalk-vanhout-2012"
DEVLIN_2018 = "en-5l-devlin-2018"
DSU_MAPPING_2022 = "uk-5l-to-3l-mapping-dsu-2022"

VALUE_SETS: Mapping[str, ValueSet | AgeSexValueSet] = MappingProxyType(
    {
        CROSSWALK_VANHOUT_2012: _load_table(
            "eq5d5l_crosswalk_uk_vanhout2012.csv",
            "EQ-5D-5L mapped to the UK EQ-5D-3L value set (van Hout et al. 2012 crosswalk)",
        ),
        DEVLIN_2018: _load_additive_model(
            "eq5d5l_valueset_england_devlin2018.csv",
            "EQ-5D-5L value set for England (Devlin et al. 2018)",
        ),
        DSU_MAPPING_2022: _load_age_sex_table(
            "eq5d5l_mapping_uk3l_dsu2022.csv",
            "EQ-5D-5L mapped to the UK EQ-5D-3L value set by age and sex (NICE DSU mapping)",
        ),
    }
)

# Follows NICE: map 5L answers onto the UK 3L values, by the DSU mapping (module docstring).
DEFAULT_VALUE_SET = DSU_MAPPING_2022


def _get(value_set: str) -> ValueSet | AgeSexValueSet:
    try:
        return VALUE_SETS[value_set]
    except KeyError:
        raise ValueError(
            f"unknown EQ-5D value set {value_set!r}; choose one of: {', '.join(VALUE_SETS)}"
        ) from None


def index(
    profile: Sequence[int] | str,
    value_set: str = DEFAULT_VALUE_SET,
    *,
    age: int | None = None,
    sex: str | None = None,
) -> float:
    """The index value of a profile under the named value set (default: NICE's approach).

    ``age`` (whole years at the assessment) and ``sex`` are needed by the value sets that
    depend on them (the DSU mapping) and ignored by the others.
    """
    code = profile_code(profile)  # a bad profile is reported first, whatever the value set
    return values_for(value_set, age=age, sex=sex)[code]


def values_for(
    value_set: str = DEFAULT_VALUE_SET, *, age: int | None = None, sex: str | None = None
) -> Mapping[str, float]:
    """The profile -> index table that applies to a respondent (for scoring many at once)."""
    chosen = _get(value_set)
    if isinstance(chosen, AgeSexValueSet):
        if age is None or sex is None:
            raise ValueError(f"the {chosen.name} value set needs the respondent's age and sex")
        return chosen.values_for(age=age, sex=sex)
    return chosen.values


def describe(value_set: str = DEFAULT_VALUE_SET) -> str:
    """One line naming the value set and its source, to print in every report."""
    chosen = _get(value_set)
    return f"{chosen.title} [{chosen.name} v{chosen.version}]; source: {chosen.sources[0]}"
